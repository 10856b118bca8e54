"""`klipsim compile`: G-code + printer.cfg -> the MCU command stream."""
import os
import sys

import click

from ..chelper.motion import MotionError
from ..chelper.msgproto import load_dictionary, profile_names
from ..gcode.errors import GCodeError, GCodeInternalError
from ..host.configfile import ConfigError
from ..host.mcu import MCUError
from ..host.pins import PinError
from .batch import compile_gcode

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
DEFAULT_CONFIG = os.path.join(EXAMPLES, "printer.cfg")
DEFAULT_MCU = "stm32f446"
PROGRESS_MIN_BYTES = 2 * 1024 * 1024   # about a few seconds of work


def _summary(result, out_name):
    lines = ["compiled: print time %.3f s, %d commands, %d bytes -> %s"
             % (result.print_time, result.messages, result.bytes_written, out_name)]
    for name, steps in result.steps.items():
        lines.append("  %-12s %10d steps" % (name, steps))
    counts = ", ".join("%s %d" % kv for kv in sorted(result.counts.items()))
    lines.append("  commands: " + counts)
    if result.errors or result.warnings:
        lines.append("  G-code errors: %d, warnings: %d" % (result.errors, result.warnings))
    return "\n".join(lines)


@click.command("compile")
@click.argument("gcode", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              default=DEFAULT_CONFIG, show_default="bundled examples/printer.cfg",
              help="Klipper printer.cfg")
@click.option("--dictionary", type=click.Path(exists=True, dir_okay=False),
              help="Klipper data dictionary of the MCU (e.g. stm32f446.dict)")
@click.option("--mcu", "mcu_name", type=click.Choice(profile_names()),
              help="MCU profile shipped with klipsim (default %s)" % DEFAULT_MCU)
@click.option("--format", "fmt", type=click.Choice(["text", "serial", "jsonl"]),
              default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-",
              help="output file (default: stdout)")
@click.option("--quiet", is_flag=True, help="no summary on stderr")
def compile_command(gcode, config_path, dictionary, mcu_name, fmt, output, quiet):
    """Compile GCODE for the printer in --config into the MCU command stream
    Klipper's host would send (like Klipper's batch mode)."""
    if dictionary and mcu_name:
        raise click.UsageError("give --dictionary or --mcu, not both")
    mcu_dict = load_dictionary(dictionary or mcu_name or DEFAULT_MCU)
    show_progress = (not quiet and sys.stderr.isatty()
                     and os.path.getsize(gcode) >= PROGRESS_MIN_BYTES)
    warn = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    binary = fmt == "serial"
    out = (sys.stdout.buffer if binary else sys.stdout) if output == "-" else \
        open(output, "wb" if binary else "w")
    try:
        result = compile_gcode(gcode, config_path, mcu_dict, out, fmt, warn,
                               show_progress)
    except (ConfigError, MCUError, PinError, GCodeError) as e:
        raise click.ClickException(str(e))
    except (GCodeInternalError, MotionError) as e:
        # A klipsim bug or a motion the MCU protocol cannot express: say
        # which, in one line, rather than a traceback.
        raise click.ClickException("internal error: %s" % (e,))
    finally:
        if output != "-":
            out.close()
    if not quiet:
        click.echo(_summary(result, output if output != "-" else "stdout"), err=True)
    if result.errors:
        sys.exit(1)
