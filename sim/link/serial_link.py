"""The serial link between the simulated host and one firmware instance:
Klipper's serialqueue (host side, a C thread) and the wire.

Contract: `SerialQueue(...)` is one MCU's host-side transport. The main
thread hands it messages with `enqueue([(name, args, req_clock,
min_clock)])` when a burst completes; its own VThread (role "serialq",
C: no GIL) packs and transmits them by Klipper's rules (KLIPPER-FACTS
2.5, our reading, written from the facts, not from serialqueue.c):
- each object's messages form one command queue (FIFO); a message waits
  in "upcoming" until the estimated MCU clock at which a block sent now
  would be acknowledged passes its min_clock, then it is "ready";
- a block (payload <= 59 bytes) is built from ready queue heads, lowest
  req_clock first, and sent when ready bytes fill a block or some ready
  message is due within MIN_REQTIME_DELTA (0.100 s); req_clock 0 means
  now; otherwise the thread sleeps until the earliest such moment;
- at most MAX_PENDING_BLOCKS (12) blocks are unacknowledged; acks (empty
  blocks from the firmware) free them; RTT/RTO as RFC 6298 with the
  constants of FACTS 2.5 (first srtt = 10 x sample); on RTO every
  unacknowledged block is resent, prefixed with a sync byte;
- flow control by the MCU's receive window (`receive_window` bytes, the
  dictionary's RECEIVE_WINDOW on a UART; None: no window): no new block
  while the unacknowledged bytes + MESSAGE_MAX (+ the block acknowledged
  last, while only a response and not yet its ack has named it) exceed
  the window; looked at again on the next ack or after WINDOW_RECHECK_NS;
- fast retransmit on a nak (FACTS 2.5, docs/Protocol.md): an empty block
  whose sequence is not newer than the last ack's and is above
  ignore_nak_seq resends every unacknowledged block at once (no RTO
  back-off); the seq bookkeeping allows at most two nak-triggered
  resends per burst; `fast_retransmit=False` leaves recovery to the RTO;
- the wire is a UART at `baud` (10 bits per byte), USB full speed
  (bytes leave at the next 1 ms frame) or a pseudo-tty (no wire time;
  with `tty_out` set, host writes pass the kernel's tty worker too); `faults` (LineFaults) damages
  bytes on their way to the MCU, and received data is resynchronised
  on sync bytes after a damaged block;
- steppersync's move-slot rule (FACTS 2.5): queue_step messages take a
  slot of the MCU move queue (move_count minus one per digital-out pin);
  a message's min_clock is replaced by the earliest slot-free clock and the
  slot is refilled with the message's own req_clock;
- the trsync "fastreader" runs in this thread: each trsync_state report
  of an armed trsync is answered with trsync_set_timeout (report clock +
  the timeout the host set), as Klipper's trdispatch does, until the
  host sends trsync_trigger for it (its trdispatch_stop);
Received data comes in through `receive(data)` (from the tty kworker);
responses other than acks go to `on_response(name, args)` (the serialhdl
thread model), trsync reports too (the host's trsync handler reads them).

The queues, move slots, release, encoding and the planning of a send
(which blocks, the window, the hold-back) are MessageQueues' (queues.py,
in C); this module keeps the thread, acks, retransmits and what it
learns from the messages it sends and receives.
"""
from collections import deque

from ...chelper import msgblock
from .acks import LinkSeqs, RttEstimator
from .faults import LineFaults
from .messages import MIN_CLOCK_SPAN, Message, classify, scheduled_clock
from .queues import MESSAGE_MAX, MessageQueues, StepRun
from .reader import split_blocks_tolerant

MAX_PENDING_BLOCKS = 12
WINDOW_RECHECK_NS = 250_000_000   # window full: look again (FACTS 2.5)
ACK_STALLS_KEPT = 20              # recent ack stalls kept for the blame
MIN_REQTIME_DELTA = 0.100
SYNC = bytes((msgblock.MESSAGE_SYNC,))
TRSYNC_NOTED = frozenset(("trsync_start", "trsync_set_timeout"))   # see _note_trsync


class LinkStats:
    def __init__(self):
        self.blocks = 0
        self.bytes_sent = 0
        self.retransmits = 0      # on RTO
        self.nak_retransmits = 0  # fast retransmits on a nak
        self.max_unacked_bytes = 0   # most block bytes awaiting an ack at once
        self.recoveries_ns = []   # per resent block acked: first send to ack
        self.bytes_retransmitted = 0
        self.messages = 0
        self.bad_blocks = 0       # received blocks dropped (CRC, framing)
        self.mcu_rx_lost = 0      # bytes the MCU lost to a full receive buffer


class SerialQueue:
    def __init__(self, host, name, dictionary, clock, node, wire, costs,
                 move_count, heater_oids, on_response, record=None, faults=None,
                 receive_window=None, fast_retransmit=True):
        self.host = host
        self.kernel = host.kernel
        self.name = name
        self.dictionary = dictionary
        self.clock = clock
        self.node = node
        self.wire = wire
        self.costs = costs
        self.heater_oids = heater_oids
        self.on_response = on_response
        self.record = record       # list collecting (name, args) sent, or None
        self.delta_ticks = int(MIN_REQTIME_DELTA * clock.freq)
        self.queues = MessageQueues(dictionary)
        self.ready_bytes = 0       # bytes of the released messages of all queues
        self.move_count = move_count
        self.pin_oids = set()
        self.in_flight = deque()
        self.send_seq = 0
        self.rtt = RttEstimator()
        self.rto_deadline = None
        self.receive_window = receive_window
        self.fast_retransmit = fast_retransmit
        self.seqs = LinkSeqs()
        self.nak_due = False       # a nak asked for a fast retransmit
        self.window_full = False   # the last plan stopped at the window
        self.ack_stall_since = None  # data ready, nothing may leave until an ack
        self.ack_stalls = deque(maxlen=ACK_STALLS_KEPT)  # ns of recent ack stalls
        self.rx = []               # received chunks not processed yet
        self.clock_queries = deque()   # blocks that carried a get_clock, in order
        self.trsync_start = {}
        self.trsync_timeout = {}
        self.trsync_floor = {}     # oid -> clock of the latest report of this arming
        self.stats = LinkStats()
        self.faults = faults or LineFaults(None)
        self.tty_out = None        # TtyWorker carrying host writes (pseudo-tty)
        self.planned_wake = 0
        self.signal = host.sched.signal("serialq " + name)
        self.thread = host.spawn_role("serialq", ("serialq " + name)[:15], self._loop,
                                      at=self.kernel.now + 1)

    # ---- from the main thread ----------------------------------------------
    def set_host_seq(self, seq):
        self.send_seq = seq

    def enqueue(self, messages):
        """Messages from a completed main-thread burst, in send order:
        (name, args, req_clock, min_clock) tuples and StepRuns."""
        first_req, count = self.queues.add(messages, self.kernel.now,
                                           self._generic_message, self._slot_count)
        if self.record is not None:
            for m in messages:
                if m.__class__ is StepRun:
                    self.record.extend((name, args) for name, args, _r, _m in m.messages())
                else:
                    self.record.append((m[0], m[1]))
        self.stats.messages += count
        if first_req is not None and (
                first_req == 0 or first_req - self.delta_ticks
                <= self.clock.clock(self.planned_wake)):
            self.signal.post()

    def _slot_count(self):
        """queue_step takes a slot of the MCU move queue (FACTS 2.5):
        move_count minus one per digital-out pin."""
        return max(1, self.move_count - len(self.pin_oids))

    def _generic_message(self, name, args, req_clock, min_clock, queued_ns):
        """The Message kept for anything but the motion bulk."""
        if min_clock + MIN_CLOCK_SPAN < req_clock:
            # keeps the 32-bit MCU clock unambiguous (FACTS 2.5)
            min_clock = req_clock - MIN_CLOCK_SPAN
        elif name == "config_digital_out":
            self.pin_oids.add(args["oid"])
        elif name == "trsync_trigger":     # the host stops the trsync: stop extending it
            self.trsync_start.pop(args["oid"], None)
            self.trsync_timeout.pop(args["oid"], None)
        sched = scheduled_clock(name, args, req_clock, self.clock.clock(queued_ns))
        return Message(name, args, None, req_clock, min_clock, sched,
                       classify(name, args, self.heater_oids), queued_ns)

    # ---- from the kworker -----------------------------------------------------
    def receive(self, data):
        self.rx.append(data)
        self.signal.post()

    # ---- the thread -----------------------------------------------------------
    def _loop(self):
        t = self.thread
        rx, self.rx = self.rx, []
        responses = []
        for data in rx:
            responses.extend(self._handle_input(data))
        plan = self._plan_sends()
        self._note_ack_stall()
        c = self.costs
        nmsgs = sum(b.count for b in plan)
        cost = (c.serialq_wake_ns + c.serialq_block_ns * (len(plan) + len(rx))
                + c.serialq_message_ns * nmsgs)
        t.compute(self.host.cost_ns(cost), lambda: self._commit(plan, responses))

    def _commit(self, plan, responses):
        now = self.kernel.now
        for block in plan:
            self._transmit(block, now)
        if self.nak_due and self.in_flight:
            self._retransmit(now, nak=True)
        elif self.rto_deadline is not None and now >= self.rto_deadline:
            self._retransmit(now)
        self.nak_due = False
        for name, args in responses:
            self.on_response(name, args)
        wake = self._next_wake(now)
        self.planned_wake = wake if wake is not None else 1 << 62
        self.thread.wait(self.signal, self._loop, until=wake)

    # ---- input -------------------------------------------------------------------
    def _handle_input(self, data):
        out = []
        for seq, payload in split_blocks_tolerant(data, self.stats):
            self._ack(seq, not payload)
            if not payload:
                continue
            try:
                decoded = self.dictionary.decode(payload, "response")
            except ValueError:
                self.stats.bad_blocks += 1
                continue
            for name, args in decoded:
                if name == "trsync_state":     # read here, and by the host too
                    self._fastread_trsync(args)
                if name == "clock":
                    sent_ns = self._clock_query_sent()
                    if sent_ns:
                        # sent/received times for the clock regression (FACTS
                        # 2.5: receive time = read time - the block's wire time)
                        args = dict(args, sent_ns=sent_ns,
                                    received_ns=self.kernel.now
                                    - (len(payload) + msgblock.MESSAGE_MIN) * self.wire.byte_ns)
                out.append((name, args))
        return out

    def _clock_query_sent(self):
        """When the get_clock this reply answers left the host, or 0.

        Klipper pairs a reply with the time its own request was sent
        (FACTS 2.4/2.5), so a lost reply loses one sample and never shifts
        later pairs.  The reply answers the newest query the MCU had
        received: the newest query block acknowledged by now (acks are
        read before the block's messages).  Older acknowledged queries
        lost their replies.  A retransmitted query block has no single
        send time: Klipper then gives sent_time 0 and takes no sample."""
        newest = None
        queries = self.clock_queries
        while queries and queries[0] not in self.in_flight:
            newest = queries.popleft()
        if newest is None or newest.retransmitted:
            return 0
        return newest.sent_ns

    def _ack(self, seq, empty):
        """Every block before `seq` arrived (seq names the next expected);
        an empty block (ack or nak) not naming a newer one is a nak."""
        count = 0
        if self.in_flight:
            count = (seq - self.in_flight[0].seq) & msgblock.MESSAGE_SEQ_MASK
            if count > len(self.in_flight):
                return                 # names a block never sent: ignore
        if count:
            self._acked(count)
        if empty and self.seqs.empty_block(self.in_flight) and self.fast_retransmit:
            self.nak_due = True

    def _acked(self, count):
        now = self.kernel.now
        freed = 0
        for _ in range(count):
            block = self.in_flight.popleft()
            freed += len(block.frame)
            if block.retransmitted:
                self.stats.recoveries_ns.append(now - block.sent_ns)
        self.seqs.acked(count, freed, len(block.frame))
        if self.ack_stall_since is not None:
            self.ack_stalls.append(now - self.ack_stall_since)
            self.ack_stall_since = None
        if not block.retransmitted:
            self.rtt.sample(now - block.sent_ns)
        self.rto_deadline = now + self.rtt.rto_ns if self.in_flight else None

    def _note_ack_stall(self):
        """Start an ack stall when data is ready but 12 blocks are in flight
        or the receive window is full (acks come back through the tty
        kworker, FACTS 8: blame follows them there)."""
        blocked = self.window_full or len(self.in_flight) >= MAX_PENDING_BLOCKS
        if blocked and self.ready_bytes and self.ack_stall_since is None:
            self.ack_stall_since = self.kernel.now

    def recent_ack_stall(self, now):
        """The longest of the recent ack stalls, or the one going on (ns)."""
        ongoing = [now - self.ack_stall_since] if self.ack_stall_since is not None else []
        return max(list(self.ack_stalls) + ongoing, default=0)

    def _fastread_trsync(self, args):
        oid = args["oid"]
        floor = self.trsync_floor.get(oid)
        if floor is not None and (args["clock"] - floor) & 0xFFFFFFFF >= 1 << 31:
            return      # a report of the previous arming, sent before the new start
        self.trsync_floor[oid] = args["clock"]   # (32-bit: compare with recent clocks)
        if args["can_trigger"] and oid in self.trsync_timeout:
            clock = (args["clock"] + self.trsync_timeout[oid]) & 0xFFFFFFFF
            self.enqueue([("trsync_set_timeout", {"oid": oid, "clock": clock}, 0, 0)])

    def _note_trsync(self, msg):
        args = msg.args
        if msg.name == "trsync_start":      # a new arming: learn its timeout again
            self.trsync_start[args["oid"]] = args["report_clock"]
            self.trsync_floor[args["oid"]] = args["report_clock"]
            self.trsync_timeout.pop(args["oid"], None)
        elif msg.name == "trsync_set_timeout" and args["oid"] in self.trsync_start \
                and args["oid"] not in self.trsync_timeout:
            self.trsync_timeout[args["oid"]] = (args["clock"] - self.trsync_start[args["oid"]]) \
                & 0xFFFFFFFF

    # ---- output ------------------------------------------------------------------
    def _ack_clock(self, now):
        """MCU clock at which a block written now would be acknowledged."""
        return self.clock.clock(max(now, self.wire.idle_ns) + MESSAGE_MAX * self.wire.byte_ns)

    def _plan_sends(self):
        """The blocks to send now (MessageQueues.plan: release, the 12
        block limit, the receive window, the MIN_REQTIME_DELTA hold-back)."""
        ack_clock = self._ack_clock(self.kernel.now)
        plan, self.window_full = self.queues.plan(
            ack_clock, self.delta_ticks, MAX_PENDING_BLOCKS, len(self.in_flight),
            self.receive_window, self.seqs.window_need(), self.send_seq)
        self.send_seq = (self.send_seq + len(plan)) & msgblock.MESSAGE_SEQ_MASK
        self.ready_bytes = self.queues.ready_bytes()
        return plan

    def _transmit(self, block, now):
        arrival = self.wire.send(now, len(block.frame))
        for msg in block.generic:
            if msg.name in TRSYNC_NOTED:
                self._note_trsync(msg)
            elif msg.name == "get_clock":
                self.clock_queries.append(block)   # sent_ns: transmit-complete time
        block.sent_ns = arrival
        self.in_flight.append(block)
        self.seqs.sent(len(block.frame))
        self.stats.max_unacked_bytes = max(self.stats.max_unacked_bytes,
                                           self.seqs.unacked_bytes)
        self.stats.blocks += 1
        self.stats.bytes_sent += len(block.frame)
        if self.rto_deadline is None:
            self.rto_deadline = arrival + self.rtt.rto_ns
        self._to_mcu(arrival, self.faults.apply(block.frame), [block])

    def _to_mcu(self, arrival, data, blocks):
        """Written bytes reach the MCU: over the wire, or for a pseudo-tty
        through the kernel's flip-buffer worker first (FACTS 8)."""
        if self.tty_out is None:
            self.node.deliver(arrival, data, blocks)
            return

        def passed_on(d):
            for block in blocks:
                block.tty_ns = self.kernel.now
            self.node.deliver(self.kernel.now, d, blocks)
        self.tty_out.push(data, passed_on)

    def _retransmit(self, now, nak=False):
        """RTO expired (back off) or a nak came: resend every
        unacknowledged block."""
        if nak:
            self.stats.nak_retransmits += 1
        else:
            self.rtt.back_off()
            self.stats.retransmits += 1
        self.seqs.retransmitted(nak)
        data = SYNC + b"".join(b.frame for b in self.in_flight)
        arrival = self.wire.send(now, len(data))
        for block in self.in_flight:
            block.retransmitted = True
        self.stats.bytes_retransmitted += len(data)
        self.rto_deadline = arrival + self.rtt.rto_ns
        self._to_mcu(arrival, self.faults.apply(data), list(self.in_flight))

    def _next_wake(self, now):
        """When the thread must look again without being kicked (None:
        only a kick: new messages or received data)."""
        candidates = []
        if self.rto_deadline is not None:
            candidates.append(self.rto_deadline)
        if self.window_full:       # (an ack kicks the thread sooner)
            candidates.append(now + WINDOW_RECHECK_NS)
        elif len(self.in_flight) < MAX_PENDING_BLOCKS:
            # time_ns is non-decreasing (positive frequency; its float steps
            # round monotonically), so the earliest clock gives the earliest
            # time: one conversion
            due = self.queues.next_due(self.delta_ticks)
            if due is not None:
                candidates.append(self.clock.time_ns(due) - MESSAGE_MAX * self.wire.byte_ns)
        if not candidates:
            return None
        return max(now + 1, min(candidates))

    @property
    def idle(self):
        return not self.in_flight and not len(self.queues)
