"""The `klipsim` command: thin, it parses options and calls library
functions. Each subcommand lives in the module that owns its work."""
import click


@click.group()
@click.version_option(package_name="klipsim")
def main():
    """Deterministic simulator and offline step compiler for Klipper."""


if __name__ == "__main__":
    main()
