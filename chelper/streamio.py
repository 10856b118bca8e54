"""Reading and writing MCU command streams in klipsim's three forms.

- text: one parsedump line per message (`queue_step oid=2 interval=...`),
  optionally gzip-compressed; what Klipper's reference outputs are.
- serial: the bytes a host sends to the MCU, a sequence of message blocks
  (Klipper's batch `-o` output has this form); needs a dictionary.
- jsonl: one JSON object per command for scripts, clocks 64-bit.

`read_stream` autodetects text vs serial (text is printable ASCII, a
block's sequence byte 0x10..0x1F is not) vs jsonl (text whose first
character is `{`) and gzip, and
iterates: the big reference streams have ~1 M lines, nothing is loaded
whole. `StreamWriter` is what `klipsim compile` writes through.
"""
import gzip
import io
import json
import os
import zlib

from . import msgblock, msgformat, textcodec
from .blockcodec import BlockPacker, BlockUnpacker
from .msgformat import parse_text_generic

READ_CHUNK = 1 << 16
DETECT_BYTES = 256
GZIP_MAGIC = b"\x1f\x8b"

# Klipper's host starts sending with sequence number 1 (serialqueue.c
# allocates with send_seq = 1); our serial output does the same.
KLIPPER_FIRST_SEQ = 1


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def _open_binary(path_or_file):
    """(binary file object, display name, whether we opened it)."""
    if isinstance(path_or_file, (str, os.PathLike)):
        return open(path_or_file, "rb"), os.fspath(path_or_file), True
    name = getattr(path_or_file, "name", "<stream>")
    return path_or_file, str(name), False


def _peek(f, n):
    """First n bytes of a binary file object without consuming them."""
    if hasattr(f, "peek"):
        return f.peek(n)[:n]
    raise TypeError("stream needs a peekable binary file")


class Position:
    """Where the message last yielded by read_stream came from: `line`
    (text, jsonl) or byte `offset` (serial) in file `name`."""

    def __init__(self):
        self.name = "<stream>"
        self.line = 0
        self.offset = None

    def __str__(self):
        if self.offset is not None:
            return "%s: byte offset %d" % (self.name, self.offset)
        return "%s:%d" % (self.name, self.line) if self.line else self.name


def read_stream(path_or_file, dictionary=None, position=None):
    """Iterate (name, args) over a text, jsonl or serial command stream.

    Text lines are parsed with `dictionary` when given (so enumerated
    values and unnamed `?N` values are understood), else generically
    (ints, b'...' bytes, other words as strings). Serial input needs a
    dictionary. Errors are ValueError naming file:line or file:offset;
    `position` (a Position), when given, follows the messages.
    """
    position = position or Position()
    if isinstance(path_or_file, io.TextIOBase):
        position.name = "<text>"
        yield from _read_text(path_or_file, position, dictionary)
        return
    f, name, owned = _open_binary(path_or_file)
    position.name = name
    try:
        yield from _read_any(f, name, dictionary, position)
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise ValueError("%s: damaged gzip data (%s)" % (name, e)) from None
    finally:
        if owned:
            f.close()


def _unwrap(f):
    """(peekable binary file, gzip looked through; its kind: 'text',
    'jsonl', 'serial' or None when empty)."""
    if not hasattr(f, "peek"):
        f = io.BufferedReader(f)
    if _peek(f, 2) == GZIP_MAGIC:
        f = io.BufferedReader(gzip.GzipFile(fileobj=f, mode="rb"))
    head = _peek(f, DETECT_BYTES)
    if not head:
        return f, None
    if not _looks_like_text(head):
        return f, "serial"
    return f, "jsonl" if head.lstrip()[:1] == b"{" else "text"


def _read_any(f, name, dictionary, position):
    """read_stream on an open binary file: gzip, then the format."""
    f, kind = _unwrap(f)
    if kind == "serial":
        if dictionary is None:
            raise ValueError("%s: binary (serial) stream needs a dictionary" % name)
        yield from _read_serial(f, name, dictionary, position)
    elif kind == "jsonl":
        yield from _read_jsonl(f, name, dictionary, position)
    elif kind == "text":
        yield from _read_text_scanned(f, name, dictionary, position)


def stream_kind(path):
    """'text', 'jsonl' or 'serial' for a stream file (gzip looked
    through; an empty file is text). ValueError for damaged gzip data."""
    with open(path, "rb") as raw:
        try:
            return _unwrap(raw)[1] or "text"
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise ValueError("%s: damaged gzip data (%s)" % (path, e)) from None


def _looks_like_text(head: bytes) -> bool:
    """A serial stream starts with a block: a length byte (5..64) and a
    sequence byte 0x10..0x1F (after any leading sync bytes), which no
    text line holds; anything else is read as text (so a damaged text
    stream is reported at its line, not as a bad block)."""
    block = head.lstrip(bytes((msgblock.MESSAGE_SYNC,)))
    return not (len(block) >= 2 and msgblock.MESSAGE_MIN <= block[0] <= msgblock.MESSAGE_MAX
                and block[1] & 0xF0 == msgblock.MESSAGE_DEST)


def _read_text(f, position, dictionary):
    parse = dictionary.parse_text if dictionary is not None else parse_text_generic
    lineno = 0
    for line in f:
        lineno += 1
        if not line.strip():
            continue
        position.line = lineno
        try:
            message = parse(line)
        except (KeyError, ValueError) as e:
            msg = e.args[0] if e.args else str(e)
            raise ValueError("%s: %s" % (position, msg)) from None
        yield message


def _read_text_scanned(f, name, dictionary, position):
    """Text through the C line scanner: step lines become dicts directly,
    only the other lines go through the Python parser."""
    parse = dictionary.parse_text if dictionary is not None else parse_text_generic
    for rows, text, first_line in textcodec.iter_rows(f):
        for row in rows.tolist():
            position.line = first_line + row[5] + 1
            yield _text_row_message(row, text, parse, position)


def _step_row_message(row):
    """(name, args) of a queue_step or set_next_step_dir row."""
    kind, a, b, c, d, _line = row
    if kind == textcodec.QUEUE_STEP:
        return "queue_step", {"oid": a, "interval": b, "count": c, "add": d}
    return "set_next_step_dir", {"oid": a, "dir": b}


def _text_row_message(row, text, parse, position):
    """(name, args) of one scanner row (textcodec's layout) of `text`;
    errors name `position`, which the caller set to the row's line."""
    if row[0] != textcodec.OTHER:
        return _step_row_message(row)
    try:
        return parse(text[row[1]:row[2]].decode())
    except UnicodeDecodeError as e:
        raise ValueError("%s: not UTF-8 text (byte 0x%02x)"
                         % (position, e.object[e.start])) from None
    except (KeyError, ValueError) as e:
        msg = e.args[0] if e.args else str(e)
        raise ValueError("%s: %s" % (position, msg)) from None


def _read_jsonl(f, name, dictionary, position):
    """JSON lines as StreamWriter writes them: `cmd`, the parameters
    (pin names or numbers, buffers as lists of bytes) and `clock` (the
    request clock, dropped unless the message has a clock parameter)."""
    for lineno, line in enumerate(f, 1):
        if not line.strip():
            continue
        position.line = lineno
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("cmd"), str):
                raise ValueError("expected an object with a \"cmd\" string")
            cmd = obj.pop("cmd")
            if dictionary is not None:
                obj = _jsonl_args(dictionary.lookup(cmd), obj)
        except (KeyError, ValueError, TypeError) as e:
            msg = e.args[0] if e.args else str(e)
            raise ValueError("%s:%d: %s" % (name, lineno, msg)) from None
        yield cmd, obj


def _jsonl_args(mf, obj):
    """The parameters of one jsonl message, checked against its format."""
    if "clock" not in mf.keys:
        obj.pop("clock", None)
    if set(obj) != set(mf.keys):
        raise ValueError("%s: parameters %s, expected %s"
                         % (mf.name, " ".join(sorted(obj)), " ".join(mf.keys)))
    for key, kind in zip(mf.keys, mf.kinds):
        value = obj[key]
        if kind == msgformat.BUFFER:
            if not isinstance(value, list) or not all(
                    isinstance(b, int) and 0 <= b < 256 for b in value):
                raise ValueError("%s: %s must be a list of byte values" % (mf.name, key))
            obj[key] = bytes(value)
        elif isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError("%s: %s=%r is not an integer" % (mf.name, key, value))
    return obj


def _read_serial(f, name, dictionary, position):
    unpacker = BlockUnpacker(dictionary)
    for messages, _buf in _serial_feeds(f, name, unpacker.feed, position):
        yield from messages


def _serial_feeds(f, name, feed, position):
    """(what feed(buf, final) returned, buf) for each feed of the file's
    bytes to a BlockUnpacker method, its errors turned into ValueErrors
    naming the file and byte offset."""
    buf = b""
    offset = 0          # file offset of buf[0]
    while True:
        chunk = f.read(READ_CHUNK)
        buf = buf + chunk if buf else chunk
        while buf:       # a feed may stop early when its integer buffer is full
            try:
                result, used = feed(buf, final=not chunk)
            except ValueError as e:
                where, _, why = e.args[0].partition(": ")
                raise ValueError("%s: byte offset %d: %s"
                                 % (name, offset + int(where.split()[-1]), why)) from None
            position.offset = offset
            yield result, buf
            buf = buf[used:]
            offset += used
            if not used:
                break
        if not chunk:
            return


class RowChunk:
    """A piece of a stream as rows of six int64s (textcodec's layout:
    kind 0 queue_step oid,interval,count,add; kind 1 set_next_step_dir
    oid,dir; kind 2 any other message), with `message(i)` -> (name, args)
    of row i (errors as read_stream's, at row i's place) and `locate(i)`,
    which points the Position at row i."""

    __slots__ = ("rows", "message", "locate")

    def __init__(self, rows, message, locate):
        self.rows, self.message, self.locate = rows, message, locate


def read_rows(path_or_file, dictionary, position):
    """read_stream's messages in RowChunks: a text stream's scanner rows,
    a serial stream's decoded blocks (msgrows.c) or one row per jsonl
    message; the step messages of the first two never become Python
    objects unless asked for (sim/execute runs them in C)."""
    f, name, owned = _open_binary(path_or_file)
    position.name = name
    try:
        f, kind = _unwrap(f)
        if kind == "serial":
            yield from _serial_rows(f, name, dictionary, position)
        elif kind == "jsonl":
            import numpy as np
            other = np.array([[textcodec.OTHER, 0, 0, 0, 0, 0]], dtype=np.int64)
            for message in _read_jsonl(f, name, dictionary, position):
                yield RowChunk(other, lambda _i, m=message: m, lambda _i: None)
        elif kind == "text":
            parse = dictionary.parse_text
            for rows, text, first_line in textcodec.iter_rows(f):
                yield _text_chunk(rows, text, first_line, parse, position)
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise ValueError("%s: damaged gzip data (%s)" % (name, e)) from None
    finally:
        if owned:
            f.close()


def _text_chunk(rows, text, first_line, parse, position):
    def locate(i):
        position.line = first_line + int(rows[i, 5]) + 1

    def message(i):
        locate(i)
        return _text_row_message(rows[i].tolist(), text, parse, position)
    return RowChunk(rows, message, locate)


def _serial_rows(f, name, dictionary, position):
    """_read_serial's feeds as RowChunks (one or more per feed)."""
    import numpy as np
    unpacker = BlockUnpacker(dictionary)
    ids = [_msgid(dictionary, n) for n in ("queue_step", "set_next_step_dir")]
    out = np.empty((len(unpacker._ints), 6), dtype=np.int64)
    for ints, buf in _serial_feeds(f, name, unpacker.feed_ints, position):
        for rows in unpacker.rows(ints, ids[0], ids[1], out):
            yield _serial_chunk(rows, unpacker, ints, buf)


def _msgid(dictionary, name):
    try:
        return dictionary.lookup(name).msgid
    except KeyError:
        return -1


def _serial_chunk(rows, unpacker, ints, data):
    def message(i):
        row = rows[i].tolist()
        if row[0] != textcodec.OTHER:
            return _step_row_message(row)
        return unpacker.message_at(ints, row[1], row[2], data)
    return RowChunk(rows, message, lambda _i: None)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

class StreamWriter:
    """Write commands as text, serial blocks or JSON lines.

    text: parsedump lines (Dictionary.format_text), integer-only messages
    formatted in C (textcodec.TextFormatter).
    serial: messages are packed in order into blocks of at most
    MESSAGE_MAX bytes (a block is closed when the next message does not
    fit), sequence numbers count from 1 like Klipper's host.
    jsonl: {"cmd": name, <params in format order>, "clock": clock}, where
    clock is the absolute 64-bit clock the caller passes (null if none;
    a message with its own clock parameter carries it there instead).
    Output goes to the file every TAKE_EVERY messages and at close().
    """

    FORMATS = ("text", "serial", "jsonl")
    TAKE_EVERY = 1 << 14

    def __init__(self, fileobj, fmt: str, dictionary, first_seq: int = KLIPPER_FIRST_SEQ):
        if fmt not in self.FORMATS:
            raise ValueError("unknown stream format %r (text, serial or jsonl)" % fmt)
        self.fileobj = fileobj
        self.fmt = fmt
        self.dictionary = dictionary
        self._counts = {}           # command name -> messages (not batched)
        self._syncs = {}            # StepperSyncs whose batches were written
        self.bytes_written = 0
        self._binary_out = not isinstance(fileobj, io.TextIOBase)
        if fmt == "serial" and not self._binary_out:
            raise ValueError("serial output needs a binary file (got a text stream)")
        if fmt == "serial":
            self._encoder = BlockPacker(dictionary, first_seq)
        elif fmt == "text":
            self._encoder = textcodec.TextFormatter(dictionary)
        else:
            self._encoder = JsonLinesFormatter(dictionary)
        self._add = self._encoder.add
        self._add_batch = getattr(self._encoder, "add_batch", None)
        self._since_take = 0

    @property
    def counts(self) -> dict:
        """Messages written per command name, by name; those of step
        batches are summed in C (steppersync's totals) and added here."""
        counts = dict(self._counts)
        for sync in self._syncs:
            for name, n in sync.kind_totals():
                counts[name] = counts.get(name, 0) + n
        return dict(sorted(counts.items()))

    @property
    def blocks_written(self) -> int:
        return self._encoder.blocks if self.fmt == "serial" else 0

    def write(self, name: str, args: dict, clock=None) -> None:
        counts = self._counts
        counts[name] = counts.get(name, 0) + 1
        self._add(name, args, clock)
        self._added(1)

    def write_many(self, messages) -> None:
        """write() for a list of (name, args, req_clock, min_clock) tuples,
        req_clock 0 meaning none: one call for a whole step flush, so the
        hot message path has no per-message call layers here."""
        counts = self._counts
        for message in messages:
            name = message[0]
            counts[name] = counts.get(name, 0) + 1
        add_many = getattr(self._encoder, "add_many", None)
        if add_many is not None:
            add_many(messages)
        else:
            add = self._add
            for name, args, req_clock, _min in messages:
                add(name, args, req_clock or None)
        self._added(len(messages))

    def write_batch(self, batch) -> None:
        """write() for a flush's step messages (chelper.steppersync
        StepBatch, used at once): the text and serial encoders take it
        whole from C, and its counts are the sync's totals (see counts);
        jsonl gets it as message tuples."""
        add_batch = self._add_batch
        if add_batch is None:
            self.write_many(batch.messages())
            return
        self._syncs[batch.owner] = True
        add_batch(batch)
        self._added(batch.count)

    def _added(self, n):
        """n messages were added: write the output every TAKE_EVERY."""
        self._since_take += n
        if self._since_take >= self.TAKE_EVERY:
            self._since_take = 0
            self._emit(self._encoder.take())

    def close(self) -> None:
        """Write everything buffered, the last partial block included.
        The file object stays open (the caller owns it)."""
        self._emit(self._encoder.finish())
        if hasattr(self.fileobj, "flush"):
            self.fileobj.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _emit(self, data: bytes):
        if data:
            if not self._binary_out:
                data = data.decode("ascii")
            self.fileobj.write(data)
            self.bytes_written += len(data)   # text is ASCII: chars == bytes


class JsonLinesFormatter:
    """One JSON object per message (see StreamWriter), formatted by a
    function generated per message format."""

    def __init__(self, dictionary):
        self.dictionary = dictionary
        self._formats = {}
        self._lines = []

    def add(self, name, args, clock=None):
        fmt = self._formats.get(name)
        if fmt is None:
            fmt = self._formats[name] = _jsonl_formatter(self.dictionary.lookup(name))
        self._lines.append(fmt(args, "null" if clock is None else "%d" % clock))

    def take(self) -> bytes:
        if not self._lines:
            return b""
        data = ("\n".join(self._lines) + "\n").encode()
        self._lines = []
        return data

    finish = take


def _jsonl_formatter(mf):
    """A function (args, clock text) -> one JSON object line, generated
    per message format (json.dumps per line is several times slower).
    Keys: cmd, the parameters in format order, clock. A message with its
    own `clock` parameter keeps it in its place, holding its absolute
    clock: the 64-bit clock with the parameter's low 32 bits nearest the
    request clock given (a trsync timeout is not its request clock), or
    the 32-bit wire value when none is given. Unsigned values
    are masked to 32 bits as on the wire; enumerated values are names
    where known; buffers are lists of byte values."""
    env = {"_enum": _json_enum, "_buf": _json_buffer}
    pieces = ['{"cmd":%s' % json.dumps(mf.name).replace("%", "%%")]
    exprs = []
    for i, (key, kind) in enumerate(zip(mf.keys, mf.kinds)):
        get = "a[%r]" % key
        pieces.append(",%s:%%s" % json.dumps(key))
        if kind == msgformat.BUFFER:
            exprs.append("_buf(%s)" % get)
        elif key in mf.enum_values:
            env["_ev%d" % i] = mf.enum_values[key]
            exprs.append("_enum(%s, _ev%d)" % (get, i))
        elif key == "clock":
            env["_clock"] = _json_clock
            exprs.append("_clock(%s, clock)" % get)
        elif kind == msgformat.UNSIGNED:
            exprs.append("int(%s) & 0xFFFFFFFF" % get)
        else:
            exprs.append("int(%s)" % get)
    if "clock" in mf.keys:
        pieces.append("}")
    else:
        pieces.append(',"clock":%s}')
        exprs.append("clock")
    src = "def f(a, clock):\n    return %r %% (%s,)\n" % ("".join(pieces), ", ".join(exprs))
    exec(src, env)           # noqa: S102 - keys are JSON/repr-quoted literals
    return env["f"]


def _json_clock(value, req_text):
    """A clock parameter as 64 bits, next to the request clock (text)."""
    value = int(value)
    if req_text == "null":
        return value & 0xFFFFFFFF
    if value > 0xFFFFFFFF:
        return value
    req = int(req_text)
    return req + ((value - req + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _json_enum(value, values):
    if isinstance(value, str):
        return json.dumps(value)
    name = values.get(value)
    return json.dumps(name) if name is not None else "%d" % value


def _json_buffer(value):
    if isinstance(value, str):
        value = value.encode()
    return json.dumps(list(value), separators=(",", ":"))
