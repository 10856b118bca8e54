"""The `klipsim` command: thin, it parses options and calls library
functions. Each subcommand lives in the module that owns its work."""
import click


@click.group()
@click.version_option(package_name="klipsim")
def main():
    """Deterministic simulator and offline step compiler for Klipper."""


from klipsim.golden.diff_cli import diff_command  # noqa: E402
main.add_command(diff_command)

from klipsim.sim.compile_cli import compile_command  # noqa: E402
main.add_command(compile_command)

from klipsim.sim.execute_cli import execute_command  # noqa: E402
main.add_command(execute_command)

from klipsim.golden.golden_cli import golden_command  # noqa: E402
main.add_command(golden_command)

from klipsim.sim.simulate_cli import simulate_command  # noqa: E402
main.add_command(simulate_command)

from klipsim.sim.sweep_cli import sweep_command  # noqa: E402
main.add_command(sweep_command)

if __name__ == "__main__":
    main()
