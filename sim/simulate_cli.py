"""`klipsim simulate`: G-code + printer.cfg on a simulated host computer
(board, thread policy, load) -> would the print die with "Timer too
close", and by how much margin did it survive. Exit 0 ok, 3 shutdown."""
import os
import sys

import click

from ..chelper.msgproto import load_dictionary
from ..firmware.simulator import mcu as fwmcu
from ..gcode.errors import GCodeError, GCodeInternalError
from ..host.configfile import ConfigError
from ..host.mcu import MCUError
from ..host.pins import PinError
from .config_toml import ConfigError as TomlError
from .execute import ExecuteError, profile_for_dictionary
from .report import build_report, dumps
from .simulate import SimOptions, SimulateError, simulate

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
DEFAULT_CONFIG = os.path.join(EXAMPLES, "printer.cfg")
DEFAULT_MCU = "stm32f446"
EXIT_SHUTDOWN = 3


def _summary(report):
    lines = ["verdict: %s" % report["verdict"]]
    s = report["shutdown"]
    if s:
        starved = s["starved_thread"]
        lines.append("  MCU shutdown: %s at %.3f s (G-code %s; deadline class %s;"
                     " longest waiting thread: %s)"
                     % (s["reason"], s["time_s"], s["gcode_line"],
                        s.get("deadline_class") or "unknown",
                        "%s %.1f ms" % (starved["name"], starved["waiting_ms"])
                        if starved else "none"))
    margins = ", ".join("%s %s" % (k, "-" if v is None else "%.1f ms" % v)
                        for k, v in report["margins_ms"].items())
    lines.append("  min margin: %s (%s)" % (
        "-" if report["min_margin_ms"] is None else "%.1f ms" % report["min_margin_ms"], margins))
    lines.append("  print time %.3f s, simulated %.3f s, %d blocks, %d retransmits"
                 % (report["print_time_s"], report["sim_time_s"], report["link"]["blocks"],
                    report["link"]["retransmits"]))
    return "\n".join(lines)


def _profile(dictionary, mcu_name):
    if dictionary and mcu_name:
        raise click.UsageError("give --dictionary or --mcu, not both")
    if dictionary:
        return profile_for_dictionary(load_dictionary(dictionary))
    return mcu_name or DEFAULT_MCU


def _pulse_writer(f):
    """on_pulses callback writing `step_pin,clock,dir` lines, or None."""
    if f is None:
        return None
    f.write(b"step_pin,clock,dir\n")
    return lambda pulses, pin_names: f.write(fwmcu.format_pulses(pulses, pin_names))


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
@click.argument("gcode", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              default=DEFAULT_CONFIG, show_default="bundled examples/printer.cfg")
@click.option("--dictionary", type=click.Path(exists=True, dir_okay=False),
              help="Klipper data dictionary: picks the klipsim firmware for its MCU")
@click.option("--mcu", "mcu_name", type=click.Choice(fwmcu.profile_names()),
              help="klipsim firmware profile (default %s)" % DEFAULT_MCU)
@click.option("--board", default="rpi3", show_default=True,
              help="machine preset (rpi3, rpi4, rpi5, h616, x86-vm-2core) or TOML file")
@click.option("--policy", default="klipper-default", show_default=True,
              help="thread policy (klipper-default, theos) or TOML file")
@click.option("--load", "load_path", type=click.Path(exists=True, dir_okay=False),
              help="load scenario TOML (background processes, spikes)")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--transport", type=click.Choice(["uart", "usb", "pty"]), default="uart",
              show_default=True)
@click.option("--baud", default=250000, show_default=True, type=click.IntRange(min=1200))
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="write the JSON report here")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="PNG: margin over time with spikes, per-thread CPU (needs matplotlib)")
@click.option("--pulses", "pulses_path", type=click.Path(dir_okay=False),
              help="CSV of executed step pulses (step_pin,clock,dir)")
@click.option("--quiet", is_flag=True, help="no summary on stderr")
def simulate_command(gcode, config_path, dictionary, mcu_name, board, policy, load_path,
                     seed, transport, baud, report_path, plot_path, pulses_path, quiet):
    """Run GCODE through Klipper's host on a simulated computer and our
    firmware; say whether the MCU would shut down ("Timer too close") and
    with how much margin every scheduled command arrived."""
    progress = _Progress(not quiet and sys.stderr.isatty())
    pulses_file = open(pulses_path, "wb") if pulses_path else None
    try:
        options = SimOptions(profile=_profile(dictionary, mcu_name), board=board,
                             policy=policy, load=load_path, seed=seed,
                             transport=transport, baud=baud, progress=progress,
                             keep_pulses=False, on_pulses=_pulse_writer(pulses_file))
        result = simulate(gcode, config_path, options)
    except (ConfigError, MCUError, PinError, GCodeError, TomlError, SimulateError,
            ExecuteError) as e:
        raise click.ClickException(str(e))
    except GCodeInternalError as e:
        raise click.ClickException("internal error: %s" % (e,))
    finally:
        progress.end()
        if pulses_file is not None:
            pulses_file.close()
    report = build_report(result)
    text = dumps(report)
    if report_path:
        with open(report_path, "w") as f:
            f.write(text)
    elif quiet:
        click.echo(text, nl=False)
    if plot_path:
        from .plot import plot_result
        try:
            plot_result(result, report, plot_path)
        except ImportError:
            raise click.ClickException("--plot needs matplotlib (pip install matplotlib)")
    if not quiet:
        click.echo(_summary(report), err=True)
    sys.exit(EXIT_SHUTDOWN if report["verdict"] == "shutdown" else 0)
