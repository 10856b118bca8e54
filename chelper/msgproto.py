"""Klipper's data dictionaries: the JSON a firmware build emits, and the
MCU profiles klipsim ships.

Contract (Klipper docs/Protocol.md, "Data Dictionary"):
- `Dictionary`: a data dictionary with one msgformat.MessageFormat per
  `name key=%fmt ...` entry, its enumerations and constants; it encodes
  and decodes block payloads and reads/writes parsedump's text lines.
  `Dictionary.load(path)` reads plain or zlib-compressed JSON and
  refuses a malformed one with one line.
- Shipped profiles (chelper/profiles/<name>.json): `profile_names`,
  `profile_aliases`, `resolve_profile`, `load_profile`, `profile_pins`,
  and `load_dictionary` (a file, else a profile by name).
The wire framing is msgblock's, one message format's encoding and text
form msgformat's.
"""
import functools
import json
import os
import zlib

from .msgblock import decode_vlq
from .msgformat import IDENTIFIER, PARAM_KINDS, Enumerations, MessageFormat

# identify/identify_response have fixed ids in every firmware
# (docs/Protocol.md, "Data Dictionary"); used when a dictionary lacks them.
DEFAULT_COMMANDS = {"identify offset=%u count=%c": 1}
DEFAULT_RESPONSES = {"identify_response offset=%u data=%.*s": 0}

# ---------------------------------------------------------------------------
# Data dictionary
# ---------------------------------------------------------------------------

def expand_enumeration(values: dict) -> dict:
    """{name: int} from a dictionary enumeration where `"PA0": [0, 8]`
    stands for PA0..PA7 = 0..7 (trailing digits counted up)."""
    out = {}
    for name, value in values.items():
        if isinstance(value, list):
            start, count = value
            root = name.rstrip("0123456789")
            first = int(name[len(root):] or 0)
            out.update(zip([root + str(n) for n in range(first, first + count)],
                           range(start, start + count)))
        else:
            out[name] = value
    return out


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
        enumerations = Enumerations(self.enumerations)
        for msgformat, msgid in sorted(table.items(), key=lambda kv: kv[1]):
            mf = MessageFormat(int(msgid), msgformat, enumerations)
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
    if not parts or not IDENTIFIER.match(parts[0]):
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
    return list(_profile_files())


@functools.cache
def _profile_files():
    # Read once: profile picking resolves every profile's name (start-up).
    return tuple(sorted(f[:-5] for f in os.listdir(PROFILE_DIR)
                        if f.endswith(".json") and f != ALIASES_FILE))


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
    """Pin names of a shipped MCU profile, without reading the profile
    (sim/mcus/profile_pick tries every profile's pins at start-up): from
    chelper/profile_pins.py, which make_profiles.py writes beside them."""
    name = resolve_profile(name)
    if name in _profile_cache:
        return set(_profile_cache[name].pins)
    from .profile_pins import PINS
    return set(expand_enumeration(PINS[name]))


def load_dictionary(path_or_name: str) -> Dictionary:
    """A dictionary file if the path exists, else a profile by name."""
    if os.path.exists(path_or_name):
        return Dictionary.load(path_or_name)
    return load_profile(path_or_name)
