"""The serial link's per-block bookkeeping in C (chelper/src/linkio.c
through LinkIO) against the Python it replaced (tests/_link_model.py):
on random traffic (messages queued, sends planned and committed, replies
acknowledging, naks, damaged and lost bytes, RTOs, clock estimate
updates) both make every decision the same: the blocks planned, when
each arrives, which retransmit (nak or RTO) and its bytes, the blocks an
input acknowledges, the responses and their clock-query pairing, the
wake-up time, the ack stalls and every counter.

And the clock-query pairing rule on its own (KLIPPER-FACTS 2.4/2.5): a
reply pairs with the newest query acknowledged when it was read, a lost
reply loses one sample, a retransmitted query gives none."""
import os
import sys

import numpy as np
from hypothesis import given, settings, strategies as st

from klipsim.chelper import msgblock
from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.sim.link.clocksync import McuClock, RegressionClockSource, SerialQueueClock
from klipsim.sim.link.faults import LineFaults
from klipsim.sim.link.linkio import LinkIO
from klipsim.sim.link.messages import Message
from klipsim.sim.link.queues import MessageQueues
from klipsim.sim.link.wire import Wire

sys.path.insert(0, os.path.dirname(__file__))   # the link model (tests/_link_model.py)
from _link_model import LinkModel  # noqa: E402

DICT = fwmcu.dictionary("stm32f446")
FREQ = 180_000_000
DELTA = FREQ // 10
COUNTERS = ("blocks", "bytes_sent", "retransmits", "nak_retransmits", "max_unacked_bytes",
            "bytes_retransmitted", "bad_blocks", "recoveries_ns", "rto_ns", "in_flight_count")


def _generic(name, args, req, mn, queued_ns):
    return Message(name, args, None, req, mn, None, "pins", queued_ns)


class Pair:
    """The C link and the model side by side, each with its own queues,
    fed the same traffic; every answer is compared."""

    def __init__(self, transport, window, fast, float_clock, seed):
        wire = Wire(transport, 250000)
        self.est = None
        if float_clock:
            self.est = RegressionClockSource(FREQ, 0., 1000)
            clock = SerialQueueClock(self.est)
        else:
            clock = McuClock(FREQ, 12345, 40_000)
        self.c = LinkIO(wire, window, fast, DELTA, clock)
        clock.watch(self.c.sync_clock)
        self.model = LinkModel(wire, window, fast, DELTA, clock)
        self.qc, self.qm = MessageQueues(DICT), MessageQueues(DICT)
        self.rng = np.random.default_rng(seed)
        self.faults = LineFaults(np.random.default_rng(seed + 1), 0.01, 0.01)
        self.now = 0
        self.req = 0
        self.seqs_sent = []       # wire seqs of the blocks sent, in order

    # ---- traffic ----------------------------------------------------------------
    def push(self, n):
        msgs = []
        for _ in range(n):
            self.req += int(self.rng.integers(0, FREQ // 20))
            kind = self.rng.integers(0, 3)
            if kind == 0:
                msgs.append(("get_clock", {}, 0, 0))
            elif kind == 1:
                msgs.append(("queue_digital_out", {"oid": 3, "clock": self.req & 0xFFFFFFFF,
                                                   "on_ticks": 1}, self.req, 0))
            else:
                msgs.append(("queue_step", {"oid": 1, "interval": 1000, "count": 5, "add": 0},
                             self.req, self.req - FREQ // 4))
        for q in (self.qc, self.qm):
            q.add(msgs, self.now, _generic, lambda: 4)

    def send(self):
        """Plan and commit at now: same blocks, arrivals, retransmits."""
        blocks = self.c.plan(self.qc, self.now)
        want = self.model.plan(self.qm, self.now)
        assert [b.frame for b in blocks] == [b.frame for b in want]
        if blocks:     # (the serial queue thread's cost counts these messages)
            assert self.qc.planned_messages == sum(len(b.messages) for b in want)
        mask = sum(1 << i for i, b in enumerate(blocks)
                   if any(m.name == "get_clock" for m in b.generic))
        arrivals, kind, at, nbytes = self.c.commit(self.now, mask)
        want_arrivals, want_kind, want_at, want_nbytes = self.model.commit(self.now, mask)
        assert [arrivals[i] for i in range(len(blocks))] == want_arrivals
        assert kind == want_kind
        if kind:
            assert (at, nbytes) == (want_at, want_nbytes)
        self.seqs_sent += [b.seq for b in blocks]
        assert self.c.next_wake(self.qc, self.now) == self.model.next_wake(self.qm, self.now)

    def reply(self, n_blocks, damaged):
        """A chunk from the MCU, read at once."""
        data = self.chunk(n_blocks, damaged)
        acked, payloads = self.c.input(data, self.now)
        self.check_input((acked, list(payloads)), self.model.input(data, self.now))

    def replies(self, n_chunks):
        """Several chunks received (the C receive buffer: linkio_receive)
        and then read together by input_all: as the model reads them one
        by one."""
        chunks = [self.chunk(1 + int(self.rng.integers(0, 4)), self.rng.random() < 0.3)
                  for _ in range(n_chunks)]
        for data in chunks:
            self.c.receive(data)
        acked, payloads, count = self.c.input_all(self.now)
        assert count == n_chunks
        want_acked, want = 0, []
        for data in chunks:
            one, payloads_one = self.model.input(data, self.now)
            want_acked += one
            want += payloads_one
        self.check_input((acked, list(payloads)), (want_acked, want))

    def check_input(self, got, want):
        assert got == want
        for _payload, snap in got[1]:
            if self.rng.random() < 0.5:
                assert self.c.clock_query_sent(snap) == self.model.clock_query_sent(snap)

    def chunk(self, n_blocks, damaged):
        """Acks/naks and responses naming sequences around the blocks in
        flight, perhaps damaged."""
        data = b""
        in_flight = self.model.in_flight
        base = in_flight[0].seq if in_flight else (self.seqs_sent[-1] + 1 if self.seqs_sent
                                                   else 0)
        for _ in range(n_blocks):
            # mostly the oldest block again (a nak, or a repeated ack) or
            # some of the blocks in flight; now and then a seq never sent
            k = 0 if self.rng.random() < 0.4 else int(self.rng.integers(-2, len(in_flight) + 3))
            seq = (base + k) & 15
            payload = b"" if self.rng.random() < 0.6 else \
                bytes(self.rng.integers(0, 256, int(self.rng.integers(1, 30)), dtype=np.uint8))
            data += msgblock.frame_block(payload, seq)
        if damaged:
            data = self.faults.apply(data)
        return data

    def advance(self, ns):
        self.now += ns

    def sample(self):
        """A get_clock sample moves the float clock's estimate."""
        if self.est is not None:
            t = self.now / 1e9
            self.est.sample(t, t + 0.0003, int(1000 + (t + 0.00015) * FREQ * 1.00004))

    def check_state(self):
        for name in COUNTERS:
            assert getattr(self.c, name) == getattr(self.model, name), name
        assert self.c.window_full == self.model.window_full
        assert self.c.recent_ack_stall(self.now) == self.model.recent_ack_stall(self.now)


OPS = st.lists(st.tuples(st.sampled_from("ppsssrrrdmaAc"), st.integers(1, 40)),
               min_size=5, max_size=120)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["uart", "usb", "pty"]), st.sampled_from([None, 96, 192]),
       st.booleans(), st.booleans(), st.integers(0, 2 ** 31), OPS)
def test_c_link_decides_as_the_python_model(transport, window, fast, float_clock, seed, ops):
    pair = Pair(transport, window, fast, float_clock, seed)
    for op, n in ops:
        if op == "p":
            pair.push(n)
        elif op == "s":
            pair.send()
        elif op in "rd":
            pair.reply(1 + n % 4, op == "d")
        elif op == "m":
            pair.replies(n % 6)               # none to five chunks at once
        elif op == "a":
            pair.advance(n * 1_000_000)          # up to 40 ms
        elif op == "A":
            pair.advance(n * 100_000_000)        # up to 4 s: RTOs
        else:
            pair.sample()
        pair.check_state()


# ---- the clock-query pairing ------------------------------------------------------
class _Link:
    """A C link sending one get_clock per block, acknowledged at will."""

    def __init__(self):
        self.io = LinkIO(Wire("uart", 250000), None, True, DELTA, McuClock(FREQ))
        self.q = MessageQueues(DICT)
        self.now = 0
        self.seq = 0

    def query(self):
        """Send one get_clock block; its send (arrival) time."""
        self.now += 10_000_000
        self.q.add([("get_clock", {}, 0, 0)], self.now, _generic, lambda: 1)
        blocks = self.io.plan(self.q, self.now)
        assert len(blocks) == 1
        arrivals, kind, _at, _n = self.io.commit(self.now, 1)
        self.seq = (blocks[0].seq + 1) & 15
        return arrivals[0]

    def ack_and_reply(self):
        """The MCU acknowledges every block and answers: the reply's
        pairing."""
        self.now += 1_000_000
        acked, replies = self.io.input(msgblock.frame_block(b"\x01", self.seq), self.now)
        return self.io.clock_query_sent(replies[0][1])


def test_reply_pairs_with_its_own_query():
    link = _Link()
    first = link.query()
    assert link.ack_and_reply() == first
    # the next reply was lost: the one after pairs with its own query
    link.query()
    third = link.query()
    assert link.ack_and_reply() == third
    # a reply before its query's block is acknowledged pairs with nothing
    link.query()
    _acked, replies = link.io.input(msgblock.frame_block(b"\x01", link.seq - 1 & 15),
                                    link.now)
    assert link.io.clock_query_sent(replies[0][1]) == 0
    # a retransmitted query has no single send time: no sample
    link.now += 10 ** 9                     # past the RTO
    assert link.io.commit(link.now, 0)[1] == 2
    assert link.ack_and_reply() == 0
