"""The MCU node's C arrival (firmware/simulator/fw_node.c) seen from
Python: the part of McuNode (sim/mcus/firmware_node.py) that sets up the
C struct, mirrors into it the Python state the C event reads, and takes
back what it hands back.

Contract: `CArrival` is a mixin of McuNode; `_c_node()` (called once the
kernel, firmware, clock, wire_out and margins are set) makes the struct;
`deliver_block(at_ns, block)` sends a queue_steps-only block through the
C event when the kernel is the C one and the class delivers as McuNode;
`set_output_sink(function, context)` points the C output at a C sink;
`last_sched_clock`, `expected_seq` live in C; `first_late` and `shutdown`
mirror themselves; `_mirror_py_only`, `_mirror_grid`
are called by McuNode wherever it changes what they mirror; the wake plan
(`_wake_event`, `_set_wake`, `_planned_quiet`, `wakes`) lives in C, where
the wake event (fw_node_wake_event) runs McuNode._wake's usual path. The C event
comes back through `fw_node_py` (`_from_c`: the whole arrival, its rest,
the wake plan, a wake-up's sample or rest) and `fw_node_py_output` (the default
sink: on_output). `_sync_noted()` marks the Blocks the C event took as
arrived before the Python path reads them.
"""
import weakref

from ...chelper._chelper import ffi as chffi, lib as chlib
from ...firmware.simulator._fwsim import ffi, lib
from ...firmware.simulator.mcu import RUN_SAMPLE, STOP_OUTPUT, STOP_SAMPLE
from ..kernel.events import Event
from .world_inputs import NOTED
from ..link.messages import CLASSES, HEATER

RING_MASK = lib.FW_NODE_RING - 1
WATCHDOG = frozenset(("config_digital_out", "queue_digital_out"))   # _note_watchdog
NOTED_HERE = NOTED | WATCHDOG       # messages McuNode._note_block notes by name
_CLASS_INDEX = {k: i for i, k in enumerate(CLASSES)}     # (fw_margins' classes)
_NODES = weakref.WeakValueDictionary()  # the C node's key -> McuNode (fw_node_py)


class CArrival:
    """McuNode's C side (a mixin: needs McuNode's attributes and paths)."""
    _python_deliver = None       # McuNode.deliver (set by firmware_node.py)
    _ring_source = None          # the serial queue's Block sync (a native serial queue)

    def _c_node(self):
        """The C side of the node; block arrivals take it (deliver_block)
        when the kernel is the C one and this class delivers as McuNode."""
        c = ffi.gc(lib.fw_node_new(), lib.fw_node_free)
        c.fw = self.fw._mcu
        c.wire = self.wire_out.c_wire
        c.margins = self.margins.c
        c.stops = STOP_OUTPUT | STOP_SAMPLE      # (firmware_node.STOPS)
        key = id(self)
        _NODES[key] = self
        c.py = c.sink_ctx = ffi.cast("void *", key)
        c.sink = ffi.cast("void *", ffi.addressof(lib, "fw_node_py_output"))
        vs = getattr(self.kernel, "_vs", None)
        num = getattr(self.clock, "_num", None)
        self._fast = (vs is not None and num is not None
                      and type(self).deliver is CArrival._python_deliver)
        if self._fast:
            c.clk_offset, c.clk_num = self.clock.offset, num
            c.vs = _across(chffi, ffi, vs)
            c.last_seq = ffi.cast("int64_t *", _across(chffi, ffi, chffi.addressof(vs, "last_seq")))
            c.schedule = _across(chffi, ffi, chffi.addressof(chlib, "vs_schedule_c"))
        self._ring = [None] * lib.FW_NODE_RING    # the Blocks of the C arrivals
        self._noted_seen = 0
        self._info = memoryview(ffi.buffer(c.info)).cast("Q")
        self._out = memoryview(ffi.buffer(c.out))
        return c

    def set_output_sink(self, function, context):
        """Hand the C arrival's output chunks to a C sink instead of
        on_output: int32_t function(context, data, len) at the instant a
        chunk reached the host (fw_node.h; addresses as ints, e.g. the
        tty kworker's push, TtyWorker.sink). The Python paths still call
        on_output, which must do the same as the sink."""
        self._c.sink = ffi.cast("void *", function)
        self._c.sink_ctx = ffi.cast("void *", context)

    last_sched_clock = property(lambda self: self._c.last_sched_clock,
                                lambda self, v: setattr(self._c, "last_sched_clock", v))
    expected_seq = property(lambda self: self._c.expected_seq,
                            lambda self, v: setattr(self._c, "expected_seq", v))

    @property
    def first_late(self):
        return self._first_late

    @first_late.setter
    def first_late(self, value):
        self._first_late = value
        self._c.first_late = value is not None

    @property
    def shutdown(self):
        return self._shutdown

    @shutdown.setter
    def shutdown(self, value):
        self._shutdown = value
        self._mirror_py_only()

    def _mirror_py_only(self):
        """Arrivals go the Python way once shut down or stopped, and
        while faults damage the output."""
        self._c.py_only = (self._shutdown is not None or self._stopped
                           or self.faults.active)

    # the wake plan lives in C (the C wake event plans it too)
    wakes = property(lambda self: self._c.wakes,
                     lambda self, v: setattr(self._c, "wakes", v))

    @property
    def _planned_quiet(self):
        c = self._c
        return c.planned_quiet if c.has_planned else None

    @_planned_quiet.setter
    def _planned_quiet(self, quiet):
        c = self._c
        c.has_planned = quiet is not None
        if quiet is not None:
            c.planned_quiet = quiet

    @property
    def _wake_event(self):
        """The pending wake event, or None (a C event when _fast)."""
        if not self._fast:
            return self._py_wake
        c = self._c
        return Event(self.kernel, c.wake_slot, c.wake_seq, c.wake_at) if c.wake_set else None

    def _set_wake(self, at):
        """The wake event at host ns `at` (None: none); the previous one
        was cancelled or has run."""
        c = self._c
        if not self._fast:
            self._py_wake = None if at is None else self.kernel.schedule(at, self._wake)
            c.wake_set = self._py_wake is not None
        elif at is None:
            c.wake_set = 0
        else:
            lib.fw_node_schedule_wake(c, at)

    def _mirror_grid(self):
        """The poll grid (start()), for the plants' update points and the
        C wake event's plan (McuClock's ticks per 1e18 ns, as PollGrid)."""
        c, clock = self._c, self.clock
        c.grid.offset = clock.offset
        c.grid.num = clock.freq * (10 ** 9 + clock.drift_ppb)
        c.grid.grid0, c.grid.poll = self._grid0, self.poll_ns
        c.grid.period = 0 if self.thermals is None else self.thermals.period
        c.grid_known, c.grid_set = 1, self._fast

    @property
    def _valid_until(self):
        """The last fw.set_adc_valid_until (None: none yet)."""
        c = self._c
        return c.valid_until if c.has_valid_until else None

    def _from_c(self, kind, serial, value):
        """The C arrival or wake event handing back (fw_node.h FW_PY_*)."""
        if kind >= lib.FW_PY_WAKE_ALL:
            if kind == lib.FW_PY_SAMPLE:
                self._on_stop(RUN_SAMPLE)
            elif kind == lib.FW_PY_WAKE_REST:
                self._wake_rest(value, serial)
            else:
                self._wake()
            return
        if kind <= lib.FW_PY_REST and self._ring_source is not None:
            self._ring_source()       # (the serial queue builds the Blocks it sent from C)
        block = self._ring[serial & RING_MASK]
        if kind == lib.FW_PY_ARRIVE:
            self._arrive(block.frame, [block])
        elif kind == lib.FW_PY_REST:
            state, out, lost, quiet, now = self.fw.arrive_result(value, self._info, self._out)
            self._arrive_rest(block.frame, [block], state, out, lost, quiet, now,
                              self._c.planted)
        else:
            self._plan_wake(self._info[lib.FW_ARRIVE_QUIET])

    def _sync_noted(self):
        """Blocks the C arrival took: arrived (for a later copy's _accept)."""
        c = self._c
        n, seen = c.noted_n, self._noted_seen
        if n == seen:
            return
        oldest = c.serial - lib.FW_NODE_RING      # (older ring entries were reused)
        noted, ring = ffi.unpack(c.noted, lib.FW_NODE_RING), self._ring
        for k in range(max(seen, n - lib.FW_NODE_RING), n):
            serial = noted[k & RING_MASK]
            if serial >= oldest:
                block = ring[serial & RING_MASK]
                if block is not None:             # (None: a Block never built)
                    block.arrived = True
        self._noted_seen = n

    def c_arrival(self):
        """For the serial queue's native program (serialq_prog.h): this
        node's struct and fw_node_deliver, fw_node_can_take, as chelper
        void pointers."""
        return (_across(ffi, chffi, self._c),
                _across(ffi, chffi, ffi.addressof(lib, "fw_node_deliver")),
                _across(ffi, chffi, ffi.addressof(lib, "fw_node_can_take")))

    def _adopt(self, serial, block):
        """A Block the serial queue built late for a block its native
        program delivered as serial (fw_node_deliver): in the ring, arrived
        as the C arrival noted it."""
        if serial >= 0:
            self._ring[serial & RING_MASK] = block
            block.arrived = bool(self._c.ring[serial & RING_MASK].arrived)

    def deliver_block(self, at_ns, block):
        """deliver(at_ns, block.frame, [block]): a block of queue_steps
        and of messages _note_block records by their clock alone (not
        noted by name: a queue_digital_out, get_clock, not a config or a
        sensor command) arrives as a C event (fw_node.c), which hands back
        to _arrive/_arrive_rest/_plan_wake where Python must go on."""
        if self._fast:
            motion, generic = block.motion, block.generic
            frame = block.frame
            if not generic:
                if motion is None:
                    return self.deliver(at_ns, frame, [block])
                count, low, high = motion
                serial = lib.fw_node_deliver(self._c, at_ns, frame, len(frame), block.seq,
                                             count, low, high)
            else:
                gen = _scheduled(generic)
                if gen is None:
                    return self.deliver(at_ns, frame, [block])
                count, low, high = motion or (0, 0, 0)
                serial = lib.fw_node_deliver_gen(self._c, at_ns, frame, len(frame), block.seq,
                                                 motion is not None, count, low, high,
                                                 gen, len(gen))
            if serial >= 0:
                self._ring[serial & RING_MASK] = block
                return
        self.deliver(at_ns, block.frame, [block])


def _scheduled(messages):
    """The struct fw_gen[] summary of a block's messages besides its
    queue_steps as McuNode._note_block records them (messages without a
    clock and not noted by name record nothing), or None when one needs
    _note_block itself (noted by name: a sensor's, an endstop's, a digital
    out's configuration; too many)."""
    out = []
    for msg in messages:
        name = msg.name
        if msg.sched is None:
            if name in NOTED_HERE:
                return None
            continue
        if (name in NOTED_HERE and name != "queue_digital_out") or name == "queue_step":
            return None
        klass = msg.klass
        out.append((msg.sched, _CLASS_INDEX[klass],
                    msg.args["oid"] if name == "queue_digital_out" else -1,
                    name != "trsync_set_timeout" and klass != HEATER))
    if len(out) > lib.FW_GEN_MAX:
        return None
    return ffi.new("struct fw_gen[]", out)


def _across(src, dst, cdata):
    """A pointer of one cffi module (src: chelper's or the firmware's) as
    a void * of the other (dst): the two modules' types do not mix."""
    return dst.cast("void *", int(src.cast("uintptr_t", cdata)))


@ffi.def_extern()
def fw_node_py(py, kind, serial, value):
    """fw_node.c hands an arrival back (McuNode._from_c); an exception
    ends the kernel's run (its _error, raised by Kernel.raise_error)."""
    node = _NODES[int(ffi.cast("intptr_t", py))]
    try:
        node._from_c(kind, serial, value)
    except BaseException as error:       # (raised again by the kernel)
        node.kernel._error = error
        return 1
    return 0


@ffi.def_extern()
def fw_node_py_output(ctx, data, length):
    """The default output sink: the node's on_output(bytes)."""
    node = _NODES[int(ffi.cast("intptr_t", ctx))]
    try:
        node.on_output(ffi.unpack(ffi.cast("char *", data), length))
    except BaseException as error:
        node.kernel._error = error
        return 1
    return 0
