"""The serial link's per-block bookkeeping in Python: the model the C port
(chelper/src/linkio.c through sim/link/linkio.py's LinkIO) is compared
with in tests/test_link_io.py. This is the code SerialQueue ran before
the port (sim/link/serial_link.py, acks.py and reader.py, Nov 2026), kept with the
same interface as LinkIO: the wire towards the MCU, the blocks in flight,
acks, naks and the RTO (RFC 6298 with KLIPPER-FACTS 2.5's constants),
the clock-query pairing, the send plan around MessageQueues, the wake-up
time and the statistics.
"""
from collections import deque

from klipsim.chelper import msgblock
from klipsim.sim.link.wire import Wire

MESSAGE_MAX = msgblock.MESSAGE_MAX               # 64
MIN_RTO_NS = 25_000_000
MAX_RTO_NS = 5_000_000_000
MAX_PENDING_BLOCKS = 12
WINDOW_RECHECK_NS = 250_000_000
ACK_STALLS_KEPT = 20
SYNC = bytes((msgblock.MESSAGE_SYNC,))


def split_blocks_tolerant(data, stats):
    """(seq, payload) of every intact block (msgblock.check_block); sync
    bytes between blocks are skipped; after a damaged block, skip to the
    next sync byte; stats.bad_blocks counts those."""
    out, pos = [], 0
    while pos < len(data):
        if data[pos] == msgblock.MESSAGE_SYNC:
            pos += 1
            continue
        try:
            seq, payload, pos = msgblock.check_block(data, pos)
        except ValueError:
            stats.bad_blocks += 1
            sync = data.find(SYNC, pos)
            pos = len(data) if sync < 0 else sync + 1
            continue
        out.append((seq, payload))
    return out


class LinkSeqs:
    """The sequence bookkeeping of flow control and fast retransmit, on
    block counts that never wrap (FACTS 2.5; the wire's 4-bit sequence
    only names blocks relative to these): blocks sent, acknowledged, the
    newest one an empty block acknowledged (`last_ack`), the count at the
    last retransmit and the highest count a nak is ignored at."""
    __slots__ = ("send", "receive", "last_ack", "ignore_nak", "retransmit",
                 "unacked_bytes", "last_ack_bytes")

    def __init__(self):
        # (counted from 1, so a nak naming the first block is above the
        # initial ignore_nak)
        self.send = self.receive = self.last_ack = 1
        self.ignore_nak = self.retransmit = 0
        self.unacked_bytes = 0       # frame bytes of the blocks awaiting an ack
        self.last_ack_bytes = 0      # frame bytes of the block acknowledged last

    def sent(self, nbytes):
        self.send += 1
        self.unacked_bytes += nbytes

    def acked(self, count, freed_bytes, last_frame_bytes):
        self.receive += count
        self.unacked_bytes -= freed_bytes
        self.last_ack_bytes = last_frame_bytes

    def empty_block(self, in_flight):
        """An ack or nak came naming `receive`: True if it is a nak that
        asks for a fast retransmit."""
        if self.last_ack < self.receive:
            self.last_ack = self.receive
            return False
        return self.receive > self.ignore_nak and bool(in_flight)

    def retransmitted(self, nak):
        """After a nak, later naks naming the same block are ignored, and
        a second nak during this resend's recovery stops further ones
        until it is acknowledged; after an RTO, naks about blocks sent so
        far are ignored."""
        if nak:
            self.ignore_nak = max(self.receive, self.retransmit)
        else:
            self.ignore_nak = self.send
        self.retransmit = self.send

    def window_need(self):
        """Window bytes a new full block would need: the unacknowledged
        bytes, MESSAGE_MAX, and the block acknowledged last while only a
        response (not yet its ack) has named it."""
        need = self.unacked_bytes + MESSAGE_MAX
        if self.last_ack < self.receive:
            need += self.last_ack_bytes
        return need


class RttEstimator:
    """The retransmit timeout from round-trip samples: RFC 6298 as FACTS
    2.5 lists it (first srtt deliberately 10x the sample), bounded by
    MIN_RTO_NS and MAX_RTO_NS, doubled on every timeout."""
    __slots__ = ("srtt", "rttvar", "rto_ns")

    def __init__(self):
        self.srtt = self.rttvar = 0
        self.rto_ns = MIN_RTO_NS

    def sample(self, delta):
        delta = max(delta, 0)
        if not self.srtt:
            self.srtt, self.rttvar = 10 * delta, delta // 2
        else:
            self.rttvar = (3 * self.rttvar + abs(self.srtt - delta)) // 4
            self.srtt = (7 * self.srtt + delta) // 8
        rto = self.srtt + max(4 * self.rttvar, 1_000_000)
        self.rto_ns = min(MAX_RTO_NS, max(MIN_RTO_NS, rto))

    def back_off(self):
        self.rto_ns = min(MAX_RTO_NS, 2 * self.rto_ns)




class _Sent:
    """A block in flight: what the link keeps of it."""
    __slots__ = ("seq", "length", "sent_ns", "retransmitted")

    def __init__(self, seq, length, sent_ns):
        self.seq, self.length, self.sent_ns = seq, length, sent_ns
        self.retransmitted = False


class LinkModel:
    def __init__(self, wire, window, fast_retransmit, delta_ticks, clock):
        self.wire = Wire(wire.transport, 1)
        self.wire.byte_ns = wire.byte_ns
        self.receive_window = window
        self.fast_retransmit = fast_retransmit
        self.delta_ticks = delta_ticks
        self.clock = clock
        self.in_flight = deque()
        self.send_seq = 0
        self.rtt = RttEstimator()
        self.rto_deadline = None
        self.seqs = LinkSeqs()
        self.nak_due = False
        self.window_full = False
        self.ack_stall_since = None
        self.ack_stalls = deque(maxlen=ACK_STALLS_KEPT)
        self.clock_queries = deque()
        self.planned = []
        self.bad_blocks = self.blocks = self.bytes_sent = 0
        self.retransmits = self.nak_retransmits = 0
        self.max_unacked_bytes = self.bytes_retransmitted = 0
        self.recoveries_ns = []

    def set_send_seq(self, seq):
        self.send_seq = seq

    # ---- input ----------------------------------------------------------------
    def input(self, data, now):
        """(blocks acknowledged, [(payload, acked count when read)])."""
        before = self.seqs.receive
        out = []
        for seq, payload in split_blocks_tolerant(data, self):
            self._ack(seq, not payload, now)
            if payload:
                out.append((payload, self.seqs.receive))
        return self.seqs.receive - before, out

    def clock_query_sent(self, snap):
        newest = None
        queries = self.clock_queries
        while queries and queries[0][0] < snap:
            newest = queries.popleft()[1]
        if newest is None or newest.retransmitted:
            return 0
        return newest.sent_ns

    def _ack(self, seq, empty, now):
        count = 0
        if self.in_flight:
            count = (seq - self.in_flight[0].seq) & msgblock.MESSAGE_SEQ_MASK
            if count > len(self.in_flight):
                return
        if count:
            self._acked(count, now)
        if empty and self.seqs.empty_block(self.in_flight) and self.fast_retransmit:
            self.nak_due = True

    def _acked(self, count, now):
        freed = 0
        for _ in range(count):
            block = self.in_flight.popleft()
            freed += block.length
            if block.retransmitted:
                self.recoveries_ns.append(now - block.sent_ns)
        self.seqs.acked(count, freed, block.length)
        if self.ack_stall_since is not None:
            self.ack_stalls.append(now - self.ack_stall_since)
            self.ack_stall_since = None
        if not block.retransmitted:
            self.rtt.sample(now - block.sent_ns)
        self.rto_deadline = now + self.rtt.rto_ns if self.in_flight else None

    # ---- output ------------------------------------------------------------------
    def plan(self, queues, now):
        ack_clock = self.clock.clock(max(now, self.wire.idle_ns)
                                     + MESSAGE_MAX * self.wire.byte_ns)
        plan, self.window_full = queues.plan(
            ack_clock, self.delta_ticks, MAX_PENDING_BLOCKS, len(self.in_flight),
            self.receive_window, self.seqs.window_need(), self.send_seq)
        self.send_seq = (self.send_seq + len(plan)) & msgblock.MESSAGE_SEQ_MASK
        blocked = self.window_full or len(self.in_flight) >= MAX_PENDING_BLOCKS
        if blocked and queues.ready_bytes() and self.ack_stall_since is None:
            self.ack_stall_since = now
        self.planned = [(b.seq, len(b.frame)) for b in plan]
        return plan

    def commit(self, now, query_mask):
        """(arrivals of the planned blocks, retransmit kind 0/1 nak/2 RTO,
        its arrival, its bytes)."""
        arrivals = []
        for i, (seq, length) in enumerate(self.planned):
            arrivals.append(self._transmit(now, seq, length, query_mask >> i & 1))
        self.planned = []
        kind = arrival = nbytes = 0
        if self.nak_due and self.in_flight:
            kind = 1
        elif self.rto_deadline is not None and now >= self.rto_deadline:
            kind = 2
        if kind:
            arrival, nbytes = self._retransmit(now, kind == 1)
        self.nak_due = False
        return arrivals, kind, arrival, nbytes

    def _transmit(self, now, seq, length, query):
        arrival = self.wire.send(now, length)
        block = _Sent(seq, length, arrival)
        if query:
            self.clock_queries.append((self.seqs.send, block))
        self.in_flight.append(block)
        self.seqs.sent(length)
        self.max_unacked_bytes = max(self.max_unacked_bytes, self.seqs.unacked_bytes)
        self.blocks += 1
        self.bytes_sent += length
        if self.rto_deadline is None:
            self.rto_deadline = arrival + self.rtt.rto_ns
        return arrival

    def _retransmit(self, now, nak):
        if nak:
            self.nak_retransmits += 1
        else:
            self.rtt.back_off()
            self.retransmits += 1
        self.seqs.retransmitted(nak)
        nbytes = 1 + sum(b.length for b in self.in_flight)
        arrival = self.wire.send(now, nbytes)
        for block in self.in_flight:
            block.retransmitted = True
        self.bytes_retransmitted += nbytes
        self.rto_deadline = arrival + self.rtt.rto_ns
        return arrival, nbytes

    def next_wake(self, queues, now):
        candidates = []
        if self.rto_deadline is not None:
            candidates.append(self.rto_deadline)
        if self.window_full:
            candidates.append(now + WINDOW_RECHECK_NS)
        elif len(self.in_flight) < MAX_PENDING_BLOCKS:
            due = queues.next_due(self.delta_ticks)
            if due is not None:
                candidates.append(self.clock.time_ns(due) - MESSAGE_MAX * self.wire.byte_ns)
        if not candidates:
            return None
        return max(now + 1, min(candidates))

    # ---- state --------------------------------------------------------------------
    def recent_ack_stall(self, now):
        ongoing = [now - self.ack_stall_since] if self.ack_stall_since is not None else []
        return max(list(self.ack_stalls) + ongoing, default=0)

    @property
    def in_flight_count(self):
        return len(self.in_flight)

    @property
    def rto_ns(self):
        return self.rtt.rto_ns
