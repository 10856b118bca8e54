"""Batch message-block encoding and decoding through chelper/src/msgblock.c.

streamio's serial paths hand whole batches to C: `BlockPacker` turns
(name, args) messages into flat int64 arrays (id, parameters) and lets C
encode the VLQs, pack blocks and add CRCs; `BlockUnpacker` lets C check
and split blocks into integers and turns those into (name, args) with one
generated function per message format. Both give exactly what
msgformat's pure-Python encode/decode give (tests compare them); if the C
extension is missing the pure-Python path is used. A flush's step
messages come as one chelper.steppersync.StepBatch (`add_batch`), which
C flattens into the same integers.  numpy is imported
where it is used, so importing this module stays cheap (issue 10).
"""

import array

from . import msgblock, msgformat
from .msgblock import MESSAGE_PAYLOAD_MAX
from .msgformat import BUFFER, UNSIGNED

try:
    from ._chelper import ffi, lib
    HAVE_C = hasattr(lib, "msgblock_pack")
except ImportError:      # extension not built: pure-Python fallback
    ffi = lib = None
    HAVE_C = False

_ERRORS = {-1: "output buffer full", -2: "message too large for a block",
           -3: "bad block length", -4: "bad sequence byte", -5: "missing sync byte",
           -6: "CRC mismatch", -7: "unknown message id", -8: "message runs past its block",
           -9: "truncated block"}


# ---------------------------------------------------------------------------
# Packing
# ---------------------------------------------------------------------------

class BlockPacker:
    """Accumulates messages; `take()` returns the complete blocks so far,
    `finish()` also closes the open block. Sequence numbers wrap at 16."""

    BATCH = 1 << 15          # ints handed to C at a time

    def __init__(self, dictionary, first_seq):
        self.dictionary = dictionary
        self.blocks = 0
        self._makers = {}
        self._ints = []
        self._out = []
        self._layouts = False     # step message layouts, made when first needed
        if HAVE_C:
            self._block = ffi.new("uint8_t[64]")
            self._block_len = ffi.new("int32_t *", 0)
            self._seq = ffi.new("int32_t *", first_seq & 0x0F)
        else:
            self._py_block = bytearray()
            self._py_seq = first_seq & 0x0F

    def add(self, name, args, clock=None):
        """Queue one message (clock is not part of the wire format)."""
        maker = self._makers.get(name)
        if maker is None:
            maker = self._makers[name] = _int_maker(self.dictionary.lookup(name))
        if HAVE_C:
            self._ints += maker(args)
            if len(self._ints) >= self.BATCH:
                self._run_c()
        else:
            self._add_python(self.dictionary.encode(name, args))

    def add_batch(self, batch):
        """Queue a flush's step messages (chelper.steppersync.StepBatch):
        C flattens them into (n, id, parameters...) and packs them."""
        layouts = self._step_layouts() if HAVE_C else None
        if layouts is None:
            for name, args, _req, _min in batch.messages():
                self.add(name, args)
            return
        if self._ints:
            self._run_c()
        self._pack(*batch.flatten(layouts))

    def _step_layouts(self):
        """steppersync layouts of the three step messages ((n, id) then
        the parameters in format order), or None when one is missing
        from the dictionary or has an enumerated parameter."""
        if self._layouts is False:
            from . import steppersync      # needs the C extension
            per_kind = []
            for name in steppersync.KIND_NAMES:
                try:
                    mf = self.dictionary.lookup(name)
                except KeyError:
                    per_kind = None
                    break
                if BUFFER in mf.kinds or any(k in mf.enum_names for k in mf.keys):
                    per_kind = None
                    break
                per_kind.append(((len(mf.keys) + 1, mf.msgid), mf.keys))
            self._layouts = per_kind and steppersync.make_layouts(per_kind)
        return self._layouts

    def take(self) -> bytes:
        if HAVE_C and self._ints:
            self._run_c()
        data = b"".join(self._out)
        self._out = []
        return data

    def finish(self) -> bytes:
        data = self.take()
        if HAVE_C:
            out = bytearray(msgblock.MESSAGE_MAX)
            n = lib.msgblock_flush(self._block, self._block_len, self._seq,
                                   ffi.from_buffer(out), len(out))
            tail = bytes(out[:n])
        else:
            tail = self._close_python() if self._py_block else b""
        self.blocks += 1 if tail else 0
        return data + tail

    def _run_c(self):
        ints = array.array("q", self._ints)
        self._ints = []
        self._pack(ffi.from_buffer("int64_t[]", ints), len(ints))

    def _pack(self, ints, n_ints):
        """Pack n_ints integers (cdata int64_t[], msgblock_pack's form)
        into blocks, complete ones appended to the output."""
        out = bytearray(10 * n_ints + 64)     # >= 5 bytes per int + framing
        n = lib.msgblock_pack(ints, n_ints, self._block, self._block_len, self._seq,
                              ffi.from_buffer(out), len(out))
        if n < 0:
            raise ValueError("serial packing failed: %s" % _ERRORS.get(n, n))
        pos = 0
        while pos < n:
            pos += out[pos]
            self.blocks += 1
        self._out.append(bytes(out[:n]))

    def _add_python(self, msg):
        if len(msg) > MESSAGE_PAYLOAD_MAX:
            raise ValueError("message of %d bytes does not fit a block" % len(msg))
        if len(self._py_block) + len(msg) > MESSAGE_PAYLOAD_MAX:
            self._out.append(self._close_python())
            self.blocks += 1
        self._py_block += msg

    def _close_python(self):
        block = msgblock.frame_block(bytes(self._py_block), self._py_seq)
        self._py_seq = (self._py_seq + 1) & 0x0F
        self._py_block = bytearray()
        return block


def _int_maker(mf):
    """A function args -> ints for msgblock_pack: (n, id, params...) for
    integer-only messages, (-len, bytes...) for messages with buffers."""
    if BUFFER in mf.kinds:
        def raw(args):
            data = mf.encode(args)
            return (-len(data),) + tuple(data)
        return raw
    env = {"_ti": mf.to_int}
    exprs = ["%d" % (len(mf.keys) + 1), "%d" % mf.msgid]
    for key in mf.keys:
        if key in mf.enum_names:
            exprs.append("_ti(%r, a[%r])" % (key, key))
        else:
            exprs.append("a[%r]" % key)
    src = "def f(a):\n    return (%s,)\n" % ", ".join(exprs)
    exec(src, env)           # noqa: S102 - keys are repr()-quoted literals
    return env["f"]


# ---------------------------------------------------------------------------
# Unpacking
# ---------------------------------------------------------------------------

# msgblock.c's parameter kinds (KIND_SIGNED, KIND_BUFFER, KIND_UNSIGNED)
_C_KINDS = {msgformat.SIGNED: 0, BUFFER: 1, UNSIGNED: 2}


class BlockUnpacker:
    """Decodes a byte stream of blocks; feed() may get any split of it."""

    INTS = 1 << 16           # >= 2 * 59: a block's integers always fit

    def __init__(self, dictionary, kind="any"):
        self.dictionary = dictionary
        self.table = dictionary.by_id[kind]
        ids = sorted(self.table)
        self.id_offset = -ids[0]
        self.n_ids = ids[-1] - ids[0] + 1
        import numpy as np
        starts = np.full(self.n_ids, -1, dtype=np.int32)
        layout = []
        self._builders = {}
        for msgid in ids:
            mf = self.table[msgid]
            starts[msgid + self.id_offset] = len(layout)
            layout.append(len(mf.kinds))
            layout.extend(_C_KINDS[k] for k in mf.kinds)
            self._builders[msgid] = (mf.name, _args_builder(mf))
        self._starts = starts
        self._layout = np.array(layout, dtype=np.int8)
        self._ints = np.zeros(self.INTS, dtype=np.int64)

    def feed(self, data, final):
        """(messages, bytes consumed) for the complete blocks in data.
        Raises ValueError("offset N: reason") relative to data."""
        if not HAVE_C:
            return self._feed_python(data, final)
        ints, consumed = self.feed_ints(data, final)
        values = ints.tolist()
        messages = []
        append = messages.append
        builders = self._builders
        pos, end = 0, len(values)
        while pos < end:
            name, build = builders[values[pos]]
            args, pos = build(values, pos + 1, data)
            append((name, args))
        return messages, consumed

    def feed_ints(self, data, final):
        """(integers, bytes consumed): msgblock_unpack's integers for the
        complete blocks in data (message id, then one per parameter, two
        for a buffer: its offset in data and length), a numpy view valid
        until the next feed.  Errors as feed()."""
        n_ints = ffi.new("int64_t *")
        err_pos = ffi.new("int64_t *")
        consumed = lib.msgblock_unpack(
            ffi.from_buffer(data), len(data), 1 if final else 0,
            ffi.from_buffer("int8_t[]", self._layout),
            ffi.from_buffer("int32_t[]", self._starts), self.id_offset, self.n_ids,
            ffi.from_buffer("int64_t[]", self._ints), len(self._ints), n_ints, err_pos)
        if consumed < 0:
            raise ValueError("offset %d: %s" % (err_pos[0], _ERRORS.get(consumed, consumed)))
        return self._ints[:n_ints[0]], consumed

    def message_at(self, ints, start, end, data):
        """(name, args) of the message at ints[start:end] (feed_ints)."""
        values = ints[start:end].tolist()
        name, build = self._builders[values[0]]
        return name, build(values, 1, data)[0]

    def rows(self, ints, qs_id, sd_id, out):
        """Rows (streamio.read_rows) of the messages in `ints`, into the
        int64 array `out` (n x 6) as many times as it takes: yields the
        filled part each time."""
        pos = ffi.new("int64_t *", 0)
        while pos[0] < len(ints):
            n = lib.msgrows_from_ints(
                ffi.from_buffer("int64_t[]", ints), len(ints),
                ffi.from_buffer("int8_t[]", self._layout),
                ffi.from_buffer("int32_t[]", self._starts), self.id_offset, self.n_ids,
                qs_id, sd_id, ffi.from_buffer("int64_t[]", out), len(out), pos)
            yield out[:n]

    def _feed_python(self, data, final):
        messages = []
        pos = 0
        limit = len(data) if final else len(data) - msgblock.MESSAGE_MAX
        while pos < limit:
            if data[pos] == msgblock.MESSAGE_SYNC:
                pos += 1
                continue
            _seq, payload, end = msgblock.check_block(data, pos)
            messages.extend(self.dictionary.decode(payload))
            pos = end
        return messages, pos


def _args_builder(mf):
    """A function (ints, pos, data) -> (args, pos) turning msgblock_unpack's
    integers (unsigned ones already masked to 32 bits) into parameters:
    enumerations by name, buffers sliced from the data."""
    env = {"_ev": mf.enum_values}
    items = []
    offset = 0
    for key, kind in zip(mf.keys, mf.kinds):
        if kind == BUFFER:
            value = "bytes(d[v[p+%d]:v[p+%d]+v[p+%d]])" % (offset, offset, offset + 1)
            offset += 2
        else:
            value = "v[p+%d]" % offset
            if key in mf.enum_values:
                value = "_ev[%r].get(%s, %s)" % (key, value, value)
            offset += 1
        items.append("%r: %s" % (key, value))
    src = "def f(v, p, d):\n    return {%s}, p + %d\n" % (", ".join(items), offset)
    exec(src, env)           # noqa: S102 - keys are repr()-quoted literals
    return env["f"]
