"""The MCU node's C arrival (firmware/simulator/fw_node.c, McuNode.
deliver_block) and C wake-up (fw_node_wake_event) against the Python
paths they replace and fall back to (McuNode.deliver -> _arrive, and
McuNode._wake, kept as the reference). Two nodes, each on
its own kernel and firmware, get the same random blocks at the same
instants: queue_steps-only blocks (the C event's case: on time, late,
landing on a plant update), blocks with other messages, retransmitted
copies, with and without plants, on a UART and on USB. Everything they
record must agree: the margins (minima, counts, series, per-second
minima, where each minimum fell), the digital out's last update, the
output chunks and the instants
they reach the host, the wake-ups, the sequence and clock bookkeeping,
the kernel's event count and the firmware's pulses."""
import os
import pickle
import random
import sys
from types import SimpleNamespace

from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import FREQ, MS, configured  # noqa: E402
from _fw_helpers import PULSE, queue_step_times  # noqa: E402
from test_fw_arrive import ANALOG, CONFIG  # noqa: E402
from test_fw_quiet import qs  # noqa: E402

from klipsim.chelper import msgblock  # noqa: E402
from klipsim.sim.kernel.events import Kernel  # noqa: E402
from klipsim.sim.link.clocksync import McuClock  # noqa: E402
from klipsim.sim.link.messages import CLASSES, HEATER, PINS, Message  # noqa: E402
from klipsim.sim.link.queues import Block  # noqa: E402
from klipsim.sim.link.wire import Wire  # noqa: E402
from klipsim.sim.mcus.firmware_node import McuNode  # noqa: E402
from klipsim.sim.mcus.margins import Margins  # noqa: E402
from klipsim.sim.mcus.thermal import Thermals  # noqa: E402

NS_MS = 1_000_000
POLL_NS = 5 * NS_MS
BLOCK_NS = 100_000


class _Side:
    """One node with its kernel, firmware and what reached the host."""

    def __init__(self, fast, plants, transport):
        self.kernel = Kernel()
        self.fw = configured(CONFIG)
        self.fw.set_adc("PF4", 1000)
        self.clock = McuClock(FREQ, 12_345, 40)
        self.outputs = []
        self.node = McuNode(self.kernel, self.fw, self.clock, Wire(transport, 250_000),
                            self._output, POLL_NS)
        self.node._fast = fast and self.node._fast
        if plants:
            self.node.set_thermals(Thermals(self.fw, []))
        self.node.rx_stats = SimpleNamespace(mcu_rx_lost=0)
        # (CONFIG's digital out, as the node notes it when the host configures it)
        self.node._note_watchdog(SimpleNamespace(
            name="config_digital_out", args={"oid": 2, "max_duration": 80 * MS}))
        self.blocks = {}            # serial -> this side's Block

    def _output(self, data):
        self.outputs.append((self.kernel.now, data))

    def results(self):
        node, m = self.node, self.node.margins
        late = node.first_late
        return {"margins": (m.minimum, m.counts, m.series, m.per_second, m.minimum_at),
                "outputs": self.outputs, "wakes": node.wakes,
                "wake_at": None if node._wake_event is None else node._wake_event.time,
                "last_sched": node.last_sched_clock, "seq": node.expected_seq,
                "first_late": None if late is None else (late[0].name, late[1:]),
                "shutdown": node.shutdown, "events": self.kernel.events_run,
                "now": self.fw.now, "pulses": self.fw.take_pulses().tobytes(),
                "lost": node.rx_stats.mcu_rx_lost, "watchdog": node.last_update,
                "missed": node.missed_update_oid(),
                "plants": None if node.thermals is None else (
                    node.thermals.next_due, node.thermals.point, node.thermals.version,
                    node._valid_until)}


class _Moves:
    """Moves on two steppers kept up to 100 ms ahead (a reset_step_clock
    when one ran dry) and the digital out's updates within its
    max_duration: a print that goes on (test_fw_quiet's _Stream ends in
    shutdowns, after which everything takes the Python way)."""

    def __init__(self, rng):
        self.rng = rng
        self.end = [0, 0]
        self.update = 0

    def commands(self, now):
        rng, out = self.rng, []
        for oid in (0, 1):
            if self.end[oid] + MS < now:          # ran dry: start again
                self.end[oid] = now + 3 * MS
                out.append(("reset_step_clock", {"oid": oid, "clock": self.end[oid]}))
            elif self.end[oid] < now + 3 * MS:    # about to: let it
                continue
            if self.end[oid] > now + 100 * MS or rng.random() < 0.2:
                continue
            interval, count = rng.randrange(20 * PULSE, 2 * MS), rng.randrange(1, 30)
            out.append(qs(interval, count, 0, oid=oid))
            self.end[oid] = queue_step_times(self.end[oid], [(interval, count, 0)])[-1]
        if rng.random() < 0.15:
            out.append(("get_clock", {}))    # (no clock: the C arrival's case too)
        if self.update > now + 40 * MS and rng.random() < 0.7:
            return out        # (queue_steps only: the C arrival's case)
        self.update = max(self.update, now + MS) + rng.randrange(MS, 30 * MS)
        out.append(("queue_digital_out", {"oid": 2, "clock": self.update,
                                          "on_ticks": 0}))
        return out


def _blocks(fw, messages, seq):
    """(seq, payload's messages) per block of at most 59 payload bytes."""
    out, payload, msgs = [], bytearray(), []
    for name, args in messages:
        data = fw.dictionary.encode(name, args)
        if len(payload) + len(data) > msgblock.MESSAGE_PAYLOAD_MAX:
            out.append((seq, bytes(payload), msgs))
            seq, payload, msgs = (seq + 1) & msgblock.MESSAGE_SEQ_MASK, bytearray(), []
        payload += data
        msgs.append((name, args))
    if payload:
        out.append((seq, bytes(payload), msgs))
        seq = (seq + 1) & msgblock.MESSAGE_SEQ_MASK
    return out, seq


def _block(seq, payload, msgs, clock, rng):
    """A Block as the serial queue makes it: queue_steps summarised in
    `motion` (count, lowest scheduled clock, highest last-step clock; here
    drawn around the arrival, now and then late), others kept."""
    frame = msgblock.frame_block(payload, seq)
    steps = [m for m in msgs if m[0] == "queue_step"]
    # (a digital out drives a heater now and then: its updates do not keep
    # the print alive)
    generic = [Message(name, args, None, 0, 0, args.get("clock"),
                       HEATER if name == "queue_digital_out" and rng.random() < 0.3 else PINS)
               for name, args in msgs if name != "queue_step"]
    motion = None
    if steps:
        low = clock + rng.randrange(-3 * MS, MS // 2) if rng.random() < 0.1 \
            else clock + rng.randrange(MS, 200 * MS)
        motion = (len(steps), low, low + rng.randrange(0, 400 * MS))
    return Block(seq, frame, generic, motion)


def _run(seed, plants, transport):
    rng = random.Random(seed)
    sides = [_Side(True, plants, transport), _Side(False, plants, transport)]
    framer = configured(CONFIG)       # for its dictionary
    stream = _Moves(rng)
    seq, at, sent = sides[0].fw.host_seq, 0, []
    plan = []                 # (host ns, block indexes, a retransmit)
    blocks = []
    for _ in range(rng.randrange(20, 80)):
        at += rng.randrange(NS_MS // 2, 30 * NS_MS)
        clock = sides[0].clock.clock(at)
        msgs = stream.commands(clock)
        if not plan:       # the analog input reports: wake-ups
            msgs.insert(0, ("query_analog_in", dict(ANALOG[1], clock=clock + 5 * MS)))
        if rng.random() < 0.8:
            # mostly blocks of queue_steps only: after the resets, before the rest
            kinds = [[m for m in msgs if m[0] == "reset_step_clock"],
                     [m for m in msgs if m[0] == "queue_step"],
                     [m for m in msgs if m[0] not in ("queue_step", "reset_step_clock")]]
            made = []
            for part in kinds:
                more, seq = _blocks(framer, part, seq)
                made += more
        else:
            made, seq = _blocks(framer, msgs, seq)
        group = []
        for bseq, payload, bmsgs in made:
            blocks.append((bseq, payload, bmsgs, clock))
            group.append(len(blocks) - 1)
        if sent and rng.random() < 0.07:     # a retransmit of the last blocks
            plan.append((at, sent[-3:] + group, True))
        elif group:
            plan.append((at, group, False))
        sent = (sent + group)[-12:]
    state = rng.getstate()
    for side in sides:
        rng.setstate(state)
        side.blocks = [_block(bseq, payload, bmsgs, clock, rng)
                       for bseq, payload, bmsgs, clock in blocks]
        side.node.start()
        last = 0
        for at, group, again in plan:
            arrival = max(last + 1, at)
            last = arrival + BLOCK_NS * len(group)
            side.kernel.schedule(at, lambda s=side, a=arrival, g=group, r=again:
                                 _send(s, a, g, r))
        side.kernel.run(at + 300 * NS_MS)
        side.node.stop()
    fast, ref = (s.results() for s in sides)
    for key in ref:
        assert fast[key] == ref[key], (seed, key)
    return sides[0].node._c


def _send(side, arrival, group, again):
    """Each block on its own, BLOCK_NS apart (the fast side's way for
    queue_steps-only ones), or a retransmit: the blocks after a sync
    byte, at once, the Python way on both sides."""
    blocks = [side.blocks[i] for i in group]
    if again:
        data = bytes((msgblock.MESSAGE_SYNC,)) + b"".join(b.frame for b in blocks)
        side.node.deliver(arrival, data, blocks)
        return
    for k, block in enumerate(blocks):
        if side.node._fast:
            side.node.deliver_block(arrival + k * BLOCK_NS, block)
        else:
            side.node.deliver(arrival + k * BLOCK_NS, block.frame, [block])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), plants=st.booleans(),
       transport=st.sampled_from(["uart", "usb"]))
def test_c_arrival_equals_the_python_path(seed, plants, transport):
    _run(seed, plants, transport)


def test_the_streams_reach_both_paths():
    """The random runs take the C path and hand back to Python."""
    fast = slow = 0
    for seed in range(4):
        c = _run(seed, seed % 2 == 0, "uart")
        fast, slow = fast + c.fast, slow + c.slow
    assert fast > 50 and slow > 10, (fast, slow)


class _WireModel:
    """The reference model of sim/link/wire.py's rule (the Python Wire
    before its state moved to C): a write starts when the line is free
    (on USB at the next 1 ms frame) and ends byte_ns per byte later."""

    def __init__(self, transport, baud):
        self.usb = transport == "usb"
        self.byte_ns = {"uart": 10 * 10 ** 9 // baud, "usb": 700, "pty": 0}[transport]
        self.idle_ns = 0

    def send(self, now, nbytes):
        start = max(now, self.idle_ns)
        if self.usb:
            start = -(-start // 1_000_000) * 1_000_000
        self.idle_ns = start + nbytes * self.byte_ns
        return self.idle_ns


@settings(max_examples=50, deadline=None)
@given(transport=st.sampled_from(["uart", "usb", "pty"]),
       baud=st.sampled_from([115_200, 250_000, 1_000_000]),
       writes=st.lists(st.tuples(st.integers(0, 3_000_000), st.integers(1, 300)),
                       min_size=1, max_size=40))
def test_wire_equals_its_model(transport, baud, writes):
    wire, model = Wire(transport, baud), _WireModel(transport, baud)
    now = 0
    for gap, nbytes in writes:
        now += gap
        assert wire.send(now, nbytes) == model.send(now, nbytes)
        assert wire.idle_ns == model.idle_ns


class _MarginsModel:
    """The reference model of sim/mcus/margins.py (the Python Margins
    before its record moved to C)."""

    def __init__(self):
        self.minimum = {k: None for k in CLASSES}
        self.counts = {k: 0 for k in CLASSES}
        self.series, self.per_second, self.minimum_at = [], {}, {}

    def add_many(self, klass, margin, count):
        old = self.minimum[klass]
        if old is None or margin < old:
            self.minimum[klass] = margin
        self.counts[klass] += count

    def note_one(self, now_ns, klass, margin):
        bucket = self.per_second.setdefault(klass, {})
        second = now_ns // 1_000_000_000
        old = bucket.get(second)
        if old is None or margin < old:
            bucket[second] = margin
        first = self.minimum_at.get(klass)
        if first is None or margin < first[0]:
            self.minimum_at[klass] = (margin, now_ns)


@settings(max_examples=50, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["add", "many", "note", "block", "series"]),
                              st.sampled_from(CLASSES), st.integers(-10 ** 7, 10 ** 9),
                              st.integers(0, 2 * 10 ** 9), st.integers(1, 5)),
                    max_size=60))
def test_margins_equal_their_model(ops):
    margins, model = Margins(), _MarginsModel()
    now = 0
    for op, klass, margin, gap, count in ops:
        now += gap
        if op == "add":
            margins.add(klass, margin)
            model.add_many(klass, margin, 1)
        elif op == "many":
            margins.add_many(klass, margin, count)
            model.add_many(klass, margin, count)
        elif op == "note":
            margins.note_one(now, klass, margin)
            model.note_one(now, klass, margin)
        elif op == "block":
            worst = {k: margin + i for i, k in enumerate(CLASSES[count % 4:])}
            margins.note_block(now, worst)
            for k, m in worst.items():
                model.note_one(now, k, m)
        else:
            margins.add_series(now, margin)
            model.series.append((now, margin))
    for name in ("minimum", "counts", "series", "per_second", "minimum_at"):
        got, want = getattr(margins, name), getattr(model, name)
        assert got == want and list(got) == list(want), name
        if name == "per_second":
            assert [list(b) for b in got.values()] == [list(b) for b in want.values()]
    assert pickle.loads(pickle.dumps(margins)) == margins.values()


def test_an_error_in_a_hand_back_ends_the_run():
    """A Python exception inside a C event's hand-back (here the output
    sink's on_output) ends kernel.run with that exception."""
    side = _Side(True, False, "uart")

    def broken(data):
        raise ValueError("on_output failed")
    side.node.on_output = broken
    made, _seq = _blocks(side.fw, [("reset_step_clock", {"oid": 0, "clock": 100 * MS})],
                         side.fw.host_seq)
    seq, payload, _msgs = made[0]
    block = Block(seq, msgblock.frame_block(payload, seq), [], (1, 100 * MS, 100 * MS))
    side.node.start()
    side.kernel.schedule(NS_MS, lambda: side.node.deliver_block(2 * NS_MS, block))
    try:
        side.kernel.run(50 * NS_MS)
    except ValueError as error:
        assert "on_output failed" in str(error)
    else:
        raise AssertionError("the run went on")
    assert side.node._c.fast == 1


def test_a_heater_update_does_not_keep_the_print_alive():
    """A block of a far queue_digital_out on a heater and one on another
    pin, through the C arrival and the Python path: the heater's clock
    does not count in last_sched_clock, the other pin's does, and the
    watched digital out's last update is its clock (by hand)."""
    results = []
    for fast in (True, False):
        side = _Side(fast, False, "uart")
        updates = [("queue_digital_out", {"oid": 2, "clock": 60 * MS, "on_ticks": 0}),
                   ("queue_digital_out", {"oid": 2, "clock": 70 * MS, "on_ticks": 0})]
        made, _seq = _blocks(side.fw, updates, side.fw.host_seq)
        seq, payload, _msgs = made[0]
        generic = [Message(name, args, None, 0, 0, args["clock"], klass)
                   for (name, args), klass in zip(updates, (PINS, HEATER))]
        block = Block(seq, msgblock.frame_block(payload, seq), generic, None)
        side.node.start()
        side.kernel.schedule(NS_MS, lambda s=side, b=block: s.node.deliver_block(2 * NS_MS, b))
        side.kernel.run(10 * NS_MS)
        results.append((side.node.last_sched_clock, side.node.last_update, side.node._c.fast))
    assert results[0][:2] == results[1][:2] == (60 * MS, {2: 70 * MS})
    assert results[0][2] == 1 and results[1][2] == 0     # (the C path, the Python one)
