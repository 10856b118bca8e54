"""The serial queue's message queues in C (chelper/src/linkq.c through
MessageQueues) against a small Python model of the same rules (the
pure-Python serial queue they replaced): on random message sequences
they give the same blocks (bytes), the same messages in each block with
the same clocks, and the same release, first-due and wake-up clocks.

The model, from KLIPPER-FACTS 2.5/2.6: each object's messages form one
FIFO queue (timed messages by oid, the rest in the default queue); a
queue_step with a min_clock takes the earliest free move slot; every
min_clock is kept within 3 << 29 ticks of its req_clock; a message is
ready once its min_clock is at or before the ack clock; a block takes
ready heads, lowest req_clock first (the queue created first on ties),
up to 59 payload bytes.
"""
import heapq
from collections import deque

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from klipsim.chelper import msgblock
from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.sim.link.messages import MOTION, Message, queue_step_base
from klipsim.chelper import steppersync
from klipsim.sim.link.queues import MessageQueues, StepRun

DICT = fwmcu.dictionary("stm32f446")
SPAN = 3 << 29


class ModelQueues:
    def __init__(self, slot_count):
        self.queues = {-1: deque()}
        self.released = {-1: 0}
        self.slots = None
        self.slot_count = slot_count

    def add(self, messages, queued_ns):
        for name, args, req, mn in messages:
            if name == "queue_step" and mn:
                if self.slots is None:
                    self.slots = [0] * self.slot_count
                mn = heapq.heapreplace(self.slots, req)
            if mn + SPAN < req:
                mn = req - SPAN
            sched = None
            if name == "queue_step" and req:
                sched = queue_step_base(args, req) + args["interval"]
            key = args.get("oid", -1) if req else -1
            if key not in self.queues:
                self.queues[key] = deque()
                self.released[key] = 0
            self.queues[key].append((name, args, req, mn, sched, DICT.encode(name, args)))

    def release(self, ack_clock):
        ready = 0
        for key, q in self.queues.items():
            r = self.released[key]
            while r < len(q) and q[r][3] <= ack_clock:
                r += 1
            self.released[key] = r
            ready += sum(len(m[5]) for m in list(q)[:r])
        return ready

    def _lowest(self):
        heads = [(q[0][2], i, key) for i, (key, q) in enumerate(self.queues.items())
                 if self.released[key]]
        return min(heads) if heads else None

    def first_req(self):
        low = self._lowest()
        return low[0] if low else None

    def build(self, seq):
        payload, msgs = b"", []
        while True:
            low = self._lowest()
            if low is None or len(payload) + len(self.queues[low[2]][0][5]) > 59:
                break
            m = self.queues[low[2]].popleft()
            self.released[low[2]] -= 1
            payload += m[5]
            msgs.append(m[:5])
        return msgblock.frame_block(payload, seq), msgs

    def plan(self, ack_clock, delta, max_blocks, in_flight, window, window_need, seq):
        """The old serial queue's planning loop (_plan_sends and
        _window_open), returning ([(frame, messages)], window_full)."""
        ready = self.release(ack_clock)
        plan = []
        while in_flight + len(plan) < max_blocks and ready:
            if window is not None and (in_flight or plan) and \
                    window_need + sum(len(f) for f, _m in plan) > window:
                return plan, True
            if ready < 59 and self.first_req() > ack_clock + delta:
                break
            frame, msgs = self.build((seq + len(plan)) & 15)
            ready -= len(frame) - 5
            plan.append((frame, msgs))
        return plan, False

    def next_due(self, delta):
        due = [q[0][2] - delta if self.released[key] else q[0][3]
               for key, q in self.queues.items() if q]
        return min(due) if due else None


def _generic(name, args, req, mn, queued_ns):
    if mn + SPAN < req:
        mn = req - SPAN
    return Message(name, args, None, req, mn, None, "pins", queued_ns)


def _message(draw_kind, oid, req, mn, rng):
    if draw_kind == 0:
        return ("queue_step", {"oid": oid, "interval": int(rng.integers(0, 1 << 32)),
                               "count": int(rng.integers(1, 1 << 16)),
                               "add": int(rng.integers(-(1 << 15), 1 << 15))}, req, mn)
    if draw_kind == 1:
        return ("set_next_step_dir", {"oid": oid, "dir": int(rng.integers(0, 2))}, req, 0)
    if draw_kind == 2:
        return ("reset_step_clock", {"oid": oid, "clock": int(rng.integers(0, 1 << 32))},
                req, 0)
    if draw_kind == 3:
        return ("queue_digital_out", {"oid": oid, "clock": req & 0xFFFFFFFF,
                                      "on_ticks": int(rng.integers(0, 1 << 32))}, req, mn)
    return ("get_clock", {}, 0, 0)


def _batches(seed, n_batches):
    rng = np.random.default_rng(seed)
    clock = 0
    for _ in range(n_batches):
        batch = []
        for _ in range(int(rng.integers(1, 40))):
            clock += int(rng.integers(0, 5000))
            req = clock + int(rng.integers(0, 1 << 20)) if rng.random() < 0.95 else 0
            if req and rng.random() < 0.05:
                req += 1 << 31          # far ahead: min_clock clamped to req - SPAN
            mn = int(rng.integers(1, req + 1)) if req and rng.random() < 0.8 else 0
            batch.append(_message(int(rng.integers(0, 5)), int(rng.integers(0, 6)),
                                  req, mn, rng))
        yield batch, clock + int(rng.integers(0, 1 << 21))


def _fields(msg):
    return (msg.name, msg.args, msg.req_clock, msg.min_clock,
            msg.sched if msg.klass == MOTION else None)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32), st.integers(1, 25), st.integers(1, 30))
def test_c_queues_match_the_python_model(seed, n_batches, slot_count):
    c, model = MessageQueues(DICT), ModelQueues(slot_count)
    seq = 0
    for batch, ack_clock in _batches(seed, n_batches):
        c.add(batch, 7, _generic, lambda: slot_count)
        model.add(batch, 7)
        assert c.release(ack_clock) == model.release(ack_clock)
        while model.first_req() is not None:
            assert c.first_req() == model.first_req()
            frame, msgs = model.build(seq)
            block = c.build(seq)
            assert block.frame == frame
            assert [_fields(m) for m in block.messages] == [m[:4] + (m[4],) for m in msgs]
            seq = (seq + 1) & 15
            if np.random.default_rng(seed + seq).random() < 0.3:
                break                   # leave some ready messages queued
        assert c.next_due(1000) == model.next_due(1000)
        assert len(c) == sum(len(q) for q in model.queues.values())


def test_block_motion_summary_and_generic_messages():
    """A block's summary covers exactly its timed queue_steps (first
    step and last step clocks), and `generic` holds the Python messages."""
    c = MessageQueues(DICT)
    qs = {"oid": 1, "interval": 100, "count": 4, "add": 10}
    c.add([("queue_step", qs, 1000, 0),
           ("set_next_step_dir", {"oid": 1, "dir": 1}, 1000, 0),
           ("queue_step", dict(qs, interval=50), 2000, 0),
           ("get_clock", {}, 0, 0)], 0, _generic, lambda: 4)
    c.release(1 << 40)
    block = c.build(3)
    # first steps at 1100 and 2050; the last one 3 intervals later, each
    # grown by add: + 10 * (1+2+3)
    assert block.motion == (2, 1100, 2050 + 150 + 60)
    assert [m.name for m in block.generic] == ["get_clock"]
    assert [m.name for m in block.messages] == ["get_clock", "queue_step",
                                                "set_next_step_dir", "queue_step"]
    assert msgblock.split_blocks(block.frame)[0][0] == 3


def test_encoding_matches_the_dictionary_at_vlq_edges():
    """queue_step parameters of every VLQ size encode as the dictionary does."""
    edges = [-0x4000001, -0x4000000, -0x80001, -0x80000, -0x1001, -0x1000, -0x21, -0x20,
             0, 0x5F, 0x60, 0x2FFF, 0x3000, 0x17FFFF, 0x180000, 0xBFFFFFF, 0xC000000]
    rng = np.random.default_rng(5)
    c = MessageQueues(DICT)
    for _ in range(500):
        args = {k: int(rng.choice(edges) if rng.random() < 0.3
                       else rng.integers(-(1 << 31), 1 << 31))
                for k in ("interval", "count", "add")}
        args["oid"] = int(rng.integers(0, 256))
        c.add([("queue_step", args, 0, 0)], 0, _generic, lambda: 1)
        c.release(0)
        block = c.build(0)
        assert msgblock.split_blocks(block.frame) == [(0, DICT.encode("queue_step", args))]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32), st.integers(1, 25),
       st.sampled_from([None, 96, 192, 500]), st.integers(0, 12))
def test_c_plan_matches_the_python_model(seed, n_batches, window, in_flight):
    """linkq_plan (release, the block limit, the receive window, the
    hold-back of partly filled blocks) builds what the old loop built."""
    c, model = MessageQueues(DICT), ModelQueues(8)
    seq = 0
    rng = np.random.default_rng(seed)
    for batch, ack_clock in _batches(seed, n_batches):
        c.add(batch, 7, _generic, lambda: 8)
        model.add(batch, 7)
        delta = int(rng.integers(0, 1 << 20))
        need = int(rng.integers(64, 200))
        blocks, full = c.plan(ack_clock, delta, 12, in_flight, window, need, seq)
        want, want_full = model.plan(ack_clock, delta, 12, in_flight, window, need, seq)
        assert full == want_full
        assert [b.frame for b in blocks] == [f for f, _m in want]
        assert [[_fields(m) for m in b.messages] for b in blocks] == \
            [[m[:4] + (m[4],) for m in msgs] for _f, msgs in want]
        assert c.ready_bytes() == model.release(ack_clock)
        seq = (seq + len(blocks)) & 15


def _step_run(messages):
    """Motion messages as a StepRun (struct ss_message rows, as
    steppersync writes them)."""
    kinds = {name: k for k, name in enumerate(steppersync.KIND_NAMES)}
    rows = []
    for name, args, req, mn in messages:
        params = [v for k, v in args.items() if k != "oid"] + [0, 0]
        rows.append((req, mn, params[0], params[1], params[2], kinds[name], args["oid"]))
    arr = np.array(rows, dtype=steppersync.message_dtype())
    return StepRun(arr.tobytes(), len(rows))


def _as_runs(batch):
    """The batch with each stretch of motion messages as one StepRun."""
    out, stretch = [], []
    for m in batch + [None]:
        if m is not None and m[0] in steppersync.KIND_NAMES:
            stretch.append(m)
            continue
        if stretch:
            run = _step_run(stretch)
            assert run.messages() == stretch
            out.append(run)
            stretch = []
        if m is not None:
            out.append(m)
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2 ** 32), st.integers(1, 20), st.integers(1, 30))
def test_step_runs_queue_as_their_tuples_do(seed, n_batches, slot_count):
    """Steppersync batches taken whole (StepRuns, between other
    messages) queue exactly as their messages as tuples would: same
    blocks, same messages, same clocks, the move slots sized when the
    first slotted queue_step comes."""
    runs, tuples = MessageQueues(DICT), MessageQueues(DICT)
    seq = 0
    for batch, ack_clock in _batches(seed, n_batches):
        first, count = runs.add(_as_runs(batch), 5, _generic, lambda: slot_count)
        assert count == len(batch)
        assert (first, count) == tuples.add(batch, 5, _generic, lambda: slot_count)
        got = runs.plan(ack_clock, 1000, 12, 0, None, 0, seq)[0]
        want = tuples.plan(ack_clock, 1000, 12, 0, None, 0, seq)[0]
        assert [b.frame for b in got] == [b.frame for b in want]
        assert [[_fields(m) for m in b.messages] for b in got] == \
            [[_fields(m) for m in b.messages] for b in want]
        seq = (seq + len(got)) & 15
