"""Compile mode: run the host on a batch reactor and write every MCU
message to a stream, like Klipper's batch mode (klippy -i/-o/-d).

In batch mode nothing waits: the reactor's time stands still and the
MCU's estimated print time stays 0, so print time only advances through
the moves themselves (first move at 0.250 s). Messages are written in the
order the host sends them; their absolute clocks go to the JSON-lines
output. With several MCUs each gets its own stream (Klipper's batch mode
writes the main MCU's to `-o FILE` and MCU NAME's to `FILE-NAME`, its
dictionary given as `-d NAME=FILE`); batch mode's print time -> clock
mapping is the plain (0, CLOCK_FREQ) for every MCU.
"""
import os
import sys

from ...chelper.streamio import StreamWriter
from ...gcode.dispatch import Dispatcher
from ...host.configfile import load_config
from ...host.g1fast import G1FastPath
from ...gcode.reader import open_binary, read_chunk
from ...host.printer import Printer
from ...host.reactor import BatchReactor

# Klipper's batch input reads the G-code file 4096 bytes at a time and
# runs the complete lines of each read before its reactor runs timers
# (gcode.py GCodeIO); step flushing happens at those points, so the
# command stream depends on them.
INPUT_CHUNK = 4096


class BatchClock:
    """Estimated print time of an MCU nobody is talking to: always 0."""

    def estimated_print_time(self, eventtime):
        return 0.


class StreamLink:
    """Where the host's MCU messages go in compile mode: the main MCU's
    to `writer`, another MCU's to `others[name]` (its own writer and
    step counts).  (This module's classes are plain classes, not
    dataclasses: start-up, see host/pins.py.)"""

    def __init__(self, writer):
        self.writer = writer
        self.steps = {}             # oid -> total steps (main MCU)
        self.messages = 0           # sent one by one (batches: message_total)
        self.can_pause = False      # file output: no MCU clock to wait for, no answers
        self.others = {}            # MCU name -> OtherStream
        # StepperSync -> the steps dict of its MCU: batch totals are summed in C
        self.batch_syncs = {}

    def _target(self, mcu):
        if mcu.name == "mcu":
            return self.writer, self.steps
        other = self.others[mcu.name]
        return other.writer, other.steps

    def send(self, mcu, name, args, req_clock=0, min_clock=0):
        writer, steps = self._target(mcu)
        self.messages += 1
        if name == "queue_step":
            oid = args["oid"]
            steps[oid] = steps.get(oid, 0) + args["count"]
        writer.write(name, args, req_clock or None)

    def send_batch(self, mcu, batch):
        """A flush's step messages (chelper.steppersync.StepBatch), written
        by the writer in one call; their steps and count are the sync's
        totals, read at the end (step_totals, message_total)."""
        writer, steps = self._target(mcu)
        self.batch_syncs[batch.owner] = steps
        writer.write_batch(batch)

    def step_totals(self, steps):
        """oid -> steps of one MCU: `steps` (its steps dict, sent one by
        one) plus those of the batches sent for it."""
        out = dict(steps)
        for sync, target in self.batch_syncs.items():
            if target is steps:
                for oid, n in sync.step_totals():
                    out[oid] = out.get(oid, 0) + n
        return out

    def message_total(self):
        return self.messages + sum(sync.message_total() for sync in self.batch_syncs)


class OtherStream:
    """A secondary MCU's stream in compile mode."""

    def __init__(self, writer):
        self.writer = writer
        self.steps = {}             # oid -> total steps


class CompileResult:
    """What a compile run did (the summary's figures)."""

    def __init__(self, print_time, steps, messages, bytes_written, counts, errors,
                 warnings, clock_freq, others=None):
        self.print_time = print_time
        self.steps = steps                  # stepper name -> steps
        self.messages = messages
        self.bytes_written = bytes_written
        self.counts = counts                # command name -> count
        self.errors = errors
        self.warnings = warnings
        self.clock_freq = clock_freq
        self.others = {} if others is None else others  # MCU name -> {"bytes", "counts"}


def input_blocks(path):
    """The lines of a G-code file grouped as Klipper's batch input runs
    them: one block of bytes per 4096-byte read, holding the lines
    completed by it.  Yields (block, at_end); the last block (at_end True)
    holds a final line that had no newline, if any (Klipper drops it; we
    run it)."""
    with open_binary(path) as handle:
        partial = b""
        while True:
            data = read_chunk(handle, INPUT_CHUNK, path)
            buf = partial + data
            cut = buf.rfind(b"\n") + 1 if data else len(buf)
            partial = buf[cut:]
            yield buf[:cut], not data
            if not data:
                return


def _with_progress(chunks, path, show):
    """Pass chunks through; with `show`, a progress bar on stderr counting
    4096-byte reads of the (uncompressed) input."""
    if not show:
        yield from chunks
        return
    import click
    with click.progressbar(label="compiling", file=sys.stderr,
                           length=_uncompressed_size(path)) as bar:
        for item in chunks:
            bar.update(INPUT_CHUNK)
            yield item


def _uncompressed_size(path):
    if str(path).endswith(".gz"):
        with open(path, "rb") as f:   # gzip trailer: size mod 2^32
            f.seek(-4, os.SEEK_END)
            return int.from_bytes(f.read(4), "little")
    return os.path.getsize(path)


def compile_gcode(gcode_path, config_path, dictionary, out, fmt="text",
                  warn=None, progress=False, others=None, error=None):
    """Compile one G-code file for one printer; write the stream to `out`
    (the main MCU's) and, for each other MCU NAME, to others[NAME] =
    (dictionary, file).

    Config errors raise ConfigError; G-code errors are reported through
    `warn` (one line each, file:line) and counted, and the run goes on."""
    config = load_config(config_path)
    writer = StreamWriter(out, fmt, dictionary)
    link = StreamLink(writer)
    dictionaries = {"mcu": dictionary}
    for name, (other_dict, other_out) in sorted((others or {}).items()):
        link.others[name] = OtherStream(StreamWriter(other_out, fmt, other_dict))
        dictionaries[name] = other_dict
    sink = warn or (lambda text: None)
    dispatcher = Dispatcher(warning_sink=sink, error_sink=error or sink,
                            info_sink=lambda t: None)
    printer = Printer(config, dictionaries, link, BatchClock(),
                      BatchReactor(), dispatcher)
    config.check_unused()
    printer.connect()
    reactor = printer.reactor
    # Plain G0/G1 lines run in C (host/g1fast.py), the rest as parsed commands.
    fast = G1FastPath(dispatcher, printer.gcode_move, printer.toolhead)
    source, lineno = os.path.basename(str(gcode_path)), 0
    for block, at_end in _with_progress(input_blocks(gcode_path), gcode_path, progress):
        lineno = fast.run_block(block, lineno, source)
        if not at_end:
            # The reactor gets control between reads; at end of file
            # Klipper goes straight to its exit sequence.
            reactor.run_due_timers()
    end_time = printer.finish()
    writer.close()
    names = {(s.mcu.name, s.oid): s.name for s in printer.motion.steppers}
    steps = {names["mcu", oid]: n for oid, n in sorted(link.step_totals(link.steps).items())}
    others = {}
    for name, other in link.others.items():
        other.writer.close()
        steps.update((names[name, oid], n)
                     for oid, n in sorted(link.step_totals(other.steps).items()))
        others[name] = {"bytes": other.writer.bytes_written, "counts": dict(other.writer.counts)}
    return CompileResult(end_time, steps, link.message_total(), writer.bytes_written,
                         dict(writer.counts), dispatcher.errors,
                         dispatcher.warnings, printer.hw.main_mcu.clock_freq, others)
