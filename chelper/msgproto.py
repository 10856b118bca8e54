"""Klipper's wire protocol: VLQ integers, message blocks, data dictionaries.

Contract (KLIPPER-FACTS 3.3 and 4, Klipper docs/Protocol.md):
- `encode_vlq`/`decode_vlq`: Klipper's signed variable-length integers.
- `crc16_ccitt`, `frame_block`, `split_blocks`: message blocks
  `len, 0x10|seq, payload, crc hi, crc lo, 0x7E` (len counts all bytes).
- `Dictionary`: a data dictionary (the JSON Klipper's firmware build emits)
  with one `MessageFormat` per `name key=%fmt ...` entry. It encodes and
  decodes message payloads and reads/writes the one-line text form that
  Klipper's parsedump tool prints (`queue_step oid=2 interval=... ...`).

Values: integer parameters are Python ints; enumerated parameters (a
parameter named like an enumeration, or ending in `_<enumeration>`, e.g.
`step_pin` uses `pin`) decode to the enumeration's name (`'PF0'`), or to
the int when the value has no name; encode accepts either. Buffers
(`%s`, `%*s`, `%.*s`) are bytes. On decode, unsigned types (`%u`, `%hu`,
`%c`) are masked to 32 bits and signed ones (`%i`, `%hi`) kept as decoded,
which is what Klipper's host does, so the text matches parsedump's.
"""
import ast
import functools
import json
import operator
import os
import re
import zlib

from ._chelper import ffi as _ffi, lib as _lib

MESSAGE_MIN = 5            # header (len, seq) + trailer (crc16, sync)
MESSAGE_MAX = 64
MESSAGE_HEADER_SIZE = 2
MESSAGE_TRAILER_SIZE = 3
MESSAGE_PAYLOAD_MAX = MESSAGE_MAX - MESSAGE_MIN   # 59
MESSAGE_SEQ_MASK = 0x0F
MESSAGE_DEST = 0x10        # high nibble of every sequence byte
MESSAGE_SYNC = 0x7E

# identify/identify_response have fixed ids in every firmware
# (docs/Protocol.md, "Data Dictionary"); used when a dictionary lacks them.
DEFAULT_COMMANDS = {"identify offset=%u count=%c": 1}
DEFAULT_RESPONSES = {"identify_response offset=%u data=%.*s": 0}

U32 = 0xFFFFFFFF
VLQ_MAX_BYTES = 5          # a 32-bit value never needs more (FACTS 4)

# ---------------------------------------------------------------------------
# VLQ integers
# ---------------------------------------------------------------------------


def encode_vlq(value: int, out: bytearray) -> None:
    """Append Klipper's VLQ encoding of `value` to `out`.

    Byte count from the value's range (FACTS 4): -32..95 one byte,
    -4096..12287 two, -524288..1572863 three, -67108864..201326591 four,
    anything else five (unsigned 32-bit values above that range too).
    7-bit groups go most significant first, all but the last with 0x80 set.
    """
    v = value
    if -0x20 <= v < 0x60:
        # One byte (most parameters of step messages): skip the range tests.
        out.append(v & 0x7F)
        return
    if v >= 0xC000000 or v < -0x4000000:
        out.append(((v >> 28) & 0x7F) | 0x80)
    if v >= 0x180000 or v < -0x80000:
        out.append(((v >> 21) & 0x7F) | 0x80)
    if v >= 0x3000 or v < -0x1000:
        out.append(((v >> 14) & 0x7F) | 0x80)
    if v >= 0x60 or v < -0x20:
        out.append(((v >> 7) & 0x7F) | 0x80)
    out.append(v & 0x7F)


def decode_vlq(data, pos: int):
    """Decode one VLQ integer at `data[pos]`: (value, position after it).

    A first byte with bits 0x60 both set starts a negative number (sign
    extended from bit 5); unsigned users mask the result to 32 bits.
    """
    c = data[pos]
    start = pos
    pos += 1
    v = c & 0x7F
    if (c & 0x60) == 0x60:
        v |= -0x20
    while c & 0x80:
        c = data[pos]
        pos += 1
        v = (v << 7) | (c & 0x7F)
        if pos - start > VLQ_MAX_BYTES:     # damaged input: stop, do not grow v
            raise ValueError("offset %d: integer longer than %d bytes" % (start, VLQ_MAX_BYTES))
    return v, pos


# ---------------------------------------------------------------------------
# CRC and message blocks
# ---------------------------------------------------------------------------

def _crc_table():
    """CRC-16/CCITT in its bit-reflected form (polynomial 0x1021 reversed
    is 0x8408), one entry per byte value; Klipper's byte-wise formula
    (msgblock.c) computes the same thing with init 0xFFFF, no final xor."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc16_ccitt(data) -> int:
    """Klipper's block checksum over `data` (len, seq and payload bytes)."""
    if isinstance(data, (bytes, bytearray)):
        # The same table walk in C (chelper/src/msgblock.c): every block
        # the simulated host and MCUs send is checked here.
        return _lib.msgblock_crc16(_ffi.from_buffer(data), len(data))
    crc = 0xFFFF
    table = _CRC_TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


def frame_block(payload: bytes, seq: int) -> bytes:
    """One message block around `payload` (at most MESSAGE_PAYLOAD_MAX)."""
    if len(payload) > MESSAGE_PAYLOAD_MAX:
        raise ValueError("payload of %d bytes exceeds %d"
                         % (len(payload), MESSAGE_PAYLOAD_MAX))
    block = bytearray((len(payload) + MESSAGE_MIN, MESSAGE_DEST | (seq & MESSAGE_SEQ_MASK)))
    block += payload
    crc = crc16_ccitt(block)
    block += bytes((crc >> 8, crc & 0xFF, MESSAGE_SYNC))
    return bytes(block)


def check_block(data, pos: int):
    """Validate the block starting at data[pos]: (seq, payload, end) or
    raise ValueError naming the offset and the fault."""
    length = data[pos]
    if length < MESSAGE_MIN or length > MESSAGE_MAX:
        raise ValueError("offset %d: bad block length %d" % (pos, length))
    end = pos + length
    if end > len(data):
        raise ValueError("offset %d: truncated block (%d of %d bytes)"
                         % (pos, len(data) - pos, length))
    seq = data[pos + 1]
    if seq & ~MESSAGE_SEQ_MASK != MESSAGE_DEST:
        raise ValueError("offset %d: bad sequence byte 0x%02x" % (pos, seq))
    if data[end - 1] != MESSAGE_SYNC:
        raise ValueError("offset %d: missing sync byte" % pos)
    crc = crc16_ccitt(data[pos:end - 3])
    if data[end - 3] != crc >> 8 or data[end - 2] != crc & 0xFF:
        raise ValueError("offset %d: CRC mismatch" % pos)
    return seq & MESSAGE_SEQ_MASK, bytes(data[pos + 2:end - 3]), end


def split_blocks(data: bytes):
    """(seq, payload) of every block in `data`; stray sync bytes between
    blocks are skipped (the protocol allows a leading 0x7E)."""
    blocks = []
    pos = 0
    while pos < len(data):
        if data[pos] == MESSAGE_SYNC:
            pos += 1
            continue
        seq, payload, pos = check_block(data, pos)
        blocks.append((seq, payload))
    return blocks


# ---------------------------------------------------------------------------
# Message formats
# ---------------------------------------------------------------------------

# Parameter kinds: how a value is carried and shown.
UNSIGNED, SIGNED, BUFFER = 0, 1, 2
PARAM_KINDS = {"%u": UNSIGNED, "%hu": UNSIGNED, "%c": UNSIGNED,
               "%i": SIGNED, "%hi": SIGNED,
               "%s": BUFFER, "%*s": BUFFER, "%.*s": BUFFER}

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BYTES_RE = r"""(b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*")"""


def enumeration_for(param: str, enumerations: dict):
    """Name of the enumeration a parameter uses (docs/Protocol.md: its own
    name or a `_<name>` suffix), or None."""
    if param in enumerations:
        return param
    suffixes = [e for e in sorted(enumerations) if param.endswith("_" + e)]
    return max(suffixes, key=len) if suffixes else None


def expand_enumeration(values: dict) -> dict:
    """{name: int} from a dictionary enumeration where `"PA0": [0, 8]`
    stands for PA0..PA7 = 0..7 (trailing digits counted up)."""
    out = {}
    for name, value in values.items():
        if isinstance(value, list):
            start, count = value
            root = name.rstrip("0123456789")
            first = int(name[len(root):] or 0)
            for i in range(count):
                out["%s%d" % (root, first + i)] = start + i
        else:
            out[name] = value
    return out


class MessageFormat:
    """One `name key=%fmt ...` entry of a data dictionary."""

    def __init__(self, msgid: int, msgformat: str, enumerations=None):
        parts = msgformat.split()
        self.msgid = msgid
        self.msgformat = msgformat
        self.name = parts[0]
        self.params = [tuple(p.split("=", 1)) for p in parts[1:]]
        self.keys = tuple(k for k, _ in self.params)
        self.kinds = tuple(PARAM_KINDS[f] for _, f in self.params)
        enumerations = enumerations or {}
        self.enum_names = {}      # param -> {name: int}
        self.enum_values = {}     # param -> {int: name}
        for key, fmt in self.params:
            enum = enumeration_for(key, enumerations) if PARAM_KINDS[fmt] != BUFFER else None
            if enum is not None:
                self.enum_names[key] = enumerations[enum]
                self.enum_values[key] = {v: n for n, v in sorted(enumerations[enum].items())}
        head = bytearray()
        encode_vlq(msgid, head)
        self.id_bytes = bytes(head)

    # The text formatter and parser are generated on first use: a
    # dictionary has ~150 formats and a run uses a few, and generating
    # them all (regexes, exec) took ~0.2 s of every compile's start-up.
    @functools.cached_property
    def _format(self):
        return _build_formatter(self)

    @functools.cached_property
    def _parse(self):
        return _build_parser(self)

    def __repr__(self):
        return "MessageFormat(%d, %r)" % (self.msgid, self.msgformat)

    # -- binary ---------------------------------------------------------
    def encode(self, args: dict) -> bytes:
        """Message id and parameters as wire bytes."""
        out = bytearray(self.id_bytes)
        for key, kind in zip(self.keys, self.kinds):
            if key not in args:
                raise KeyError("%s: missing parameter %r" % (self.name, key))
            value = args[key]
            if kind == BUFFER:
                if isinstance(value, str):
                    value = value.encode()
                out.append(len(value))
                out += value
            else:
                encode_vlq(self.to_int(key, value), out)
        return bytes(out)

    def to_int(self, key: str, value) -> int:
        """The integer sent for `value` (an int or an enumeration name)."""
        names = self.enum_names.get(key)
        if not isinstance(value, str):
            try:
                return operator.index(value)      # int, bool, numpy integers
            except TypeError:
                pass
        elif names is not None and value in names:
            return names[value]
        elif value.startswith("?") and value[1:].lstrip("-").isdigit():
            return int(value[1:])    # parsedump's form of an unnamed value
        raise ValueError("%s: %s=%r is not a known %s"
                         % (self.name, key, value,
                            "enumeration name" if names else "integer"))

    def decode(self, data, pos: int, enums: bool = True):
        """Parameters starting at data[pos] (after the message id):
        (args, position after them). enums=False keeps raw ints."""
        args = {}
        for key, kind in zip(self.keys, self.kinds):
            if kind == BUFFER:
                length = data[pos]
                args[key] = bytes(data[pos + 1:pos + 1 + length])
                pos += 1 + length
                continue
            v, pos = decode_vlq(data, pos)
            if kind == UNSIGNED:
                v &= U32
            if enums and key in self.enum_values:
                v = self.enum_values[key].get(v, v)
            args[key] = v
        return args, pos

    # -- text -----------------------------------------------------------
    def format_text(self, args: dict) -> str:
        return self._format(args)

    def parse_text(self, line: str) -> dict:
        """Parameters of one parsedump line of this message."""
        return self._parse(line)


def _parse_enum_value(text, names):
    if text in names:
        return text
    if text.startswith("?"):
        return int(text[1:])
    try:
        return int(text)
    except ValueError:
        return text


def _show_enum(value, values, names=None):
    """Text of an enumerated value: its name, else parsedump's `?<int>`.
    A name is printed as parsedump prints its number: where several names
    share a number (the Linux MCU's gpio17 and gpiochip0/gpio17), the
    last in sorted order."""
    if isinstance(value, str):
        number = names.get(value) if names else None
        return values.get(number, value) if number is not None else value
    name = values.get(value)
    return name if name is not None else "?%d" % value


def _build_formatter(mf: MessageFormat):
    """A function args -> text line, generated once per message format so
    the per-line cost is one %-format (the big streams have ~1 M lines)."""
    if not all(_IDENT.match(k) for k in mf.keys):
        return lambda args: _format_slow(mf, args)
    pieces, exprs = [mf.name], []
    env = {"_show_enum": _show_enum, "_repr": _repr_buffer}
    for i, (key, kind) in enumerate(zip(mf.keys, mf.kinds)):
        get = "a[%r]" % key
        if kind == BUFFER:
            pieces.append("%s=%%s" % key)
            exprs.append("_repr(%s)" % get)
        elif key in mf.enum_values:
            env["_ev%d" % i] = mf.enum_values[key]
            env["_en%d" % i] = mf.enum_names[key]
            pieces.append("%s=%%s" % key)
            exprs.append("_show_enum(%s, _ev%d, _en%d)" % (get, i, i))
        elif kind == UNSIGNED:
            pieces.append("%s=%%d" % key)
            exprs.append("%s & 0xFFFFFFFF" % get)
        else:
            pieces.append("%s=%%d" % key)
            exprs.append(get)
    if not exprs:
        return lambda args: mf.name
    template = pieces[0] + " " + " ".join(pieces[1:])
    # numpy's small integer types refuse `& 0xFFFFFFFF`: the slow path
    # converts them (a try costs nothing when nothing is raised)
    env["_slow"] = lambda args: _format_slow(mf, args)
    src = ("def f(a):\n"
           "    try:\n"
           "        return %r %% (%s,)\n"
           "    except (OverflowError, TypeError):\n"
           "        return _slow(a)\n" % (template, ", ".join(exprs)))
    exec(src, env)           # noqa: S102 - code built from checked identifiers
    return env["f"]


def _format_slow(mf, args):
    out = [mf.name]
    for key, kind in zip(mf.keys, mf.kinds):
        v = args[key]
        if kind == BUFFER:
            out.append("%s=%s" % (key, _repr_buffer(v)))
        elif key in mf.enum_values:
            out.append("%s=%s" % (key, _show_enum(v, mf.enum_values[key], mf.enum_names[key])))
        else:
            v = operator.index(v)
            out.append("%s=%d" % (key, v & U32 if kind == UNSIGNED else v))
    return " ".join(out)


def _repr_buffer(value):
    if isinstance(value, str):
        value = value.encode()
    return repr(bytes(value))


def _build_parser(mf: MessageFormat):
    """A function line -> args, generated once per message format: one
    regex match checks the whole line, then each group is converted."""
    parts = [re.escape(mf.name)]
    env = {"_lit": ast.literal_eval, "_pe": _parse_enum_value}
    conv = []
    for i, (key, kind) in enumerate(zip(mf.keys, mf.kinds)):
        if kind == BUFFER:
            parts.append(re.escape(key) + "=" + _BYTES_RE)
            conv.append("_lit(g[%d])" % i)
        elif key in mf.enum_names:
            parts.append(re.escape(key) + "=" + _enum_value_re(mf.enum_names[key]))
            env["_en%d" % i] = mf.enum_names[key]
            conv.append("_pe(g[%d], _en%d)" % (i, i))
        else:
            parts.append(re.escape(key) + r"=(-?\d+)")
            conv.append("int(g[%d])" % i)
    env["_rx"] = re.compile(" ".join(parts) + r"\s*$")
    env["_bad"] = _bad_line(mf)
    items = ", ".join("%r: %s" % (k, c) for k, c in zip(mf.keys, conv))
    src = ("def f(line):\n"
           "    m = _rx.match(line)\n"
           "    if m is None:\n"
           "        _bad(line)\n"
           "    g = m.groups()\n"
           "    return {%s}\n" % items)
    exec(src, env)           # noqa: S102 - keys are repr()-quoted literals
    return env["f"]


def _enum_value_re(names):
    """Regex group for an enumerated value: any word, or one of the names
    that contain spaces (static strings such as 'Timer too close')."""
    spaced = sorted((n for n in names if re.search(r"\s", n)), key=lambda n: (-len(n), n))
    if not spaced:
        return r"(\S+)"
    return "(" + "|".join(re.escape(n) for n in spaced) + r"|\S+)"


def _bad_line(mf):
    def bad(line):
        raise ValueError("not a '%s' line: %r" % (mf.msgformat, line[:200]))
    return bad


def parse_text_generic(line: str):
    """(name, args) of a parsedump line without a dictionary: ints where
    the value is a number, bytes for b'...' values, else the string."""
    line = line.rstrip("\r\n")
    if "b'" not in line and 'b"' not in line:
        parts = line.split()
        args = {}
        for part in parts[1:]:
            key, _, text = part.partition("=")
            try:
                args[key] = int(text)
            except ValueError:
                args[key] = text
        return parts[0], args
    return _parse_generic_with_buffers(line)


_TOKEN_RE = re.compile(r"\s*([^=\s]+)=(" + _BYTES_RE[1:-1] + r"|\S*)")


def _parse_generic_with_buffers(line):
    name, _, rest = line.strip().partition(" ")
    args = {}
    pos = 0
    while pos < len(rest):
        m = _TOKEN_RE.match(rest, pos)
        if m is None:
            if rest[pos:].strip():
                raise ValueError("cannot parse %r" % line[:200])
            break
        key, text = m.group(1), m.group(2)
        if text[:2] in ("b'", 'b"'):
            args[key] = ast.literal_eval(text)
        else:
            try:
                args[key] = int(text)
            except ValueError:
                args[key] = text
        pos = m.end()
    return name, args


# ---------------------------------------------------------------------------
# Data dictionary
# ---------------------------------------------------------------------------

class Dictionary:
    """A Klipper data dictionary: message formats, enumerations, constants."""

    def __init__(self, raw: dict):
        _check_raw(raw)
        self.raw = raw
        self.config = dict(raw.get("config", {}))
        self.clock_freq = int(self.config.get("CLOCK_FREQ", 0))
        self.mcu = str(self.config.get("MCU", ""))
        self.enumerations = {name: expand_enumeration(values)
                             for name, values in sorted(raw.get("enumerations", {}).items())}
        self.pins = self.enumerations.get("pin", {})
        self.pin_names = {v: n for n, v in sorted(self.pins.items())}
        self.move_count = int(raw.get("move_count", 0))
        self.commands = self._formats({**DEFAULT_COMMANDS, **raw.get("commands", {})})
        self.responses = self._formats({**DEFAULT_RESPONSES, **raw.get("responses", {})})
        self.by_id = {"command": {m.msgid: m for m in self.commands.values()},
                      "response": {m.msgid: m for m in self.responses.values()}}
        self.by_id["any"] = {**self.by_id["response"], **self.by_id["command"]}
        self._parsers = {}
        self._by_name = {**self.responses, **self.commands}

    def _formats(self, table):
        out = {}
        for msgformat, msgid in sorted(table.items(), key=lambda kv: kv[1]):
            mf = MessageFormat(int(msgid), msgformat, self.enumerations)
            out[mf.name] = mf
        return out

    @classmethod
    def from_json(cls, obj: dict) -> "Dictionary":
        return cls(obj)

    @classmethod
    def load(cls, path) -> "Dictionary":
        """Read a dictionary file: plain JSON or zlib-compressed JSON (as
        the firmware stores it)."""
        with open(path, "rb") as f:
            data = f.read()
        if data[:1] not in (b"{", b"[", b" ", b"\n", b"\t", b"\r"):
            try:
                data = zlib.decompress(data)
            except zlib.error as e:
                raise ValueError("%s: neither JSON nor zlib data (%s)" % (path, e))
        try:
            return cls(json.loads(data))
        except json.JSONDecodeError as e:
            raise ValueError("%s:%d: bad JSON: %s" % (path, e.lineno, e.msg)) from None
        except UnicodeDecodeError as e:
            raise ValueError("%s: not UTF-8 JSON (%s)" % (path, e.reason)) from None
        except ValueError as e:
            raise ValueError("%s: %s" % (path, e)) from None

    def lookup(self, name: str) -> MessageFormat:
        """A command or response format by message name."""
        mf = self._by_name.get(name)
        if mf is None:
            raise KeyError("unknown message %r for %s" % (name, self.mcu or "dictionary"))
        return mf

    def formatter(self, name: str):
        """The function args -> parsedump line for one message name."""
        return self.lookup(name)._format

    def encode(self, name: str, args: dict) -> bytes:
        return self.lookup(name).encode(args)

    def decode(self, payload, kind: str = "any", enums: bool = True):
        """All messages in one block payload as (name, args). `kind` picks
        the id table: "command" (host to MCU), "response", or "any"
        (commands win where an id is in both)."""
        table = self.by_id[kind]
        out = []
        pos = 0
        try:
            while pos < len(payload):
                start = pos
                msgid, pos = decode_vlq(payload, pos)
                mf = table.get(msgid)
                if mf is None:
                    raise ValueError("unknown message id %d at payload offset %d"
                                     % (msgid, start))
                args, pos = mf.decode(payload, pos, enums)
                out.append((mf.name, args))
        except IndexError:
            pos = len(payload) + 1
        if pos != len(payload):
            raise ValueError("message at payload offset %d runs past the end of its block"
                             % start)
        return out

    def format_text(self, name: str, args: dict) -> str:
        """The line Klipper's parsedump prints for this message."""
        mf = self._by_name.get(name) or self.lookup(name)
        return mf._format(args)

    def parse_text(self, line: str):
        """(name, args) of a parsedump line; inverse of format_text."""
        if line[:1].isspace():
            line = line.strip()
        name = line.split(" ", 1)[0].rstrip()
        parse = self._parsers.get(name)
        if parse is None:
            parse = self._parsers[name] = self.lookup(name)._parse
        return name, parse(line)

    def constant(self, name: str, default=None):
        """A firmware constant (CLOCK_FREQ, ADC_MAX, ...) or default."""
        return self.config.get(name, default)


def _check_raw(raw):
    """ValueError (one line) unless `raw` has a data dictionary's shape:
    commands/responses map format strings of known parameter types to
    integer ids, enumerations map names to ints or [start, count], and
    CLOCK_FREQ, when present, is a positive integer."""
    if not isinstance(raw, dict):
        raise ValueError("a data dictionary is a JSON object, not %s" % type(raw).__name__)
    for table in ("commands", "responses"):
        formats = raw.get(table, {})
        if not isinstance(formats, dict):
            raise ValueError("'%s' must map format strings to ids" % table)
        for msgformat, msgid in formats.items():
            _check_format(table, msgformat, msgid)
    enumerations = raw.get("enumerations", {})
    if not isinstance(enumerations, dict) or not all(
            isinstance(v, dict) and all(_enum_value_ok(x) for x in v.values())
            for v in enumerations.values()):
        raise ValueError("'enumerations' must map names to {name: int or [start, count]}")
    config = raw.get("config", {})
    if not isinstance(config, dict):
        raise ValueError("'config' must map constant names to values")
    freq = config.get("CLOCK_FREQ")
    if "CLOCK_FREQ" in config and not (_is_int_text(freq) and int(freq) > 0):
        raise ValueError("CLOCK_FREQ %r is not a positive integer" % (freq,))
    if not _is_int_text(raw.get("move_count", 0)):
        raise ValueError("move_count %r is not an integer" % (raw.get("move_count"),))


def _check_format(table, msgformat, msgid):
    parts = msgformat.split() if isinstance(msgformat, str) else []
    if not parts or not _IDENT.match(parts[0]):
        raise ValueError("%s: bad format string %r" % (table, msgformat))
    for part in parts[1:]:
        key, sep, fmt = part.partition("=")
        if not sep or not key or fmt not in PARAM_KINDS:
            raise ValueError("%s: bad parameter %r in %r (types: %s)"
                             % (table, part, msgformat, " ".join(PARAM_KINDS)))
    if isinstance(msgid, bool) or not isinstance(msgid, int) or not -(1 << 28) <= msgid < 1 << 28:
        raise ValueError("%s: id %r of %r is not a message id" % (table, msgid, msgformat))


def _enum_value_ok(value):
    if isinstance(value, list):
        return len(value) == 2 and all(isinstance(v, int) and v >= 0 for v in value)
    return isinstance(value, int) and not isinstance(value, bool)


def _is_int_text(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


# ---------------------------------------------------------------------------
# Shipped profiles
# ---------------------------------------------------------------------------

PROFILE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profiles")
ALIASES_FILE = "aliases.json"     # Klipper's dictionary file stems -> profile names
_profile_cache = {}


def profile_names():
    """Names of the shipped MCU profiles, sorted (aliases not included)."""
    return sorted(f[:-5] for f in os.listdir(PROFILE_DIR)
                  if f.endswith(".json") and f != ALIASES_FILE)


def profile_aliases():
    """{alias: profile name}: Klipper's dictionary file stems (lpc176x,
    linuxprocess, ...) accepted as profile names."""
    with open(os.path.join(PROFILE_DIR, ALIASES_FILE)) as f:
        return json.load(f)


def resolve_profile(name: str) -> str:
    """The profile a name or alias stands for (KeyError if neither)."""
    if name in profile_names():
        return name
    aliases = profile_aliases()
    if name in aliases:
        return aliases[name]
    raise KeyError("unknown MCU profile %r (known: %s)" % (name, ", ".join(profile_names())))


def load_profile(name: str) -> Dictionary:
    """A shipped MCU profile (chelper/profiles/<name>.json), by name or alias."""
    name = resolve_profile(name)
    if name not in _profile_cache:
        _profile_cache[name] = Dictionary.load(os.path.join(PROFILE_DIR, name + ".json"))
    return _profile_cache[name]


def profile_pins(name: str) -> set:
    """Pin names of a shipped MCU profile, without parsing its message
    formats (sim/mcu_pick tries every profile's pins at start-up)."""
    name = resolve_profile(name)
    if name in _profile_cache:
        return set(_profile_cache[name].pins)
    with open(os.path.join(PROFILE_DIR, name + ".json"), "rb") as f:
        raw = json.load(f)
    return set(expand_enumeration(raw.get("enumerations", {}).get("pin", {})))


def load_dictionary(path_or_name: str) -> Dictionary:
    """A dictionary file if the path exists, else a profile by name."""
    if os.path.exists(path_or_name):
        return Dictionary.load(path_or_name)
    return load_profile(path_or_name)
