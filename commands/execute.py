"""`klipsim execute`: run a command stream on the simulated firmware.

Contract: thin click wrapper around klipsim.sim.execute.executor.execute_stream.
Prints a summary (per step pin: steps, net steps, first/last step clock;
the worst delivery margin; the end clock).  Exit status (README, "Exit
codes"): 0 when the MCU ran to the end, 1 for unusable input (one line
naming the file:line), 2 for a usage error, 3 when the MCU shut down (the
reason and clock are printed).
"""
import math
import sys

import click

from klipsim.chelper import msgproto
from klipsim.cli_files import EXIT_SHUTDOWN, Inputs, Outputs
from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.sim.execute import executor as execute

MAX_LEAD_S = 60.0       # far beyond any host's lead (Klipper's is ~0.1-2 s)


def load_stream_dictionary(dictionary_path, mcu_name):
    """(stream dictionary, our firmware profile or None for automatic).
    --mcu NAME reads the stream with the dictionary `klipsim compile
    --mcu NAME` writes with, and runs firmware profile NAME."""
    if dictionary_path and mcu_name:
        raise click.UsageError("give either --dictionary or --mcu, not both")
    if dictionary_path:
        try:
            return msgproto.Dictionary.load(dictionary_path), None
        except (OSError, ValueError) as e:
            raise click.ClickException(str(e) if str(e).startswith(dictionary_path)
                                       else "%s: %s" % (dictionary_path, e))
    if mcu_name:
        try:
            mcu_name = fwmcu.resolve_profile(mcu_name)
        except KeyError:
            raise click.UsageError("--mcu %s: unknown profile (have: %s)"
                                   % (mcu_name, ", ".join(fwmcu.profile_names())))
        if mcu_name in msgproto.profile_names():
            return msgproto.load_profile(mcu_name), mcu_name
        return fwmcu.dictionary(mcu_name), mcu_name
    raise click.UsageError("give --dictionary DICT (the stream's) or --mcu NAME")


def summary_lines(result):
    freq = result.clock_freq
    lines = ["profile %s, %d Hz: %d messages in %d blocks, %d responses"
             % (result.profile, freq, result.messages, result.blocks, result.responses)]
    for pin in sorted(result.steppers):
        s = result.steppers[pin]
        lines.append("  %-6s %10d steps  net %+d  first %d  last %d"
                     % (pin, s.steps, s.net, s.first_clock, s.last_clock))
    lines.append("total %d steps; end clock %d (%.3f s); %d timer events"
                 % (result.total_steps, result.end_clock, result.end_clock / freq,
                    result.timer_dispatches))
    if result.margins:
        lines.append("worst margin (due clock - delivery): " + ", ".join(
            "%s %.1f ms" % (name, result.margins[name] * 1000.0 / freq)
            for name in sorted(result.margins)))
    if result.late_groups:
        lines.append("%d message groups delivered after their planned clock" % result.late_groups)
    if result.zero_clock_fixes:
        lines.append("%d queue_digital_out with batch-mode clock=0 scheduled from the host's "
                     "current clock" % result.zero_clock_fixes)
    for oid, reason, clock in result.trsync_triggers:
        lines.append("trsync oid %d triggered (reason %d) at clock %d: its steppers stopped"
                     % (oid, reason, clock))
    if result.trsync_extensions:
        lines.append("trsync timeouts extended %d times" % result.trsync_extensions)
    return lines


@click.command("execute")
@click.argument("stream", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--dictionary", "dictionary_path",
              type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="the stream's data dictionary (e.g. Klipper's .dict)")
@click.option("--mcu", "mcu_name", help="the stream is for klipsim firmware profile NAME "
              "(as written by `klipsim compile --mcu NAME`)")
@click.option("--pulses", "pulses_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="write executed step pulses as CSV step_pin,clock,dir (- for stdout)")
@click.option("--lead-s", default=0.5, show_default=True, type=float,
              help="send each message this long before its clock")
@click.option("--quiet", is_flag=True, help="no summary")
def execute_command(stream, dictionary_path, mcu_name, pulses_path, lead_s, quiet):
    """Run STREAM (text, serial or jsonl; - for stdin) on klipsim's
    simulated MCU firmware."""
    if not (math.isfinite(lead_s) and 0 <= lead_s <= MAX_LEAD_S):
        raise click.UsageError("--lead-s must be between 0 and %g seconds (got %s)"
                               % (MAX_LEAD_S, lead_s))
    Outputs.check(pulses_path)
    quiet = quiet or pulses_path == "-"       # stdout carries the pulses
    with Inputs() as inputs, Outputs() as outputs:
        stream_dict, profile = load_stream_dictionary(inputs.path(dictionary_path)
                                                      if dictionary_path else None, mcu_name)
        try:
            writer = (execute.PulseCsvWriter(outputs.open(pulses_path, binary=True))
                      if pulses_path else None)
            result = execute.execute_stream(inputs.path(stream), stream_dict,
                                            profile=profile, lead_s=lead_s, on_pulses=writer)
        except execute.ExecuteError as e:
            raise click.ClickException(inputs.user_text(str(e)))
    if not quiet:
        for line in summary_lines(result):
            click.echo(line)
    if result.shutdown_reason is not None:
        click.echo("MCU shutdown: %s at clock %d" % (result.shutdown_reason,
                                                     result.shutdown_clock), err=True)
        sys.exit(EXIT_SHUTDOWN)
