"""The serial link's per-block bookkeeping, in C (chelper/src/linkio.c):
the wire towards the MCU, the blocks awaiting an ack, acks, naks and the
retransmit timeout, the clock-query pairing, the send plan around
MessageQueues and when the serial queue thread must look again.

Contract: `LinkIO(wire, window, fast_retransmit, delta_ticks, clock)`
(wire: a Wire, whose transport and byte time it takes; window: receive
window bytes or None); one serial queue step is a few calls:
- `input(data, now)` reads a received chunk: every intact block's
  sequence acknowledges, damaged blocks are counted; returns (blocks
  acknowledged, [(payload, acked count when read)]) for the blocks that
  carry responses; `clock_query_sent(count)` pairs a get_clock reply
  read at that count with its query's send time (0: no sample);
- `receive(data)` keeps a received chunk in C (the tty kworker's native
  program does the same from C) and `input_all(now)` reads every chunk
  kept, each as `input` would: (blocks acknowledged, payloads as
  `input`'s, chunks read);
- `plan(queues, now)` the blocks a send now may carry (Block objects);
- `commit(now, query_mask)` transmits them (bit b: block b carries a
  get_clock) and returns (their arrivals, retransmit kind 0 none / 1
  nak / 2 RTO, its arrival, its bytes);
- `next_wake(queues, now)` when to look again (None: only when kicked).
The rules are sim/link/serial_link.py's (KLIPPER-FACTS 2.5); the
Python they were ported from is tests/_link_model.py, which
tests/test_link_io.py compares every decision with. The clock is the
serial queue's (McuClock or SerialQueueClock, by their `c_clock`).
"""
from ...chelper import msgblock
from ...chelper._chelper import ffi, lib
from .wire import TRANSPORTS

# linkio_stat's counters (chelper/src/linkio.h)
STATS = ("blocks", "bytes_sent", "retransmits", "nak_retransmits", "max_unacked_bytes",
         "bytes_retransmitted", "bad_blocks", "rto_ns", "window_full")
STAT_INDEX = {name: i for i, name in enumerate(STATS)}


class LinkIO:
    def __init__(self, wire, window, fast_retransmit, delta_ticks, clock):
        self.byte_ns = wire.byte_ns
        self.c_link = ffi.gc(lib.linkio_new(TRANSPORTS.index(wire.transport), self.byte_ns,
                                        -1 if window is None else window,
                                        bool(fast_retransmit), delta_ticks), lib.linkio_free)
        self.clock = clock
        self._cap = 0
        self._starts = self._snaps = None
        self._acked = ffi.new("int64_t *")
        self._first_seq = ffi.new("int32_t *")
        self._arrivals = ffi.new("int64_t[]", 16)
        self._retx = ffi.new("int64_t[]", 2)
        self.sync_clock()

    def sync_clock(self):
        """Hand the clock's current mapping to C (again after it changed)."""
        kind, params = self.clock.c_clock()
        if kind == "exact":
            lib.linkio_set_clock_exact(self.c_link, *params)
        else:
            lib.linkio_set_clock_float(self.c_link, *params)

    def set_send_seq(self, seq):
        lib.linkio_set_send_seq(self.c_link, seq)

    # ---- input ----------------------------------------------------------------
    def input(self, data, now):
        if not isinstance(data, bytes):
            data = bytes(data)
        cap = len(data) // (msgblock.MESSAGE_MIN + 1) + 1
        if cap > self._cap:
            self._cap = cap
            self._starts = ffi.new("int64_t[]", cap)
            self._snaps = ffi.new("int64_t[]", cap)
        starts, snaps = self._starts, self._snaps
        n = lib.linkio_input(self.c_link, data, len(data), now, starts, snaps, cap, self._acked)
        if not n:
            return self._acked[0], ()
        out = []
        for i in range(n):
            start = starts[i]
            out.append((data[start + 2:start + data[start] - 3], snaps[i]))
        return self._acked[0], out

    def receive(self, data):
        if data.__class__ is not bytes:
            data = bytes(data)
        lib.linkio_receive(self.c_link, data, len(data))

    def input_all(self, now):
        rx = lib.linkio_input_all(self.c_link, now)
        n = rx.n
        if not n:
            return rx.acked, (), rx.chunks
        ends, snaps = rx.ends, rx.snaps
        data = ffi.unpack(ffi.cast("char *", rx.data), ends[n - 1])
        out = []
        start = 0
        for i in range(n):
            end = ends[i]
            out.append((data[start:end], snaps[i]))
            start = end
        return rx.acked, out, rx.chunks

    def clock_query_sent(self, snap):
        return lib.linkio_clock_query_sent(self.c_link, snap)

    # ---- output ------------------------------------------------------------------
    def plan(self, queues, now):
        return queues.plan_link(self.c_link, now, self._first_seq)

    def commit(self, now, query_mask):
        arrivals = self._arrivals
        kind = lib.linkio_commit(self.c_link, now, query_mask, arrivals, self._retx)
        return arrivals, kind, self._retx[0], self._retx[1]

    def next_wake(self, queues, now):
        wake = lib.linkio_next_wake(self.c_link, queues.c_queues, now)
        return None if wake < 0 else wake

    # ---- state --------------------------------------------------------------------
    def recent_ack_stall(self, now):
        return lib.linkio_recent_ack_stall(self.c_link, now)

    @property
    def in_flight_count(self):
        return lib.linkio_in_flight(self.c_link)

    def stat(self, name):
        return lib.linkio_stat(self.c_link, STAT_INDEX[name])

    @property
    def recoveries_ns(self):
        n = lib.linkio_recoveries(self.c_link, ffi.NULL, 0)
        out = ffi.new("int64_t[]", max(n, 1))
        lib.linkio_recoveries(self.c_link, out, n)
        return list(out[0:n])

    def __getattr__(self, name):
        # the counters, as the model has them: blocks, bytes_sent, ...
        if name in STAT_INDEX:
            return self.stat(name)
        raise AttributeError(name)
