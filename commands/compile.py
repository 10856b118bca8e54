"""`klipsim compile`: G-code + printer.cfg -> the MCU command stream.

Several MCUs (as Klipper's batch mode, `klippy -o FILE -d NAME=DICT`):
`--mcu NAME=PROFILE` / `--dictionary NAME=FILE` (repeatable) name each
[mcu NAME]'s dictionary, and its stream goes to `OUTPUT-NAME`.  An MCU
named by neither gets a bundled profile picked from its pins
(klipsim.sim.mcus.profile_pick), and the summary says which and why."""
import os
import sys

import click

from ..chelper.motion import MotionError
from ..chelper.msgproto import load_dictionary, profile_names, resolve_profile
from ..cli_files import EXIT_INPUT, Inputs, Outputs
from ..cli_messages import Messages
from ..gcode.errors import GCodeError, GCodeInternalError
from ..host.configfile import ConfigError
from ..host.mcu import MCUError, mcu_sections
from ..host.pins import PinError
from ..sim.compile.batch import compile_gcode
from ..sim.mcus.profile_pick import PickError, describe, pick_profiles
from ..host.configfile import load_config

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
DEFAULT_CONFIG = os.path.join(EXAMPLES, "printer.cfg")
DEFAULT_MCU = "stm32f446"
PROGRESS_MIN_BYTES = 2 * 1024 * 1024   # about a few seconds of work


def _summary(result, out_name):
    lines = ["compiled: print time %.3f s, %d commands, %d bytes -> %s"
             % (result.print_time, result.messages, result.bytes_written, out_name)]
    for name, other in sorted(result.others.items()):
        lines.append("  MCU %s: %d bytes -> %s-%s" % (name, other["bytes"], out_name, name))
    for name, steps in result.steps.items():
        lines.append("  %-12s %10d steps" % (name, steps))
    counts = ", ".join("%s %d" % kv for kv in sorted(result.counts.items()))
    lines.append("  commands: " + counts)
    if result.errors or result.warnings:
        lines.append("  G-code errors: %d, warnings: %d" % (result.errors, result.warnings))
    return "\n".join(lines)


def bad_input(inputs, error):
    """The one-line ClickException for an error in an input (errors carry
    their own place: pins through ConfigSection.getpin).  klipsim's own failures
    (GCodeInternalError: a handler raised something it should not have)
    say so, as a bug to report."""
    text = inputs.user_text(str(error))
    if isinstance(error, GCodeInternalError):
        text += " (a klipsim bug: please report it with this input)"
    return click.ClickException(text)


def _is_profile(name):
    """A shipped profile name or one of its aliases (lpc176x ...)."""
    try:
        resolve_profile(name)
        return True
    except KeyError:
        return False


def _sources(dictionaries, mcu_specs):
    """{MCU name: profile name or dictionary path} from --dictionary /
    --mcu ([NAME=]VALUE)."""
    sources = {}
    for option, specs in (("--mcu", mcu_specs), ("--dictionary", dictionaries)):
        for spec in specs:
            name, sep, value = spec.partition("=")
            if not sep or (option == "--dictionary" and os.path.exists(spec)):
                name, value = "mcu", spec
            if option == "--mcu" and not _is_profile(value):
                raise click.UsageError("--mcu %s: unknown MCU profile '%s' (shipped: %s)"
                                       % (spec, value, ", ".join(profile_names())))
            if option == "--dictionary" and not os.path.exists(value):
                raise click.UsageError("--dictionary %s: no such file" % spec)
            if option == "--dictionary" and os.path.isdir(value):
                raise click.UsageError("--dictionary %s: is a directory" % spec)
            if name in sources:
                raise click.UsageError("MCU '%s' given twice (--dictionary or --mcu, not both)"
                                       % name)
            sources[name] = value
    return sources


def _dictionaries(config, sources, echo):
    """{MCU name: dictionary}: those the options name (`sources`), and a
    bundled profile picked for every other MCU section (sim/mcus/profile_pick.py;
    `echo` gets a line per pick saying which and why)."""
    sources = dict(sources)
    picks = pick_profiles(config, given=set(sources))
    for line in describe(picks):
        echo(line)
    sources.update({name: pick.profile for name, pick in picks.items()})
    sources.setdefault("mcu", DEFAULT_MCU)    # no [mcu]: the host says so
    try:
        return {name: load_dictionary(value) for name, value in sources.items()}
    except (OSError, ValueError) as e:
        raise click.ClickException(str(e))


def _check_mcu_sections(config, dictionaries):
    """Every [mcu NAME] has a dictionary and every NAME given has a section
    (one line naming the section otherwise)."""
    names = set()
    for name, section in mcu_sections(config):
        names.add(name)
        if name != "mcu" and name not in dictionaries:
            raise click.ClickException("%s: [%s]: no dictionary for MCU '%s' (give --mcu %s=PROFILE"
                                       " or --dictionary %s=FILE)" % (section.location(), section.name,
                                                                     name, name, name))
    for name in sorted(set(dictionaries) - names - {"mcu"}):
        raise click.UsageError("MCU '%s' given, but %s has no [mcu %s] section"
                               % (name, config.path, name))


@click.command("compile")
@click.argument("gcode", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--config", "config_path",
              type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              default=DEFAULT_CONFIG, show_default="bundled examples/printer.cfg",
              help="Klipper printer.cfg (- for stdin)")
@click.option("--dictionary", "dictionaries", multiple=True, metavar="[NAME=]FILE",
              help="Klipper data dictionary of the MCU (e.g. stm32f446.dict); "
                   "NAME=FILE for [mcu NAME]; repeatable")
@click.option("--mcu", "mcu_specs", multiple=True, metavar="[NAME=]PROFILE",
              help="MCU profile shipped with klipsim (%s); NAME=PROFILE for [mcu NAME]; "
                   "repeatable; an MCU named by neither option gets the profile whose pins "
                   "fit the config (the summary says which)" % ", ".join(profile_names()))
@click.option("--format", "fmt", type=click.Choice(["text", "serial", "jsonl"]),
              default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="output file (default: - for stdout)")
@click.option("--quiet", is_flag=True, help="no summary on stderr (errors and the "
              "warning count still are)")
def compile_command(gcode, config_path, dictionaries, mcu_specs, fmt, output, quiet):
    """Compile GCODE (- for stdin) for the printer in --config into the MCU
    command stream Klipper's host would send (like Klipper's batch mode)."""
    sources = _sources(dictionaries, mcu_specs)
    Outputs.check(output)
    messages = Messages(quiet)
    echo = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    with Inputs() as inputs, Outputs() as outputs:
        gcode = inputs.path(gcode)
        config_path = inputs.path(config_path, ".cfg")
        try:
            config = load_config(config_path)     # read once for both checks
            dicts = _dictionaries(config, sources, echo)
            mcu_dict = dicts.pop("mcu")
            _check_mcu_sections(config, dicts)
        except (ConfigError, PinError, MCUError, PickError) as e:
            raise bad_input(inputs, e)
        if dicts and output == "-":
            raise click.UsageError("several MCUs need -o FILE (MCU NAME's stream goes to"
                                   " FILE-NAME, as in Klipper's batch mode)")
        Outputs.check(*("%s-%s" % (output, name) for name in dicts))
        show_progress = (not quiet and sys.stderr.isatty()
                         and os.path.getsize(gcode) >= PROGRESS_MIN_BYTES)
        # Every format's encoder yields bytes (text and jsonl are ASCII,
        # newlines "\n"): writing them to a binary file as they are skips
        # a decode and an encode of the whole stream (issue 10).
        binary = True
        out = outputs.open(output, binary)
        others = {name: (d, outputs.open("%s-%s" % (output, name), binary))
                  for name, d in sorted(dicts.items())}
        try:
            result = compile_gcode(gcode, config_path, mcu_dict, out, fmt, messages.warn,
                                   show_progress, others, error=messages.error)
        except (ConfigError, MCUError, PinError, GCodeError, GCodeInternalError) as e:
            raise bad_input(inputs, e)
        except MotionError as e:
            # a motion the MCU protocol cannot express: one line
            raise click.ClickException(inputs.user_text(str(e)))
    messages.finish()
    if not quiet:
        click.echo(_summary(result, output if output != "-" else "stdout"), err=True)
    if result.errors:
        sys.exit(EXIT_INPUT)
