"""One G-code line turned into a command, with Klipper's lexical rules.

Contract: `parse_line(text, source, lineno)` returns a `GCodeCommand`, or
None for a blank or comment-only line.  It never raises: a line that is
malformed beyond what Klipper tolerates carries `line_error` (always an
error when run) and an extended command whose parameters can not be split
carries `param_error` (an error only if a handler for it exists, because
Klipper parses extended parameters only after finding the handler).

Klipper's rules, as documented behaviour of its G-code dispatcher
(klippy/gcode.py at the reference commit), restated in our own code:
- the line is stripped, everything from the first ';' is a comment;
- the rest is upper-cased and split into words by the pattern
  `[A-Z_]+ | [A-Z*]`: each word is a key, the text up to the next word
  (stripped) its value.  So `G1X10Y20` gives X=10, Y=20, `X1e2` gives X=1
  and E=2, `*` is a key (the checksum), and the command's own letter is a
  key too (`G1 X1` has params G='1', X='1');
- the command name is the text before the first word plus the first word
  and its value (`G` + `1` -> `G1`, `SET_PIN` + '' -> `SET_PIN`); when the
  first word is a lone `N` (a line number) the next word names the command;
- a "traditional" name is a letter followed by a number (`G1`, `M117`,
  `T0`); any other name is an extended command, whose parameters are
  re-read from the original text with shell-style quoting, `#`/`;` starting
  a comment: `KEY=VALUE` words, keys upper-cased, values kept as written.
  A word without '=' or an unclosed quote makes the command malformed.
- the raw parameter text (M117, ECHO, macros' rawparams) is the original
  line after the command name and one blank; when the line had a prefix
  such as a line number, a trailing `*digits` checksum is dropped.
- numbers are read with Python's float()/int() (as Klipper does), so
  `X-.5` is -0.5 and `S1.0` is not an int; unlike Python's float(), a
  number must be finite (`X=nan`, `P=inf`, `1e309` are unparsable).

Checksums: Klipper's parser ignores `N` line numbers and `*` checksums
(the `*` is only one more parameter word), so a line with a wrong checksum
runs as written, as in Klipper.
"""
import math
import re
import shlex

from .errors import GCodeError

REQUIRED = object()

# Word pattern of Klipper's classic parser: a run of letters/underscores, or
# a single letter or '*'.
_WORD_SPLIT = re.compile(r"([A-Z_]+|[A-Z*])").split


_TRADITIONAL = {}   # name -> bool; few distinct names occur in a file


def is_traditional(name):
    """True for a letter followed by a number (`G1`, `M117`, `T0`, `G1.5`)."""
    known = _TRADITIONAL.get(name)
    if known is None:
        known = _is_traditional(name)
        if len(_TRADITIONAL) < 4096:
            _TRADITIONAL[name] = known
    return known


def _is_traditional(name):
    head = name.split(None, 1)[0] if name else ""
    if len(head) < 2 or not head[0].isupper() or not head[1].isdigit():
        return False
    try:
        float(head[1:])
    except ValueError:
        return False
    return True


class GCodeCommand:
    """A command read from a file or a macro.

    name: command name as dispatched ('G1', 'SET_VELOCITY_LIMIT', '' never
    occurs for yielded commands); params: dict KEY -> str; raw_params: the
    parameter text as written; text: the stripped line; source/lineno: place;
    offset: for commands read from a file, how far into the file on disk
    (compressed bytes for .gz) reading has got, comparable to its size.
    """

    __slots__ = ("name", "params", "text", "source", "lineno",
                 "line_error", "param_error", "extended", "offset")

    def __init__(self, name, params, text, source=None, lineno=None,
                 line_error=None, param_error=None, extended=False):
        self.name = name
        self.params = params
        self.text = text
        self.source = source
        self.lineno = lineno
        self.line_error = line_error
        self.param_error = param_error
        self.extended = extended
        self.offset = None   # file position after this line (progress bars)

    def __repr__(self):
        return "GCodeCommand(%r, %r, %s)" % (self.name, self.params, self.location)

    @property
    def location(self):
        if self.source is None:
            return "<gcode>"
        if self.lineno is None:
            return str(self.source)
        return "%s:%d" % (self.source, self.lineno)

    @property
    def raw_params(self):
        return raw_parameters(self.name, self.text)

    def error(self, message):
        """A GCodeError located at this command (for handlers to raise)."""
        return GCodeError(message, self.source, self.lineno)

    # Parameter accessors, with Klipper's GCodeCommand.get semantics.
    def get(self, key, default=REQUIRED, parser=str, minval=None, maxval=None,
            above=None, below=None):
        value = self.params.get(key)
        if value is None:
            if default is REQUIRED:
                raise self.error("Missing parameter %s in '%s'" % (key, self.text))
            return default
        try:
            value = parser(value)
        except (ValueError, TypeError, OverflowError):
            kind = {int: "an integer", finite_float: "a number"}.get(parser, "a value")
            raise self.error("Unable to parse %s=%s as %s" % (key, value, kind))
        _check_range(self, key, value, minval, maxval, above, below)
        return value

    def get_int(self, key, default=REQUIRED, minval=None, maxval=None):
        return self.get(key, default, int, minval, maxval)

    def get_float(self, key, default=REQUIRED, minval=None, maxval=None,
                  above=None, below=None):
        return self.get(key, default, finite_float, minval, maxval, above, below)

    def has(self, key):
        return key in self.params


# Resource bound (klipsim's, not Klipper's): no number in a config option
# or a G-code parameter beyond +-1e15.  No real setting comes near (the
# largest are thermistor resistances, ~1e7 ohm); squaring a bigger one
# (distances, v^2, filament area) can overflow a double.
MAX_MAGNITUDE = 1e15


def magnitude_problem(value):
    """' must be between ...' when a parsed float is beyond MAX_MAGNITUDE."""
    if isinstance(value, float) and not -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        return " must be between %g and %g (klipsim's bound on any number)" % (
            -MAX_MAGNITUDE, MAX_MAGNITUDE)
    return None


def finite_float(text):
    """float(text), refusing nan and +-inf with ValueError: Python's float()
    reads 'nan', 'inf' and '1e309' without complaint, and nan then passes
    every `<`/`>` range check and fails deep inside (config and G-code
    getters both parse numbers with this)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _check_range(cmd, key, value, minval, maxval, above, below):
    problem = magnitude_problem(value)
    if problem:
        raise cmd.error(key + problem)
    if minval is not None and value < minval:
        raise cmd.error("%s must have minimum of %s" % (key, minval))
    if maxval is not None and value > maxval:
        raise cmd.error("%s must have maximum of %s" % (key, maxval))
    if above is not None and value <= above:
        raise cmd.error("%s must be above %s" % (key, above))
    if below is not None and value >= below:
        raise cmd.error("%s must be below %s" % (key, below))


def raw_parameters(name, text):
    """Text after the command name, as Klipper's rawparams defines it."""
    start = len(name)
    end = len(text)
    if text[:start].upper() != name:
        # A prefix (line number) precedes the name: find it, drop a checksum.
        start += text.upper().find(name)
        star = text.rfind("*")
        if star >= 0 and text[star + 1:].isdigit():
            end = star
    if text[start:start + 1].isspace():
        start += 1
    return text[start:end]


def extended_parameters(raw):
    """KEY=VALUE words of an extended command (shell quoting, '#'/';'
    comments); raises ValueError when malformed."""
    lexer = shlex.shlex(raw, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#;"
    params = {}
    for word in lexer:
        key, value = word.split("=", 1)  # ValueError when there is no '='
        params[key.upper()] = value
    return params


_strip = str.strip


def classic_split(code):
    """(name, params) from the comment-free part of a line, Klipper's way."""
    parts = _WORD_SPLIT(code.upper())
    if len(parts) > 1 and parts[0] == "" and parts[1] == "N":
        name = "".join(parts[3:5]).strip()
    else:
        name = "".join(parts[:3]).strip()
    # words at odd indexes, their values after them (the last word wins)
    params = dict(zip(parts[1::2], map(_strip, parts[2::2])))
    return name, params


def parse_line(line, source=None, lineno=None):
    """A GCodeCommand for one line, or None when there is nothing to run."""
    text = line.strip()
    if not text:
        return None
    cut = text.find(";")
    code = text if cut < 0 else text[:cut]
    if not code.strip():
        return None
    name, params = classic_split(code)
    if not name:
        # Only a line number (or '*'): Klipper treats it as an empty command.
        return None
    command = GCodeCommand(name, params, text, source, lineno)
    if name and not is_traditional(name):
        command.extended = True
        try:
            command.params = extended_parameters(raw_parameters(name, text))
        except ValueError:
            command.param_error = "Malformed command '%s'" % (text,)
    return command


def make_command(name, params, text=None, source=None, lineno=None):
    """A command built by code (arc segments, host-generated moves):
    params may hold numbers, get_float() accepts them."""
    if text is None:
        text = name
    return GCodeCommand(name, dict(params), text, source, lineno)
