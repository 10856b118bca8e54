"""`klipsim simulate`: G-code + printer.cfg on a simulated host computer
(board, thread policy, load) -> would the print die with "Timer too
close", and by how much margin did it survive. Exit 0 ok, 3 shutdown.

Several MCUs: `--mcu NAME=PROFILE` / `--dictionary NAME=FILE` (repeatable)
pick the firmware of each [mcu NAME] section; a bare `--mcu PROFILE` or
`--dictionary FILE` is the main [mcu]; `--clock-drift NAME=PPM` and
`--clock-offset NAME=TICKS` set an MCU's clock (NAME `mcu`: the main
one). An MCU named by neither option gets a bundled profile picked from
the config (klipsim.sim.mcus.profile_pick): an [mcu] or [mcu NAME] with `serial:
/tmp/klipper_host_mcu` is Klipper's Linux-process MCU (profile `linux`),
any other the profile whose pin names fit the pins it uses."""
import importlib.util
import os
import sys

import click

from .. import __version__
from ..chelper.motion import MotionError
from ..chelper.msgproto import load_dictionary
from ..cli_files import EXIT_INPUT, EXIT_SHUTDOWN, Inputs, Outputs
from ..cli_messages import Messages
from .compile import bad_input
from ..firmware.simulator import mcu as fwmcu
from ..gcode.errors import GCodeError, GCodeInternalError
from ..host.configfile import ConfigError, load_config
from ..host.mcu import MCUError
from ..host.pins import PinError
from ..sim.hostcpu.config_toml import ConfigError as TomlError
from ..sim.simulate.report import build_report, dumps
from ..sim.simulate.mcu_link import McuSettings
from ..sim.mcus.profile_pick import PickError, describe, pick_profiles
from ..sim.hostcpu.load import LOAD_DIR
from ..sim.hostcpu.machine import preset_names as machine_names
from ..sim.hostcpu.policy import builtin_names as policy_names
from ..sim.simulate.simulation import SimOptions, SimulateError, simulate

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
DEFAULT_CONFIG = os.path.join(EXAMPLES, "printer.cfg")
DEFAULT_MCU = "stm32f446"


def _summary(report):
    lines = ["verdict: %s" % report["verdict"]]
    s = report["shutdown"]
    if s:
        starved = s["starved_thread"]
        lines.append("  MCU%s shutdown: %s at %.3f s (G-code %s; deadline class %s;"
                     " longest waiting thread: %s)"
                     % ("" if s["mcu"] == "mcu" else " '%s'" % s["mcu"],
                        s["reason"], s["time_s"], s["gcode_line"],
                        s.get("deadline_class") or "unknown",
                        "%s %.1f ms" % (starved["name"], starved["waiting_ms"])
                        if starved else "none"))
    margins = ", ".join("%s %s" % (k, "-" if v is None else "%.1f ms" % v)
                        for k, v in report["margins_ms"].items())
    lines.append("  min margin: %s (%s)" % (
        "-" if report["min_margin_ms"] is None else "%.1f ms" % report["min_margin_ms"], margins))
    lines.append("  print time %.3f s, simulated %.3f s, %d blocks, "
                 "retransmits: %d on RTO, %d on nak"
                 % (report["print_time_s"], report["sim_time_s"], report["link"]["blocks"],
                    report["link"]["retransmits"], report["link"]["nak_retransmits"]))
    for name, m in report.get("mcus", {}).items():
        present = [v for v in m["margins_ms"].values() if v is not None]
        line = "  MCU %s (%s): min margin %s, %d blocks, retransmits: %d on RTO, %d on nak" % (
            name, m["profile"], "%.1f ms" % min(present) if present else "-",
            m["link"]["blocks"], m["link"]["retransmits"], m["link"]["nak_retransmits"])
        if "linux_process" in m:
            line += ", timers late up to %.3f ms" % m["linux_process"]["timer_late_max_ms"]
        lines.append(line)
    return "\n".join(lines)


def _named(option, spec):
    """`NAME=VALUE` -> (NAME, VALUE); a bare VALUE is the main MCU's."""
    name, sep, value = spec.partition("=")
    if not sep:
        return "mcu", spec
    if not name.strip() or not value.strip():
        raise click.UsageError("%s %s: expected NAME=VALUE" % (option, spec))
    return name.strip(), value.strip()


def _profiles(dictionaries, mcu_specs):
    """{MCU name: firmware profile} from --mcu and --dictionary."""
    profiles = {}
    for spec in mcu_specs:
        name, profile = _named("--mcu", spec)
        try:
            profile = fwmcu.resolve_profile(profile)
        except KeyError:
            raise click.UsageError("--mcu %s: unknown firmware profile '%s' (built: %s)"
                                   % (spec, profile, ", ".join(fwmcu.profile_names())))
        if name in profiles:
            raise click.UsageError("--mcu: MCU '%s' given twice" % name)
        profiles[name] = profile
    for spec in dictionaries:
        name, path = ("mcu", spec) if os.path.exists(spec) else _named("--dictionary", spec)
        if name in profiles:
            raise click.UsageError("give --dictionary or --mcu for MCU '%s', not both" % name)
        if not os.path.exists(path):
            raise click.UsageError("--dictionary %s: no such file" % spec)
        profiles[name] = _dictionary_profile(path)
    return profiles


class _NoProfile(Exception):
    """No klipsim firmware for a --dictionary's MCU (execute's message)."""


def _dictionary_profile(path):
    """Our firmware profile for the MCU of a --dictionary file: execute
    mode's lookup, imported here so that a plain run does not load
    execute mode (start-up)."""
    from ..sim.execute.executor import ExecuteError, profile_for_dictionary
    try:
        return profile_for_dictionary(load_dictionary(path))
    except ExecuteError as e:
        raise _NoProfile(str(e)) from None


def _numbers(option, specs, convert):
    out = {}
    for spec in specs:
        name, value = _named(option, spec)
        try:
            out[name] = convert(value)
        except OverflowError:
            raise click.UsageError("%s %s: '%s' is not a finite number" % (option, spec, value))
        except ValueError as e:
            reason = str(e) if isinstance(e, _OutOfRange) else "is not a number"
            raise click.UsageError("%s %s: '%s' %s" % (option, spec, value, reason))
    return out


class _OutOfRange(ValueError):
    """A number outside an option's range (str: the range)."""


# --clock-drift: a crystal is off by tens of ppm; +-10% (100000 ppm) is
# beyond any MCU clock and keeps the simulated frequency positive.
MAX_DRIFT_PPM = 100000.
# --clock-offset: ticks the MCU had counted at host time 0, 0 .. 2^50 (an
# MCU up for 72 days at 180 MHz); beyond, the host's clock estimate, a
# double as in Klipper, no longer resolves single ticks.
MAX_CLOCK_OFFSET = 1 << 50


def _drift_ppb(text):
    ppm = float(text)
    if not -MAX_DRIFT_PPM <= ppm <= MAX_DRIFT_PPM:      # False for nan
        raise _OutOfRange("must be between %g and %g ppm" % (-MAX_DRIFT_PPM, MAX_DRIFT_PPM))
    return int(round(ppm * 1000))


def _clock_offset(text):
    ticks = int(text)
    if not 0 <= ticks <= MAX_CLOCK_OFFSET:
        raise _OutOfRange("must be between 0 and 2^50 ticks")
    return ticks


def _mcu_options(config_path, dictionaries, mcu_specs, drifts, offsets, echo):
    """SimOptions keywords for the MCUs: the main MCU's profile and clock,
    and McuSettings per other MCU; an MCU the options do not name gets a
    bundled profile picked from the config (sim/mcus/profile_pick.py; `echo` gets
    a line per pick)."""
    profiles = _profiles(dictionaries, mcu_specs)
    picks = pick_profiles(load_config(config_path), given=set(profiles))
    for line in describe(picks):
        echo(line)
    profiles.update({name: pick.profile for name, pick in picks.items()})
    drift = _numbers("--clock-drift", drifts, _drift_ppb)
    offset = _numbers("--clock-offset", offsets, _clock_offset)
    names = sorted((set(profiles) | set(drift) | set(offset)) - {"mcu"})
    return {"profile": profiles.get("mcu", DEFAULT_MCU),
            "drift_ppb": drift.get("mcu", 0), "clock_offset": offset.get("mcu", 0),
            "mcus": {n: McuSettings(profiles.get(n), offset.get(n, 0), drift.get(n, 0))
                     for n in names}}


def _pulse_writer(f):
    """on_pulses callback writing `step_pin,clock,dir` lines, or None."""
    if f is None:
        return None
    f.write(b"step_pin,clock,dir\n")
    return lambda pulses, pin_names: f.write(fwmcu.format_pulses(pulses, pin_names))


def _write_streams(result, path, outputs):
    """Each MCU's sent commands as text: the main MCU's to `path`, MCU
    NAME's to `path`-NAME (as compile names its outputs)."""
    per_mcu = result.mcus or {"mcu": {"profile": result.options.profile,
                                      "stream": result.stream}}
    for name, m in per_mcu.items():
        d = fwmcu.dictionary(m["profile"])
        f = outputs.open(path if name == "mcu" else "%s-%s" % (path, name))
        for msg_name, args in m["stream"]:
            f.write(d.format_text(msg_name, args) + "\n")


def _named_report(result):
    """The report with klipsim's version and the config section of every
    object the MCUs know by oid (`objects`, and the late command's)."""
    report = build_report(result)
    report["klipsim_version"] = __version__     # (not importlib.metadata: start-up)
    names = result.object_names
    report["objects"] = {mcu: {str(oid): section for oid, section in oids.items()}
                         for mcu, oids in names.items()}
    late = (report["shutdown"] or {}).get("late_command")
    if late and late.get("oid") is not None:
        late["object"] = names.get(report["shutdown"]["mcu"], {}).get(late["oid"])
    return report


class _Progress:
    """Simulated seconds on stderr, about once per wall second of work."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.last = -1.

    def __call__(self, sim_s):
        if self.enabled and sim_s - self.last >= 10.:
            self.last = sim_s
            click.echo("\rsimulated %.0f s" % sim_s, err=True, nl=False)

    def end(self):
        if self.enabled and self.last >= 0:
            click.echo("", err=True)


@click.command("simulate")
@click.argument("gcode", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--config", "config_path",
              type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              default=DEFAULT_CONFIG, show_default="bundled examples/printer.cfg")
@click.option("--dictionary", "dictionaries", multiple=True, metavar="[NAME=]FILE",
              help="Klipper data dictionary: picks the klipsim firmware for its MCU "
                   "(NAME=FILE for [mcu NAME]; repeatable)")
@click.option("--mcu", "mcu_specs", multiple=True, metavar="[NAME=]PROFILE",
              help="klipsim firmware profile (%s); NAME=PROFILE for [mcu NAME]; "
                   "repeatable; an MCU named by neither option gets the profile whose "
                   "pins fit the config" % ", ".join(fwmcu.profile_names()))
@click.option("--clock-drift", "drifts", multiple=True, metavar="NAME=PPM",
              help="an MCU clock's rate error in ppm (NAME mcu: the main MCU); repeatable")
@click.option("--clock-offset", "offsets", multiple=True, metavar="NAME=TICKS",
              help="an MCU clock's ticks at host time 0; repeatable")
@click.option("--board", default="rpi3", show_default=True,
              help="machine preset (%s) or TOML file" % ", ".join(machine_names()))
@click.option("--policy", default="klipper-default", show_default=True,
              help="thread policy (%s) or TOML file" % ", ".join(policy_names()))
@click.option("--load", "load_path",
              help="load scenario: a bundled one (%s) or a TOML file"
                   % ", ".join(sorted(p.stem for p in LOAD_DIR.glob("*.toml"))))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--transport", type=click.Choice(["uart", "usb", "pty"]), default="uart",
              show_default=True)
@click.option("--baud", default=250000, show_default=True, type=click.IntRange(min=1200))
@click.option("--report", "report_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="write the JSON report here")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="PNG: smallest margin per second per deadline class, spikes, run-queue waits and CPU per thread (needs matplotlib)")
@click.option("--pulses", "pulses_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="CSV of executed step pulses (step_pin,clock,dir; clock in that "
                   "MCU's ticks, other MCUs' pins as NAME:pin)")
@click.option("--stream", "stream_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="the commands the simulated host sent, as text (one per line, as "
                   "`klipsim compile` writes them; MCU NAME's to STREAM-NAME), for "
                   "`klipsim diff`")
@click.option("--quiet", is_flag=True, help="no summary on stderr (errors and the "
              "warning count still are); the report goes to stdout unless --report")
def simulate_command(gcode, config_path, dictionaries, mcu_specs, drifts, offsets, board,
                     policy, load_path, seed, transport, baud, report_path, plot_path,
                     pulses_path, stream_path, quiet):
    """Run GCODE (- for stdin) through Klipper's host on a simulated
    computer and our firmware; say whether the MCU would shut down ("Timer
    too close") and with how much margin every scheduled command arrived."""
    if plot_path and importlib.util.find_spec("matplotlib") is None:
        raise click.UsageError("--plot needs matplotlib (pip install 'klipsim[plot]')")
    stdout_users = [p for p in (report_path, pulses_path, stream_path, plot_path) if p == "-"]
    if len(stdout_users) > 1:
        raise click.UsageError("only one output can be - (stdout)")
    Outputs.check(report_path, plot_path, pulses_path, stream_path)
    messages = Messages(quiet)
    progress = _Progress(not quiet and sys.stderr.isatty())
    echo = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    with Inputs() as inputs, Outputs() as outputs:
        try:
            gcode = inputs.path(gcode)
            config_path = inputs.path(config_path, ".cfg")
            pulses_file = outputs.open(pulses_path, binary=True) if pulses_path else None
            options = SimOptions(**_mcu_options(config_path, dictionaries, mcu_specs,
                                                drifts, offsets, echo),
                                 board=board,
                                 policy=policy, load=load_path, seed=seed,
                                 transport=transport, baud=baud, progress=progress,
                                 keep_pulses=False, on_pulses=_pulse_writer(pulses_file),
                                 record_stream=stream_path is not None)
            result = simulate(gcode, config_path, options)
        except (ConfigError, MCUError, PinError, GCodeError, TomlError, SimulateError,
                _NoProfile, GCodeInternalError, MotionError, PickError) as e:
            raise bad_input(inputs, e)
        finally:
            progress.end()
        for line in result.gcode_error_lines:
            messages.error(inputs.user_text(line))
        for line in result.gcode_warning_lines:
            messages.warn(inputs.user_text(line))
        if stream_path:
            _write_streams(result, stream_path, outputs)
        report = _named_report(result)
        text = dumps(report)
        if report_path:
            outputs.open(report_path).write(text)
        elif quiet and not stdout_users:
            click.echo(text, nl=False)
        if plot_path:
            from ..sim.simulate.plot import plot_result
            plot_result(result, report, outputs.path(plot_path) if plot_path != "-"
                        else sys.stdout.buffer)
    messages.finish()
    if not quiet:
        click.echo(_summary(report), err=True)
    if report["verdict"] == "shutdown":
        sys.exit(EXIT_SHUTDOWN)
    if result.gcode_errors:
        sys.exit(EXIT_INPUT)
