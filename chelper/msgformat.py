"""One message format of a Klipper data dictionary (`name key=%fmt ...`):
its binary encoding and decoding and the one-line text form Klipper's
parsedump tool prints (`queue_step oid=2 interval=... ...`).

Contract: `MessageFormat(msgid, msgformat, enumerations)` encodes and
decodes one message's parameters (`encode`, `decode`, `to_int`) and
formats and parses its text line (`format_text`, `parse_text`; the
functions that do it are generated at first use); `parse_text_generic`
reads a parsedump line without a dictionary.

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
import operator
import re

from .msgblock import decode_vlq, encode_vlq

U32 = 0xFFFFFFFF

# ---------------------------------------------------------------------------
# Message formats
# ---------------------------------------------------------------------------

# Parameter kinds: how a value is carried and shown.
UNSIGNED, SIGNED, BUFFER = 0, 1, 2
PARAM_KINDS = {"%u": UNSIGNED, "%hu": UNSIGNED, "%c": UNSIGNED,
               "%i": SIGNED, "%hi": SIGNED,
               "%s": BUFFER, "%*s": BUFFER, "%.*s": BUFFER}

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BYTES_RE = r"""(b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*")"""


def enumeration_for(param: str, enumerations: dict):
    """Name of the enumeration a parameter uses (docs/Protocol.md: its own
    name or a `_<name>` suffix), or None."""
    if param in enumerations:
        return param
    suffixes = [e for e in sorted(enumerations) if param.endswith("_" + e)]
    return max(suffixes, key=len) if suffixes else None


class Enumerations:
    """A dictionary's enumerations ({enumeration: {name: int}}) with the
    enumeration each parameter name uses and each enumeration's {int:
    name} map worked out once: a dictionary's ~150 formats share a few
    parameter names (start-up)."""

    def __init__(self, names: dict):
        self.names = names
        self._by_param = {}
        self._values = {}

    def for_param(self, param: str):
        """enumeration_for(param), remembered."""
        if param not in self._by_param:
            self._by_param[param] = enumeration_for(param, self.names)
        return self._by_param[param]

    def values(self, enum: str) -> dict:
        """{int: name} of one enumeration; where several names share a
        number, the last in sorted order (as parsedump shows it)."""
        values = self._values.get(enum)
        if values is None:
            values = self._values[enum] = {v: n for n, v in sorted(self.names[enum].items())}
        return values


class MessageFormat:
    """One `name key=%fmt ...` entry of a data dictionary (enumerations:
    a dict {enumeration: {name: int}} or an Enumerations)."""

    def __init__(self, msgid: int, msgformat: str, enumerations=None):
        parts = msgformat.split()
        self.msgid = msgid
        self.msgformat = msgformat
        self.name = parts[0]
        self.params = [tuple(p.split("=", 1)) for p in parts[1:]]
        self.keys = tuple(k for k, _ in self.params)
        self.kinds = tuple(PARAM_KINDS[f] for _, f in self.params)
        if not isinstance(enumerations, Enumerations):
            enumerations = Enumerations(enumerations or {})
        self.enum_names = {}      # param -> {name: int}
        self.enum_values = {}     # param -> {int: name}
        for key, fmt in self.params:
            enum = enumerations.for_param(key) if PARAM_KINDS[fmt] != BUFFER else None
            if enum is not None:
                self.enum_names[key] = enumerations.names[enum]
                self.enum_values[key] = enumerations.values(enum)
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
    if not all(IDENTIFIER.match(k) for k in mf.keys):
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
