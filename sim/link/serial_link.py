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
"""
from collections import deque

from ...chelper import msgproto
from ...chelper._chelper import ffi, lib
from ...chelper.blockcodec import _int_maker
from .faults import LineFaults

PAYLOAD_MAX = msgproto.MESSAGE_PAYLOAD_MAX       # 59
MESSAGE_MAX = msgproto.MESSAGE_MAX               # 64
MAX_PENDING_BLOCKS = 12
WINDOW_RECHECK_NS = 250_000_000   # window full: look again (FACTS 2.5)
ACK_STALLS_KEPT = 20              # recent ack stalls kept for the blame
MIN_REQTIME_DELTA = 0.100
MIN_RTO_NS = 25_000_000
MAX_RTO_NS = 5_000_000_000
SYNC = bytes((msgproto.MESSAGE_SYNC,))
USB_FRAME_NS = 1_000_000
TRANSPORTS = ("uart", "usb", "pty")
USB_BYTE_NS = 700            # 12 Mbit/s with protocol overhead (estimate)

MOTION, HEATER, PINS, HOMING = "motion", "heater_pwm", "pins", "homing"
CLASSES = (MOTION, HEATER, PINS, HOMING)
MOTION_MSGS = frozenset(("queue_step", "set_next_step_dir", "reset_step_clock"))
MIN_CLOCK_SPAN = 3 << 29     # serialqueue_send_batch: min_clock >= req - this
CLOCK_DIFF_MAX = 3 << 28     # stepcompress.c: far single steps (FACTS 2.6)
UNTIMED_MOTION = frozenset(("set_next_step_dir", "reset_step_clock"))
TRSYNC_NOTED = frozenset(("trsync_start", "trsync_set_timeout"))   # see _note_trsync
HOMING_MSGS = frozenset(("endstop_home", "trsync_start", "trsync_set_timeout",
                         "stepper_stop_on_trigger", "trsync_trigger"))


class Wire:
    """One direction of the link: when bytes written at t arrive."""

    def __init__(self, transport, baud):
        if transport not in TRANSPORTS:
            raise ValueError("transport must be one of %s" % ", ".join(TRANSPORTS))
        self.transport = transport
        self.byte_ns = {"uart": 10 * 10 ** 9 // baud, "usb": USB_BYTE_NS,
                        "pty": 0}[transport]
        self.idle_ns = 0          # the line is busy until then

    def send(self, now, nbytes):
        start = max(now, self.idle_ns)
        if self.transport == "usb":
            start = -(-start // USB_FRAME_NS) * USB_FRAME_NS
        self.idle_ns = start + nbytes * self.byte_ns
        return self.idle_ns


class Message:
    __slots__ = ("name", "args", "data", "req_clock", "min_clock", "sched", "klass",
                 "queued_ns")

    def __init__(self, name, args, data, req_clock, min_clock, sched, klass, queued_ns=0):
        self.name = name
        self.args = args
        self.data = data
        self.req_clock = req_clock
        self.min_clock = min_clock
        self.sched = sched        # MCU clock the command acts at, or None
        self.klass = klass
        self.queued_ns = queued_ns   # when the host handed it to the queue


class Block:
    """One framed block and what it carries. `generic` are the Message
    objects the host keeps (everything but the motion bulk); `motion`
    summarises the timed queue_steps held in C (count, lowest scheduled
    clock, highest last-step clock) or is None; `messages` lists every
    message in block order (built on first use from the C records)."""
    __slots__ = ("seq", "frame", "count", "generic", "motion", "_records", "_messages",
                 "sent_ns", "retransmitted", "arrived", "tty_ns")

    def __init__(self, seq, frame, messages, motion=None, records=None):
        self.seq = seq
        self.frame = frame
        self.count = len(records) // (8 * RECORD_INTS) if records is not None \
            else len(messages)       # messages carried
        self.generic = messages
        self.motion = motion
        self._records = records      # linkq_build's records (bytes), or None
        self._messages = None if records is not None else messages
        self.sent_ns = 0
        self.tty_ns = 0              # pseudo-tty: when the kworker passed it on
        self.retransmitted = False
        self.arrived = False

    @property
    def messages(self):
        if self._messages is None:
            self._messages = _block_messages(self._records, self.generic)
        return self._messages


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


# linkq_push record kinds (chelper/src/linkq.h) and the motion messages
# held in C: name -> (kind, parameter keys after the oid)
GENERIC = 0
C_HELD = {"queue_step": (1, ("interval", "count", "add")),
          "set_next_step_dir": (2, ("dir",)),
          "reset_step_clock": (3, ("clock",))}
KIND_NAMES = {kind: (name, ("oid",) + keys) for name, (kind, keys) in C_HELD.items()}
RECORD_INTS = 10          # LINKQ_RECORD_INTS
NO_CLOCK = -(1 << 63)     # linkq's "no scheduled clock"
_PUSH_ERRORS = {-1: "out of memory", -2: "message too large for a block",
                -3: "bad command queue (oid)", -4: "bad record"}


def _block_messages(records, generic):
    """Every message of a block in order: the kept Message objects, and
    for motion messages held in C, Messages rebuilt from their records
    (tag, kind, req_clock, min_clock, sched, queued_ns, oid, params...)."""
    out, kept = [], iter(generic)
    values = memoryview(records).cast("q").tolist()
    for i in range(0, len(values), RECORD_INTS):
        r = values[i:i + RECORD_INTS]
        if r[1] == GENERIC:
            out.append(next(kept))
            continue
        name, keys = KIND_NAMES[r[1]]
        args = dict(zip(keys, r[6:6 + len(keys)]))
        sched = None if r[4] == NO_CLOCK else r[4]
        out.append(Message(name, args, None, r[2], r[3], sched, MOTION, r[5]))
    return out


class MessageQueues:
    """The command queues of one MCU, held in C (chelper/src/linkq.c):
    each object's messages in FIFO order, their release once min_clock
    passed, and blocks built from the ready heads, lowest req_clock
    first. Messages other than the motion bulk stay Python objects,
    named by a tag; `build` hands them back in the Block."""

    def __init__(self, dictionary):
        self.dictionary = dictionary
        self._q = ffi.gc(lib.linkq_new(), lib.linkq_free)
        self._makers = {}          # message name -> f(args) -> (n, id, params...)
        self._held = {}            # tag -> Message, until built into a block
        self._next_tag = 0
        self._c_ids = {}           # C-held motion name -> message id
        for name, (kind, keys) in C_HELD.items():
            try:
                mf = dictionary.lookup(name)
            except KeyError:
                continue           # (sending one then fails as it would anyway)
            if tuple(mf.keys) != ("oid",) + keys or mf.enum_names:
                raise ValueError("dictionary: %s has parameters %s, expected oid %s"
                                 % (name, " ".join(mf.keys), " ".join(keys)))
            self._c_ids[name] = mf.msgid
        self._slots_ready = False
        self._frame = ffi.new("uint8_t[]", MESSAGE_MAX)
        self._records = ffi.new("int64_t[]", RECORD_INTS * PAYLOAD_MAX)
        self._tags = ffi.new("int32_t[]", PAYLOAD_MAX)
        self._summary = ffi.new("int64_t[]", 5)
        self._first_req = ffi.new("int64_t *")
        self._due = ffi.new("int64_t *")

    def add(self, messages, queued_ns, generic, slot_count):
        """Queue (name, args, req_clock, min_clock) messages in order.
        generic(name, args, req_clock, min_clock, queued_ns) makes the
        Message kept for anything but the motion bulk; slot_count() sizes
        the move-slot heap when the first queue_step needs a slot.
        Returns the lowest req_clock among them (None: no messages)."""
        ints = []
        put = ints.extend
        c_ids = self._c_ids
        qs_id = c_ids.get("queue_step")
        slots_ready = self._slots_ready
        for name, args, req_clock, min_clock in messages:
            if name == "queue_step" and qs_id is not None:   # the bulk
                if min_clock and not slots_ready:
                    lib.linkq_init_slots(self._q, slot_count())
                    slots_ready = self._slots_ready = True
                oid = args["oid"]
                put((1, oid if req_clock else -1, req_clock, min_clock, -1, 5, qs_id, oid,
                     args["interval"], args["count"], args["add"]))
            elif name in c_ids:              # set_next_step_dir, reset_step_clock
                oid = args["oid"]
                kind, (key,) = C_HELD[name]
                put((kind, oid if req_clock else -1, req_clock, min_clock, -1, 3,
                     c_ids[name], oid, args[key]))
            else:
                msg = generic(name, args, req_clock, min_clock, queued_ns)
                # Timed commands use their object's queue; the rest
                # (config, queries) share the MCU's default queue, in order.
                put((GENERIC, args.get("oid", -1) if req_clock else -1, req_clock,
                     msg.min_clock, self._hold(msg)))
                put(self._maker(name)(args))
        if not ints:
            return None
        n = lib.linkq_push(self._q, ffi.new("int64_t[]", ints), len(ints), queued_ns,
                           self._first_req)
        if n < 0:
            raise ValueError("serial queue: %s" % _PUSH_ERRORS.get(n, n))
        return self._first_req[0]

    def _hold(self, msg):
        """A Message kept in Python: its tag for the push record."""
        tag = self._next_tag
        self._next_tag = tag + 1
        self._held[tag] = msg
        return tag

    def _maker(self, name):
        maker = self._makers.get(name)
        if maker is None:
            maker = self._makers[name] = _int_maker(self.dictionary.lookup(name))
        return maker

    def release(self, ack_clock):
        """Release what may go by ack_clock: the ready bytes of all queues."""
        return lib.linkq_release(self._q, ack_clock)

    def first_req(self):
        return lib.linkq_first_req(self._q)

    def build(self, seq):
        """One block of ready messages with sequence `seq`."""
        q, summary = self._q, self._summary
        size = lib.linkq_build(q, seq, self._frame, self._records, self._tags, summary)
        n, timed, ntags = summary[0], summary[1], summary[4]
        tags, held = self._tags, self._held
        generic = [held.pop(tags[i]) for i in range(ntags)]
        motion = (timed, summary[2], summary[3]) if timed else None
        records = ffi.buffer(self._records, 8 * RECORD_INTS * n)[:] if n > ntags else None
        return Block(seq, ffi.buffer(self._frame, size)[:], generic, motion, records)

    def next_due(self, delta_ticks):
        """The earliest MCU clock a queue head needs a look (None: empty)."""
        due = self._due
        return due[0] if lib.linkq_next_due(self._q, delta_ticks, due) else None

    def __len__(self):
        return lib.linkq_pending(self._q)


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


_split_bufs = [0, None, None, None]    # capacity, seqs, starts, bad (reused)


def split_blocks_tolerant(data, stats=None):
    """(seq, payload) of every valid block in received data; after a
    damaged block, skip to the next sync byte (how a host resynchronises
    on the protocol's 0x7E trailer). In C: chelper/src/linkq.c."""
    if not isinstance(data, bytes):
        data = bytes(data)
    cap = len(data) // msgproto.MESSAGE_MIN + 1
    bufs = _split_bufs
    if cap > bufs[0]:
        bufs[:] = [cap, ffi.new("int32_t[]", cap), ffi.new("int64_t[]", cap),
                   ffi.new("int64_t *")]
    _cap, seqs, starts, bad = bufs
    n = lib.linkq_split(data, len(data), seqs, starts, cap, bad)
    if bad[0] and stats is not None:
        stats.bad_blocks += bad[0]
    out = []
    for i in range(n):
        start = starts[i]
        out.append((seqs[i], data[start + 2:start + data[start] - 3]))
    return out


def queue_step_base(args, req_clock):
    """The clock a queue_step counts its first interval from. Normally
    req_clock (the previous step); a single step at least CLOCK_DIFF_MAX
    after the previous one is requested at its own clock (FACTS 2.6)."""
    if args["interval"] >= CLOCK_DIFF_MAX:
        return req_clock - args["interval"]
    return req_clock


def scheduled_clock(name, args, req_clock, now_clock):
    """The MCU clock a command acts at (None: not a timed command).
    queue_step acts at its first step: req_clock (the previous step) plus
    its interval (FACTS 2.6). set_next_step_dir and reset_step_clock act
    when they are processed, in order with their stepper's queue_steps:
    no deadline of their own."""
    if name == "queue_step":
        return queue_step_base(args, req_clock) + args["interval"] if req_clock else None
    if name in UNTIMED_MOTION:
        return None
    if req_clock:
        return req_clock
    clock = args.get("clock")
    if clock:                     # init commands: 32-bit clock, extend
        base = now_clock & ~0xFFFFFFFF
        full = base | clock
        return full + (1 << 32) if full < now_clock - (1 << 31) else full
    return None


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
        self.srtt = self.rttvar = 0
        self.rto_ns = MIN_RTO_NS
        self.rto_deadline = None
        self.receive_window = receive_window
        self.fast_retransmit = fast_retransmit
        self.seqs = LinkSeqs()
        self.nak_due = False       # a nak asked for a fast retransmit
        self.window_full = False   # the last plan stopped at the window
        self.ack_stall_since = None  # data ready, nothing may leave until an ack
        self.ack_stalls = deque(maxlen=ACK_STALLS_KEPT)  # ns of recent ack stalls
        self.rx = deque()          # received chunks not processed yet
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
        """Messages from a completed main-thread burst, in send order."""
        first_req = self.queues.add(messages, self.kernel.now, self._generic_message,
                                    self._slot_count)
        if self.record is not None:
            self.record.extend((m[0], m[1]) for m in messages)
        self.stats.messages += len(messages)
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
                       self._classify(name, args), queued_ns)

    def _classify(self, name, args):
        if name in MOTION_MSGS:
            return MOTION
        if name in HOMING_MSGS:
            return HOMING
        if name == "queue_digital_out" and args.get("oid") in self.heater_oids:
            return HEATER
        return PINS

    # ---- from the kworker -----------------------------------------------------
    def receive(self, data):
        self.rx.append(data)
        self.signal.post()

    # ---- the thread -----------------------------------------------------------
    def _loop(self):
        t = self.thread
        rx, self.rx = list(self.rx), deque()
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
                                    - (len(payload) + msgproto.MESSAGE_MIN) * self.wire.byte_ns)
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
            count = (seq - self.in_flight[0].seq) & msgproto.MESSAGE_SEQ_MASK
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
            self._rtt_sample(now - block.sent_ns)
        self.rto_deadline = now + self.rto_ns if self.in_flight else None

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

    def _rtt_sample(self, delta):
        """RFC 6298 as FACTS 2.5 lists it (first srtt deliberately 10x)."""
        delta = max(delta, 0)
        if not self.srtt:
            self.srtt, self.rttvar = 10 * delta, delta // 2
        else:
            self.rttvar = (3 * self.rttvar + abs(self.srtt - delta)) // 4
            self.srtt = (7 * self.srtt + delta) // 8
        rto = self.srtt + max(4 * self.rttvar, 1_000_000)
        self.rto_ns = min(MAX_RTO_NS, max(MIN_RTO_NS, rto))

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
        now = self.kernel.now
        ack_clock = self._ack_clock(now)
        self.ready_bytes = self.queues.release(ack_clock)
        plan = []
        self.window_full = False
        while len(self.in_flight) + len(plan) < MAX_PENDING_BLOCKS:
            ready = self.ready_bytes
            if not ready:
                break
            if not self._window_open(plan):
                self.window_full = True
                break
            if ready < PAYLOAD_MAX and \
                    self.queues.first_req() > ack_clock + self.delta_ticks:
                break
            plan.append(self._build_block())
        return plan

    def _window_open(self, plan):
        """Room in the MCU's receive window for one more full block
        (FACTS 2.5 flow control), counting blocks planned but not sent."""
        if self.receive_window is None or not (self.in_flight or plan):
            return True
        need = self.seqs.window_need() + sum(len(b.frame) for b in plan)
        return need <= self.receive_window

    def _build_block(self):
        seq = self.send_seq
        self.send_seq = (seq + 1) & msgproto.MESSAGE_SEQ_MASK
        block = self.queues.build(seq)
        self.ready_bytes -= len(block.frame) - msgproto.MESSAGE_MIN
        return block

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
            self.rto_deadline = arrival + self.rto_ns
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
            self.rto_ns = min(MAX_RTO_NS, 2 * self.rto_ns)
            self.stats.retransmits += 1
        self.seqs.retransmitted(nak)
        data = SYNC + b"".join(b.frame for b in self.in_flight)
        arrival = self.wire.send(now, len(data))
        for block in self.in_flight:
            block.retransmitted = True
        self.stats.bytes_retransmitted += len(data)
        self.rto_deadline = arrival + self.rto_ns
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
