"""The G-code input of `klipsim simulate`, read as Klipper's host reads it.

Contract: `GcodeFeed(path, printer, dispatcher, link, reactor, fast=True)`
registers a reactor timer that runs the file's lines block by block
(one 4096-byte read each, sim/compile/batch.py input_blocks), pausing
the reactor between blocks so other timers run; the toolhead pauses it
too (_check_pause). With a [virtual_sdcard] the caller sets `aio` (the
executor thread, sim/simulate/aio.py) and every 8192 bytes wait for its
read. Plain G0/G1 lines run in C (host/g1fast.py) unless `fast` is False
or the printer's set-up refuses it; every other line is parsed and run
by the dispatcher.

Each command line (not blank or comment lines) is charged to the burst
it starts in (`link.meter.lines`) and noted in the per-line timeline
(`timeline_ns`: the virtual time it started, `timeline_lineno`: its line
number) before it runs, on either path, so the cost model and the
timeline do not depend on which path ran it. When the input is done,
`done` is set, `print_time` holds the print's end (printer.finish) and
`on_done()` is called if given.
"""
import bisect
import os

from ...host.g1fast import G1FastPath
from ..compile.batch import INPUT_CHUNK, input_blocks
from .aio import READ_BYTES

AIO_READ_BLOCKS = READ_BYTES // INPUT_CHUNK   # input blocks per virtual_sdcard read


class GcodeFeed:
    def __init__(self, path, printer, dispatcher, link, reactor, fast=True):
        self.path = path
        self.source = os.path.basename(str(path))
        self.printer = printer
        self.link = link
        self.reactor = reactor
        self.timeline_ns = []       # when each command line started
        self.timeline_lineno = []   # its line number in `source`
        self.done = False
        self.print_time = 0.
        self.aio = None             # AioExecutor: [virtual_sdcard] reads the file there
        self.on_done = None         # called when `done` is set
        self.runner = G1FastPath(dispatcher, printer.gcode_move, printer.toolhead,
                                 on_lines=self._started, enabled=fast)
        reactor.register_timer(self._run, reactor.NOW)

    def _started(self, linenos):
        """Command lines about to run (or just queued by C, which takes
        no virtual time): charge them to this burst, note when."""
        count = len(linenos)
        self.link.meter.lines += count
        self.timeline_ns.extend([self.reactor.kernel.now] * count)
        self.timeline_lineno.extend(linenos)

    def _run(self, eventtime):
        lineno, reactor = 0, self.reactor
        for i, (block, at_end) in enumerate(input_blocks(self.path)):
            if self.aio is not None and i % AIO_READ_BLOCKS == 0:
                self.aio.read(reactor)     # wait for the executor's read
            lineno = self.runner.run_block(block, lineno, self.source)
            if not at_end:
                reactor.pause(reactor.NOW)   # let other timers run
        self.print_time = self.printer.finish()
        self.done = True
        if self.on_done is not None:
            self.on_done()
        return reactor.NEVER

    @property
    def timeline_line(self):
        """The timeline's lines as "file:line" (the report's form)."""
        return ["%s:%d" % (self.source, n) for n in self.timeline_lineno]

    def line_at(self, t_ns):
        """The command line being run at t_ns ("file:line"), or None."""
        i = bisect.bisect_right(self.timeline_ns, t_ns) - 1
        return "%s:%d" % (self.source, self.timeline_lineno[i]) if i >= 0 else None
