"""The serial queue's command queues and block builder, in C
(chelper/src/linkq.c), and the Block they build.

Contract: `MessageQueues(dictionary)` holds one MCU's command queues
(KLIPPER-FACTS 2.5): each object's messages in FIFO order (timed ones by
oid, the rest in the MCU's default queue), a queue_step's move slot
(its min_clock becomes the earliest slot-free clock), min_clock kept
within MIN_CLOCK_SPAN of req_clock. `add(messages, ...)` queues
(name, args, req_clock, min_clock) tuples; `release(ack_clock)` makes
ready the messages whose min_clock passed; `build(seq)` frames one
block of ready heads, lowest req_clock first (the queue created first
on ties), up to 59 payload bytes. The motion bulk (queue_step,
set_next_step_dir, reset_step_clock) lives only in C; a Block carries
the Message objects of the rest (`generic`), a summary of its timed
queue_steps (`motion`) and, on demand, every message (`messages`);
`planned_messages` counts the messages of the blocks built last.
tests/test_link_queues.py holds the Python model these rules come from.
"""
from ...chelper import msgblock
from ...chelper._chelper import ffi, lib
from ...chelper import steppersync
from ...chelper.blockcodec import _int_maker
from .messages import MOTION, Message

PAYLOAD_MAX = msgblock.MESSAGE_PAYLOAD_MAX       # 59
MESSAGE_MAX = msgblock.MESSAGE_MAX               # 64
SEQ_MASK = msgblock.MESSAGE_SEQ_MASK

# linkq_push record kinds (chelper/src/linkq.h) and the motion messages
# held in C: name -> (kind, parameter keys after the oid)
GENERIC = 0
C_HELD = {"queue_step": (1, ("interval", "count", "add")),
          "set_next_step_dir": (2, ("dir",)),
          "reset_step_clock": (3, ("clock",))}
KIND_NAMES = {kind: (name, ("oid",) + keys) for name, (kind, keys) in C_HELD.items()}
RECORD_INTS = 10          # LINKQ_RECORD_INTS
MAX_BLOCKS = 16           # most blocks one plan may build (>= linkio.c's MAX_PENDING)
NO_CLOCK = -(1 << 63)     # linkq's "no scheduled clock"
_PUSH_ERRORS = {-1: "out of memory", -2: "message too large for a block",
                -3: "bad command queue (oid)", -4: "bad record",
                -5: "stepper messages the dictionary does not declare",
                -100: "stopped for the move slots"}   # (LINKIO_NEED_SLOTS)


class StepRun:
    """A steppersync batch (chelper/steppersync.py) kept for the serial
    queue: a copy of its struct ss_message array (the batch itself is
    valid only until the next flush), taken whole by MessageQueues.add."""
    __slots__ = ("raw", "count")

    def __init__(self, raw, count):
        self.raw = raw
        self.count = count

    @classmethod
    def from_batch(cls, batch):
        size = ffi.sizeof("struct ss_message")
        return cls(ffi.buffer(batch.c.msgs, batch.count * size)[:], batch.count)

    def messages(self):
        """The run as (name, args, req_clock, min_clock) tuples."""
        import numpy as np
        rows = np.frombuffer(self.raw, dtype=steppersync.message_dtype()).tolist()
        out = []
        for req, min_clock, p0, p1, p2, kind, oid in rows:
            name = steppersync.KIND_NAMES[kind]
            keys = KIND_NAMES[kind + 1][1]
            out.append((name, dict(zip(keys, (oid, p0, p1, p2))), req, min_clock))
        return out


class Block:
    """One framed block and what it carries. `generic` are the Message
    objects the host keeps (everything but the motion bulk); `motion`
    summarises the timed queue_steps held in C (count, lowest scheduled
    clock, highest last-step clock) or is None; `messages` lists every
    message in block order (built on first use from the C records)."""
    __slots__ = ("seq", "frame", "count", "generic", "motion", "_records", "_messages",
                 "sent_ns", "arrived", "tty_ns")

    def __init__(self, seq, frame, messages, motion=None, records=None, count=None):
        self.seq = seq
        self.frame = frame
        self.count = count if count is not None else len(messages)   # messages carried
        self.generic = messages
        self.motion = motion
        self._records = records      # linkq_build's records (bytes), or None
        self._messages = None if records is not None else messages
        self.sent_ns = 0
        self.tty_ns = 0              # pseudo-tty: when the kworker passed it on
        self.arrived = False

    @property
    def messages(self):
        if self._messages is None:
            self._messages = _block_messages(self._records, self.generic)
        return self._messages


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
        if len(self._c_ids) == len(C_HELD):
            lib.linkq_set_step_ids(self._q, *(self._c_ids[n] for n in steppersync.KIND_NAMES))
        self._slots_ready = False
        self.planned_messages = 0  # messages in the blocks built last
        # linkq_plan's outputs, for up to MAX_BLOCKS blocks
        self._frames = ffi.new("uint8_t[]", MESSAGE_MAX * MAX_BLOCKS)
        self._records = ffi.new("int64_t[]", RECORD_INTS * PAYLOAD_MAX * MAX_BLOCKS)
        self._tags = ffi.new("int32_t[]", PAYLOAD_MAX * MAX_BLOCKS)
        self._summaries = ffi.new("int64_t[]", 5 * MAX_BLOCKS)
        self._window_full = ffi.new("int32_t *")
        self._frames_buf = ffi.buffer(self._frames)
        self._records_buf = ffi.buffer(self._records)
        self._first_req = ffi.new("int64_t *")
        self._due = ffi.new("int64_t *")
        self._sent = None          # sent_block's buffers, made on first use

    def add(self, messages, queued_ns, generic, slot_count):
        """Queue messages in order: (name, args, req_clock, min_clock)
        tuples and StepRuns. generic(name, args, req_clock, min_clock,
        queued_ns) makes the Message kept for anything but the motion
        bulk; slot_count() sizes the move-slot heap when the first
        queue_step needs a slot. Returns (the lowest req_clock among them
        or None, the messages queued)."""
        ints = []
        put = ints.extend
        c_ids = self._c_ids
        qs_id = c_ids.get("queue_step")
        first, count = None, 0
        for m in messages:
            if m.__class__ is StepRun:
                first = _lower(first, self._push(ints, queued_ns))
                ints = []
                put = ints.extend
                first = _lower(first, self._push_run(m, queued_ns, slot_count))
                count += m.count
                continue
            name, args, req_clock, min_clock = m
            count += 1
            if name == "queue_step" and qs_id is not None:   # the bulk
                if min_clock and not self._slots_ready:
                    self._init_slots(slot_count)
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
        return _lower(first, self._push(ints, queued_ns)), count

    def _push(self, ints, queued_ns):
        """Queue push records; their lowest req_clock (None: no records)."""
        if not ints:
            return None
        n = lib.linkq_push(self._q, ffi.new("int64_t[]", ints), len(ints), queued_ns,
                           self._first_req)
        if n < 0:
            raise ValueError("serial queue: %s" % _PUSH_ERRORS.get(n, n))
        return self._first_req[0]

    def _push_run(self, run, queued_ns, slot_count):
        """Queue a StepRun; its lowest req_clock. linkq stops before the
        first queue_step that needs a move slot until the slots exist."""
        msgs = ffi.from_buffer("struct ss_message[]", run.raw)
        first = done = None
        while done is None or done < run.count:
            if done is not None:     # stopped for the slots
                self._init_slots(slot_count)
            done = lib.linkq_push_steps(self._q, msgs, done or 0, run.count, queued_ns,
                                        self._first_req)
            if done < 0:
                raise ValueError("serial queue: %s" % _PUSH_ERRORS.get(done, done))
            first = _lower(first, self._first_req[0])
        return first

    def _init_slots(self, slot_count):
        lib.linkq_init_slots(self._q, slot_count())
        self._slots_ready = True

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

    def ready_bytes(self):
        return lib.linkq_ready(self._q)

    def first_req(self):
        return lib.linkq_first_req(self._q)

    def build(self, seq):
        """One block of ready messages with sequence `seq`."""
        lib.linkq_build(self._q, seq, self._frames, self._records, self._tags, self._summaries)
        return self._blocks(seq, 1)[0]     # (an empty frame when nothing was ready)

    def plan(self, ack_clock, delta_ticks, max_blocks, in_flight, window, window_need, seq):
        """The blocks a send now may carry (linkq_plan, FACTS 2.5), with
        sequences from `seq`; window None: no receive window. Returns
        (blocks, whether the window stopped it)."""
        n = lib.linkq_plan(self._q, ack_clock, delta_ticks, max_blocks, in_flight,
                           -1 if window is None else window, window_need, seq,
                           self._frames, self._records, self._tags, self._summaries,
                           self._window_full)
        return self._blocks(seq, n), bool(self._window_full[0])

    @property
    def c_queues(self):
        """The struct linkq, for sim/link/linkio.py."""
        return self._q

    def plan_link(self, link, now, first_seq):
        """The blocks a send now may carry, planned by a struct linkio
        (linkio_plan: this plan with the link's state); first_seq is an
        int32_t * for the first block's sequence."""
        n = lib.linkio_plan(link, self._q, now, self._frames, self._records, self._tags,
                            self._summaries, first_seq)
        return self._blocks(first_seq[0], n)

    def _blocks(self, seq, n):
        """Block objects for the n blocks linkq wrote, sequences from seq."""
        if not n:
            return []
        blocks = []
        append = blocks.append
        frames = self._frames_buf[0:MESSAGE_MAX * n]      # (one copy, then slices)
        records = self._records_buf
        held, tags = self._held, self._tags
        summaries = ffi.unpack(self._summaries, 5 * n)
        self.planned_messages = sum(summaries[0::5])
        it = iter(summaries)
        rec = tag = start = 0
        for count, timed, low, high, ntags in zip(it, it, it, it, it):
            if ntags:
                generic = [held.pop(tags[i]) for i in range(tag, tag + ntags)]
                tag += ntags
            else:
                generic = []
            size = RECORD_INTS * 8 * count
            append(Block(seq & SEQ_MASK, frames[start:start + frames[start]], generic,
                         (timed, low, high) if timed else None,
                         records[rec:rec + size] if count > ntags else None, count))
            rec += size
            start += MESSAGE_MAX
            seq += 1
        return blocks

    def point_program(self, prog, first_seq):
        """Point the native serial queue program (serialq_prog.h) at the
        plan's buffers; first_seq: linkio_plan's int32_t *."""
        prog.frames, prog.records, prog.tags = self._frames, self._records, self._tags
        prog.summaries, prog.first_seq = self._summaries, first_seq

    def sent_block(self, link, i, node):
        """The Block of the i-th block in flight on the struct linkio,
        which the native program planned and sent (linkio_py_block); the
        MCU node's C arrival adopts it (node._adopt)."""
        if self._sent is None:
            self._sent = (ffi.new("uint8_t[]", MESSAGE_MAX), ffi.new("int64_t[]", 8),
                          ffi.new("int64_t[]", RECORD_INTS * PAYLOAD_MAX))
        frame, info, records = self._sent
        lib.linkio_py_block(link, i, frame, info, records)
        seq, length, sent_ns, serial, count, timed, low, high = ffi.unpack(info, 8)
        block = Block(seq, ffi.unpack(ffi.cast("char *", frame), length), [],
                      (timed, low, high) if timed else None,
                      ffi.buffer(records, RECORD_INTS * 8 * count)[:], count)
        block.sent_ns = sent_ns
        node._adopt(serial, block)
        return block

    def next_due(self, delta_ticks):
        """The earliest MCU clock a queue head needs a look (None: empty)."""
        due = self._due
        return due[0] if lib.linkq_next_due(self._q, delta_ticks, due) else None

    def __len__(self):
        return lib.linkq_pending(self._q)


def _lower(a, b):
    """The lower of two clocks, None meaning none."""
    if a is None:
        return b
    return a if b is None or a <= b else b
