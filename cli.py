"""The `klipsim` command: thin, it parses options and calls library
functions. Each subcommand lives in its own module in commands/.

Start-up (issue 10): a subcommand's module is imported only when that
subcommand runs, so `klipsim compile` does not pay for numpy (diff),
the simulator (simulate, sweep) and the rest.  COMMANDS keeps each
command's short help here so `klipsim --help` lists them all without
importing any (tests/test_cli_lazy.py checks the two stay in step)."""
import atexit
import importlib
import os
import sys
import threading

import click

# name -> (module under klipsim, attribute, short help): the short help is
# the start of the command's docstring, which `--help` shortens to fit.
COMMANDS = {
    "compile": ("commands.compile", "compile_command",
                "Compile GCODE (- for stdin) for the printer in --config into "
                "the MCU command stream Klipper's host would send"),
    "diff": ("commands.diff", "diff_command",
             "Compare the step pulses of two MCU command streams (text, "
             "serial or jsonl; one of them may be - for stdin)."),
    "execute": ("commands.execute", "execute_command",
                "Run STREAM (text, serial or jsonl; - for stdin) on "
                "klipsim's simulated MCU firmware."),
    "golden": ("commands.golden", "golden_command",
               "Compare the bundled examples' compiled streams with "
               "golden/examples/."),
    "simulate": ("commands.simulate", "simulate_command",
                 "Run GCODE (- for stdin) through Klipper's host on a "
                 "simulated computer and our firmware"),
    "sweep": ("commands.sweep", "sweep_command",
              "Run every combination of SPEC.toml's prints, boards, policies, "
              "loads, spike lengths, spike phases and seeds through `simulate`"),
}


def short_help(name, limit):
    """COMMANDS' short help of `name` shortened to `limit` as click does."""
    return click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)


class LazyGroup(click.Group):
    """A group whose commands are imported when first looked up."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        if name not in self.commands:
            module, attr, _ = COMMANDS[name]
            loaded = importlib.import_module("klipsim." + module)
            self.add_command(getattr(loaded, attr), name)
        return self.commands[name]

    def format_commands(self, ctx, formatter):
        """The command list of `--help`, from COMMANDS (imports nothing)."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, short_help(name, limit)) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="klipsim")
def main():
    """Deterministic simulator and offline step compiler for Klipper."""


def run():
    """The `klipsim` program: main(), then, when nothing is left for the
    interpreter's teardown to do (no other thread, no exit handler, an
    exit code to return, no profiler or tracer that reports after the
    program, as `python -m cProfile` does), leave at once with the streams
    flushed: tearing down and collecting every module costs a big compile
    about 1 % of its instructions.  Otherwise the exit goes the ordinary
    way."""
    try:
        main()
    except SystemExit as done:
        code = 0 if done.code is None else done.code
        if (not isinstance(code, int) or threading.active_count() > 1
                or getattr(atexit, "_ncallbacks", lambda: 1)()
                or sys.getprofile() is not None or sys.gettrace() is not None):
            raise
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            raise done from None
        os._exit(code)


if __name__ == "__main__":
    run()
