"""Compile mode: run the host on a batch reactor and write every MCU
message to a stream, like Klipper's batch mode (klippy -i/-o/-d).

In batch mode nothing waits: the reactor's time stands still and the
MCU's estimated print time stays 0, so print time only advances through
the moves themselves (first move at 0.250 s). Messages are written in the
order the host sends them; their absolute clocks go to the JSON-lines
output.
"""
import os
import sys
from dataclasses import dataclass, field

from ..chelper.streamio import StreamWriter
from ..gcode.dispatch import Dispatcher
from ..gcode.reader import read_gcode
from ..host.configfile import load_config
from ..host.printer import Printer


class BatchReactor:
    """The reactor of an offline run: time does not pass."""

    def monotonic(self):
        return 0.


class BatchClock:
    """Estimated print time of an MCU nobody is talking to: always 0."""

    def estimated_print_time(self, eventtime):
        return 0.


@dataclass
class StreamLink:
    """Where the host's MCU messages go in compile mode."""
    writer: StreamWriter
    steps: dict = field(default_factory=dict)       # oid -> total steps
    messages: int = 0
    last_clock: int = 0

    def send(self, mcu, name, args, req_clock=0, min_clock=0):
        self.messages += 1
        if name == "queue_step":
            oid = args["oid"]
            self.steps[oid] = self.steps.get(oid, 0) + args["count"]
        if req_clock > self.last_clock:
            self.last_clock = req_clock
        self.writer.write(name, args, req_clock or None)


@dataclass
class CompileResult:
    print_time: float
    steps: dict                  # stepper name -> steps
    messages: int
    bytes_written: int
    counts: dict                 # command name -> count
    errors: int
    warnings: int
    clock_freq: float


def _progress_reader(path, show):
    """Stream commands; with `show`, a progress bar on stderr by bytes."""
    commands = read_gcode(path)
    if not show:
        return commands
    import click
    size = os.path.getsize(path)

    def with_bar():
        with click.progressbar(length=size, label="compiling", file=sys.stderr) as bar:
            done = 0
            for cmd in commands:
                position = getattr(cmd, "offset", None)
                if position is not None and position > done:
                    bar.update(position - done)
                    done = position
                yield cmd
            bar.update(size - done)
    return with_bar()


def compile_gcode(gcode_path, config_path, dictionary, out, fmt="text",
                  warn=None, progress=False):
    """Compile one G-code file for one printer; write the stream to `out`.

    Config errors raise ConfigError; G-code errors are reported through
    `warn` (one line each, file:line) and counted, and the run goes on."""
    config = load_config(config_path)
    writer = StreamWriter(out, fmt, dictionary)
    link = StreamLink(writer)
    sink = warn or (lambda text: None)
    dispatcher = Dispatcher(warning_sink=sink, error_sink=sink, info_sink=lambda t: None)
    printer = Printer(config, {"mcu": dictionary}, link, BatchClock(),
                      BatchReactor(), dispatcher)
    config.check_unused()
    printer.connect()
    dispatcher.run_commands(_progress_reader(gcode_path, progress))
    end_time = printer.finish()
    writer.close()
    names = {s.oid: s.name for s in printer.motion.steppers}
    steps = {names[oid]: n for oid, n in sorted(link.steps.items())}
    return CompileResult(end_time, steps, link.messages, writer.bytes_written,
                         dict(writer.counts), dispatcher.errors,
                         dispatcher.warnings, printer.hw.main_mcu.clock_freq)
