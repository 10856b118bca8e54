"""Python face of chelper/src/steppersync.c: one MCU's step messages,
merged by clock into one batch per flush (Klipper's steppersync).

`StepperSync()` is made per MCU; `add(compressor)` registers a
motion.StepCompress (its registration order breaks clock ties);
`flush(flush_clock)` flushes every registered compressor to the flush
clock, merges their queued messages up to it and returns a `StepBatch`.
Messages not sent stay queued in their compressor and lead the next
flush.

A StepBatch is a view of C memory owned by its StepperSync and is valid
only until that sync's next flush: a consumer uses it at once. Its C
layout (steppersync.h, struct ss_batch): `count` messages of struct
ss_message {req_clock, min_clock, p0, p1, p2, kind, oid} (u64, u64,
i64 x3, u32, u32; 48 bytes), kind 0 queue_step (p0..p2 interval, count,
add), 1 set_next_step_dir (p0 dir), 2 reset_step_clock (p0 clock, already
masked to 32 bits); per-kind counts and first indexes; per registered
compressor its oid and the steps its queue_step messages carry.

Consumers: `messages()` expands the batch into the (name, args,
req_clock, min_clock) tuples the stream writers take (jsonl, record_stream);
`flatten(layouts)` writes it as integers for the C encoders (text
templates, wire blocks: chelper/textcodec.py, chelper/blockcodec.py);
`as_array()` is a numpy view (dtype `message_dtype()`).  A consumer
that only needs totals (compile's stream link and writer) reads them
once at the end from the sync: `step_totals()`, `kind_totals()`,
`message_total()` sum every flush so far.
"""
from ._chelper import ffi, lib

QUEUE_STEP, SET_NEXT_STEP_DIR, RESET_STEP_CLOCK = 0, 1, 2
# Message name and parameter names of each kind, and where each
# parameter is in struct ss_message (KLIPPER-FACTS: the stepper commands
# queue_step oid interval count add, set_next_step_dir oid dir,
# reset_step_clock oid clock).
KIND_NAMES = ("queue_step", "set_next_step_dir", "reset_step_clock")
KIND_FIELDS = (
    {"oid": lib.SS_FIELD_OID, "interval": lib.SS_FIELD_P0,
     "count": lib.SS_FIELD_P1, "add": lib.SS_FIELD_P2},
    {"oid": lib.SS_FIELD_OID, "dir": lib.SS_FIELD_P0},
    {"oid": lib.SS_FIELD_OID, "clock": lib.SS_FIELD_P0},
)
MAX_INTS_PER_MESSAGE = 6      # steppersync.h SS_MAX_INTS_PER_MESSAGE


class StepperSync:
    """The message merge of one MCU's step compressors."""

    def __init__(self):
        self._ss = ffi.gc(lib.steppersync_new(), lib.steppersync_free)
        self._compressors = []     # kept alive: C holds their pointers
        self._ints = None          # flatten's buffer
        self._c = None             # the C batch (same memory every flush)

    def add(self, compressor):
        self._compressors.append(compressor)
        lib.steppersync_add(self._ss, compressor._sc)

    def int_buffer(self, size):
        """A C int64 buffer of at least `size` items, reused."""
        if self._ints is None or len(self._ints) < size:
            self._ints = ffi.new("int64_t[]", max(size, 2 * len(self._ints or ())))
        return self._ints

    def flush(self, flush_clock):
        """Flush every compressor to `flush_clock` (StepCompress.flush),
        then return the messages due by it as a StepBatch. A compressor's
        error raises its MotionError."""
        c_batch = self._c = lib.steppersync_flush(self._ss, int(flush_clock))
        if c_batch.failed >= 0:
            self._compressors[c_batch.failed]._check(-1)
        return StepBatch(c_batch, self)

    def step_totals(self):
        """[(oid, steps)] carried by the queue_step messages of every
        flush so far, per compressor with steps, in registration order."""
        return _oid_steps(self._c, "total_steps") if self._c is not None else []

    def kind_totals(self):
        """[(message name, count)] of every flush so far, kinds present."""
        if self._c is None:
            return []
        counts = ffi.unpack(self._c.total_kind, 3)
        return [(KIND_NAMES[k], counts[k]) for k in range(3) if counts[k]]

    def message_total(self):
        return self._c.total_count if self._c is not None else 0


class StepBatch:
    """One flush's messages (valid until the sync's next flush)."""

    __slots__ = ("c", "count", "owner")

    def __init__(self, c_batch, owner):
        self.c = c_batch
        self.count = c_batch.count
        self.owner = owner         # its StepperSync (keeps the C memory alive)

    def __len__(self):
        return self.count

    def kind_counts(self):
        """[(message name, count)] of the kinds present, in the order
        each first occurs in the batch."""
        c = self.c
        # one ffi.unpack per array: indexing cdata item by item costs more
        counts, firsts = ffi.unpack(c.kind_count, 3), ffi.unpack(c.kind_first, 3)
        present = [(firsts[k], KIND_NAMES[k], counts[k]) for k in range(3) if counts[k]]
        if len(present) > 1:
            present.sort()
        return [(name, n) for _first, name, n in present]

    def steps(self):
        """[(oid, steps)] of the compressors whose queue_step messages
        carry steps in this batch, in registration order."""
        return _oid_steps(self.c, "steps")

    def messages(self):
        """The batch as (name, args, req_clock, min_clock) tuples."""
        out = []
        append = out.append
        for req, min_clock, p0, p1, p2, kind, oid in self.as_array().tolist():
            if kind == QUEUE_STEP:
                args = {"oid": oid, "interval": p0, "count": p1, "add": p2}
            elif kind == SET_NEXT_STEP_DIR:
                args = {"oid": oid, "dir": p0}
            else:
                args = {"oid": oid, "clock": p0}
            append((KIND_NAMES[kind], args, req, min_clock))
        return out

    def flatten(self, layouts):
        """(cdata int64_t[], n): the batch as integers per `layouts`
        (make_layouts), in a buffer of the sync's that the next flatten
        reuses."""
        ints = self.owner.int_buffer(self.count * MAX_INTS_PER_MESSAGE)
        n = lib.steppersync_flatten(self.c, layouts, ints, len(ints))
        if n < 0:
            raise ValueError("step message batch: no layout for a message kind")
        return ints, n

    def as_array(self):
        """A numpy view of the messages (copy it to keep it)."""
        import numpy as np
        size = ffi.sizeof("struct ss_message")
        return np.frombuffer(ffi.buffer(self.c.msgs, self.count * size),
                             dtype=message_dtype())


def _oid_steps(c, field):
    """[(oid, steps)] of C batch c's per-compressor array `field`, the
    compressors with steps, in registration order."""
    n = c.n_steppers
    return [(oid, steps) for oid, steps
            in zip(ffi.unpack(c.oids, n), ffi.unpack(getattr(c, field), n)) if steps]


def make_layouts(per_kind):
    """cdata struct ss_layout[3] from, per kind, (prefix ints, parameter
    names in the order to write them); None if a name is unknown."""
    layouts = ffi.new("struct ss_layout[3]")
    for kind, (prefix, keys) in enumerate(per_kind):
        fields = KIND_FIELDS[kind]
        if len(prefix) > 2 or len(keys) > 4 or any(k not in fields for k in keys):
            return None
        layout = layouts[kind]
        layout.n_prefix = len(prefix)
        for i, value in enumerate(prefix):
            layout.prefix[i] = value
        layout.n_fields = len(keys)
        for i, key in enumerate(keys):
            layout.fields[i] = fields[key]
    return layouts


_dtype = []


def message_dtype():
    """numpy dtype of struct ss_message."""
    if not _dtype:
        import numpy as np
        names = ("req_clock", "min_clock", "p0", "p1", "p2", "kind", "oid")
        _dtype.append(np.dtype({
            "names": list(names),
            "formats": ["u8", "u8", "i8", "i8", "i8", "u4", "u4"],
            "offsets": [ffi.offsetof("struct ss_message", f) for f in names],
            "itemsize": ffi.sizeof("struct ss_message"),
        }))
    return _dtype[0]
