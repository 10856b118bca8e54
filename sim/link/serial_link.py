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
Received data comes in through `receive(data)` (from the tty kworker,
or straight into the C link's receive buffer from its native program);
responses other than acks go to `on_response(name, args)` (the serialhdl
thread model), trsync reports too (the host's trsync handler reads them).

The queues, move slots, release, encoding and the planning of a send
(which blocks, the window, the hold-back) are MessageQueues' (queues.py,
in C); the per-block bookkeeping (the wire, the blocks in flight, acks,
naks, RTT/RTO, retransmits, the clock-query pairing, the wake-up time,
the counters) is LinkIO's (linkio.py, in C). This module keeps the
thread, the Block objects the MCU node reads, the decoding of responses
and what it learns from the messages it sends and receives.

The thread's common wake (acks and responses only, no retransmit due)
runs as a native program (chelper/src/serialq_prog.c) once the first
step finds the set-up allows it (_go_native), and its commit too when
the blocks carry timed motion the node's C arrival takes; _loop/_commit
stay its reference and take every other wake or commit (_resume). Blocks the native program sent get their Block objects only
when Python needs them (_sync: in_flight, a hand-back, the node's).
"""
from collections import deque

from ...chelper import msgblock
from ...chelper._chelper import ffi, lib
from .faults import LineFaults
from .linkio import STAT_INDEX, LinkIO
from .messages import MIN_CLOCK_SPAN, Message, classify, scheduled_clock
from .native_responses import NativeResponses, ResponseInbox
from .queues import _PUSH_ERRORS, MessageQueues, StepRun

WINDOW_RECHECK_NS = 250_000_000   # (chelper/src/linkio.c keeps the rules)
MIN_REQTIME_DELTA = 0.100
SYNC = bytes((msgblock.MESSAGE_SYNC,))
TRSYNC_NOTED = frozenset(("trsync_start", "trsync_set_timeout"))   # see _note_trsync
NEVER = 1 << 62                   # (serialq_prog.c's too)
POINT_COMMIT = 1                  # serialq_prog.c: Python commits what C planned
_next_wake = lib.linkio_next_wake


def _c_counter(name):
    index = STAT_INDEX[name]
    return property(lambda self: lib.linkio_stat(self._c, index))


class LinkStats:
    """A link's counters: what the C link counts (blocks, bytes_sent,
    retransmits on RTO, nak_retransmits, max_unacked_bytes: most block
    bytes awaiting an ack at once, bytes_retransmitted, recoveries_ns: per
    resent block acked, first send to ack), bad_blocks (received blocks
    dropped: CRC, framing, or undecodable), and what Python counts:
    messages queued, mcu_rx_lost (bytes the MCU lost to a full receive
    buffer, set by the MCU node)."""
    NAMES = ("blocks", "bytes_sent", "retransmits", "nak_retransmits", "max_unacked_bytes",
             "bytes_retransmitted", "recoveries_ns", "bad_blocks", "messages", "mcu_rx_lost")
    blocks = _c_counter("blocks")
    bytes_sent = _c_counter("bytes_sent")
    retransmits = _c_counter("retransmits")
    nak_retransmits = _c_counter("nak_retransmits")
    max_unacked_bytes = _c_counter("max_unacked_bytes")
    bytes_retransmitted = _c_counter("bytes_retransmitted")

    def __init__(self, link):
        self.link = link
        self._c = link.c_link
        self.messages = 0
        self.mcu_rx_lost = 0
        self.undecodable = 0

    @property
    def recoveries_ns(self):
        return self.link.recoveries_ns

    @property
    def bad_blocks(self):
        return self.link.stat("bad_blocks") + self.undecodable

    def snapshot(self):
        """The counters as plain values."""
        return {name: getattr(self, name) for name in LinkStats.NAMES}

    def __reduce__(self):          # (pickles as its values, without the C link)
        return _stats_from, (self.snapshot(),)


def _stats_from(values):
    from types import SimpleNamespace
    return SimpleNamespace(**values)


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
        self.wire = wire           # its transport and byte time (LinkIO keeps the line busy)
        self.costs = costs
        self.heater_oids = heater_oids
        self.on_response = on_response
        self.record = record       # list collecting (name, args) sent, or None
        self.delta_ticks = int(MIN_REQTIME_DELTA * clock.freq)
        self.queues = MessageQueues(dictionary)
        self.move_count = move_count
        self.pin_oids = set()
        self.link = LinkIO(wire, receive_window, fast_retransmit, self.delta_ticks, clock)
        clock.watch(self.link.sync_clock)
        # (the wake-up planning call made straight, without LinkIO's wrapper)
        self._c_link, self._c_queues = self.link.c_link, self.queues.c_queues
        self._in_flight = deque()  # the Blocks awaiting an ack (in_flight), as the C link's
        self._first = ffi.new("int32_t *")
        self._prog = None          # the native program (serialq_prog.c), once attached
        self._native_checked = False
        self._resp_signal = None   # on_response's signal, when native_inbox was asked
        self._responses = None     # NativeResponses, once native_inbox was asked
        self.trsync_start = {}
        self.trsync_timeout = {}
        self.trsync_floor = {}     # oid -> clock of the latest report of this arming
        self.stats = LinkStats(self.link)
        self.faults = faults or LineFaults(None)
        self.tty_out = None        # TtyWorker carrying host writes (pseudo-tty)
        self._planned_wake = 0
        self._speed = host.speed
        self.signal = host.sched.signal("serialq " + name)
        self.thread = host.spawn_role("serialq", ("serialq " + name)[:15], self._resume,
                                      at=self.kernel.now + 1)

    # ---- from the main thread ----------------------------------------------
    def set_host_seq(self, seq):
        self.link.set_send_seq(seq)

    def enqueue(self, messages):
        """Messages from a completed main-thread burst, in send order:
        (name, args, req_clock, min_clock) tuples and StepRuns."""
        if len(messages) == 1 and messages[0].__class__ is StepRun \
                and self.queues._slots_ready:
            self._enqueue_run(messages[0])
        else:
            self._enqueue(messages)

    def _enqueue(self, messages):
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

    def _enqueue_run(self, run):
        """enqueue of one StepRun, the common burst, in one C call
        (linkio_enqueue_steps: the same queueing and the same test of
        whether to wake the thread)."""
        post = lib.linkio_enqueue_steps(self._c_link, self._c_queues,
                                        ffi.from_buffer("struct ss_message[]", run.raw),
                                        run.count, self.kernel.now, self.planned_wake)
        if post < 0:
            raise ValueError("serial queue: %s" % _PUSH_ERRORS.get(post, post))
        if self.record is not None:
            self.record.extend((name, args) for name, args, _r, _m in run.messages())
        self.stats.messages += run.count
        if post:
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
        """A received chunk (into the C link's receive buffer; the tty
        kworker's native program does the same from C)."""
        self.link.receive(data)
        self.signal.post()

    # ---- the thread -----------------------------------------------------------
    def _resume(self):
        """The thread's Python step at a wake (the native program hands
        wakes it does not take here: the whole wake, or at point 1 the
        commit of what it planned)."""
        prog = self._prog
        if prog is not None and prog.point == POINT_COMMIT:
            self._sync()        # (_loop's own path syncs in _loop)
            responses = () if self._responses is None else self._responses.take(1)
            self._commit(self.link.plan(self.queues, self.kernel.now), responses)
            return
        if not self._native_checked:
            self._go_native()
        self._loop()

    def _loop(self):
        now = self.kernel.now
        # every chunk received since the last look, each read on its own:
        # acks in C; the Blocks they free (_sync), and the responses, here
        _acked, payloads, chunks = self.link.input_all(now)
        self._sync()
        responses = []
        if payloads:
            self._decode(payloads, responses)
        plan = self.link.plan(self.queues, now)
        c = self.costs
        cost = c.serialq_wake_ns + c.serialq_block_ns * (len(plan) + chunks)
        if plan:
            cost += c.serialq_message_ns * self.queues.planned_messages
        # (HostCPU.cost_ns inlined: the same rounding of the same quotient)
        self.thread.compute(round(cost / self._speed), lambda: self._commit(plan, responses))

    def _commit(self, plan, responses):
        """(The Blocks are in step with the C link: _loop or _resume synced
        them, and only this thread's native program sends.)"""
        now = self.kernel.now
        mask = 0
        for i, block in enumerate(plan):
            if block.generic and self._note_generic(block.generic):
                mask |= 1 << i
        arrivals, kind, retx_arrival, _nbytes = self.link.commit(now, mask)
        self._in_flight.extend(plan)
        # each block whole over the wire, or its bytes (pseudo-tty, faults)
        whole = self.tty_out is None and not self.faults.active
        deliver = self.node.deliver_block if whole else None
        for block, arrival in zip(plan, arrivals):   # (sent by C: to the MCU at arrival)
            block.sent_ns = arrival
            if whole:
                deliver(arrival, block)
            else:
                frame = block.frame
                self._to_mcu(arrival,
                             self.faults.apply(frame) if self.faults.active else frame,
                             [block])
        if kind:
            self._retransmit(retx_arrival)
        for name, args in responses:
            self.on_response(name, args)
        wake = _next_wake(self._c_link, self._c_queues, now)    # (LinkIO.next_wake)
        if wake < 0:
            self.planned_wake = NEVER
            self.thread.wait(self.signal, self._resume)
        else:
            self.planned_wake = wake
            self.thread.wait(self.signal, self._resume, until=wake)

    # ---- the native program and the Blocks it sent -----------------------------
    def _go_native(self):
        """Give the thread its native program (serialq_prog.c) when its
        wakes can run in C: the C kernel, the MCU node's C arrival, no
        pseudo-tty, no line faults, integer costs. Called in the first
        step, whose commit stays Python's."""
        self._native_checked = True
        c, node = self.costs, self.node
        vs = getattr(self.kernel, "_vs", None)
        costs = (c.serialq_wake_ns, c.serialq_block_ns, c.serialq_message_ns)
        if (vs is None or self.tty_out is not None or self.faults.active
                or not getattr(node, "_fast", False)
                or any(type(v) is not int for v in costs)):
            return
        prog = ffi.gc(lib.serialq_prog_new(), lib.serialq_prog_free)
        prog.k = vs
        prog.signal = self.signal.id
        prog.speed = self._speed
        prog.wake_ns, prog.block_ns, prog.message_ns = costs
        prog.l, prog.q = self._c_link, self._c_queues
        self.queues.point_program(prog, self.link._first_seq)
        prog.node, prog.deliver, prog.can_take = node.c_arrival()
        prog.planned_wake = self._planned_wake
        if self._resp_signal is not None:
            prog.resp, prog.resp_signal = self._responses.c, self._resp_signal.id
        self._prog = prog
        node._ring_source = self._sync
        lib.serialq_prog_attach(prog, self.thread.index, 1)

    def native_inbox(self, items, signal):
        """The inbox on_response appends to (items, a deque) made one the
        native program's responses reach too (ResponseInbox), and the
        signal on_response posts, which the program posts for them."""
        self._resp_signal = signal
        self._responses = NativeResponses(self.dictionary, self.wire.byte_ns)
        return ResponseInbox(items, self._responses)

    @property
    def planned_wake(self):
        prog = self._prog
        return self._planned_wake if prog is None else prog.planned_wake

    @planned_wake.setter
    def planned_wake(self, value):
        self._planned_wake = value
        if self._prog is not None:
            self._prog.planned_wake = value

    @property
    def in_flight(self):
        """The Blocks awaiting an ack, oldest first."""
        self._sync()
        return self._in_flight

    def _sync(self):
        """The Blocks catch up with the C link: those acknowledged leave,
        those the native program sent get their Block (linkio_py_sync)."""
        link = self._c_link
        blocks = self._in_flight
        for _ in range(lib.linkio_py_sync(link, self._first)):
            blocks.popleft()
        first, count = self._first[0], lib.linkio_in_flight(link)
        if first < count:
            for i in range(first, count):
                blocks.append(self.queues.sent_block(link, i, self.node))
            lib.linkio_py_took(link)

    # ---- input -------------------------------------------------------------------
    def _decode(self, payloads, out):
        """The responses of received blocks ((payload, acked count when
        read) from LinkIO.input), appended to out as (name, args)."""
        for payload, snap in payloads:
            try:
                decoded = self.dictionary.decode(payload, "response")
            except ValueError:
                self.stats.undecodable += 1
                continue
            for name, args in decoded:
                if name == "trsync_state":     # read here, and by the host too
                    self._fastread_trsync(args)
                if name == "clock":
                    sent_ns = self.link.clock_query_sent(snap)
                    if sent_ns:
                        # sent/received times for the clock regression (FACTS
                        # 2.5: receive time = read time - the block's wire time)
                        args = dict(args, sent_ns=sent_ns,
                                    received_ns=self.kernel.now
                                    - (len(payload) + msgblock.MESSAGE_MIN) * self.wire.byte_ns)
                out.append((name, args))

    def recent_ack_stall(self, now):
        """The longest of the recent ack stalls (data ready, but 12 blocks
        in flight or the receive window full until an ack came), or the
        one going on (ns)."""
        return self.link.recent_ack_stall(now)

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
    def _note_generic(self, messages):
        """What the thread learns from the messages a block sends; True
        if one is a get_clock (its reply is paired with this send)."""
        query = False
        for msg in messages:
            if msg.name in TRSYNC_NOTED:
                self._note_trsync(msg)
            elif msg.name == "get_clock":
                query = True
        return query

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

    def _retransmit(self, arrival):
        """RTO expired or a nak came (the C link decided and counted it):
        every unacknowledged block again, after a sync byte."""
        blocks = self.in_flight
        data = SYNC + b"".join(b.frame for b in blocks)
        self._to_mcu(arrival, self.faults.apply(data), list(blocks))

    @property
    def idle(self):
        return not self.in_flight and not len(self.queues)
