"""Streaming G-code reader: a file (plain or .gz) in, `GCodeCommand`s out.

Contract: `read_gcode(path)` yields one `GCodeCommand` per line that holds a
command, in file order, holding only one line in memory at a time (lines
longer than MAX_LINE bytes are reported, not stored).  Blank and
comment-only lines yield nothing but still count for line numbers (first
line is 1).  `read_lines(lines, source)` does the same for text already in
memory (macros, tests).  Nothing here raises for bad G-code: problems
travel on the command (`line_error`, `param_error`, see command.py) so the
dispatcher can report them as `file:line: message` and go on.

A file that can not be opened raises `GCodeError` naming the file.
"""
import gzip
import zlib
import io
import os

from .command import GCodeCommand, parse_line
from .errors import GCodeError

# Longest line we keep (bytes).  Slicer lines are < 200 bytes; a longer
# line means a binary or corrupted file, reported once per line.
MAX_LINE = 1 << 16


def open_binary(path):
    """Binary file object for a G-code file, gunzipping '.gz' files."""
    try:
        if str(path).endswith(".gz"):
            packed = gzip.open(path, "rb")
            packed.peek(1)  # fail here, not mid-iteration, on a non-gzip file
            # A C-level buffer in front makes readline() much cheaper.
            handle = io.BufferedReader(packed, 1 << 16)
            handle.disk_tell = packed.fileobj.tell
            return _skip_bom(handle)
        return _skip_bom(open(path, "rb"))
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise GCodeError("Unable to open G-code file: %s" % (reason,), path) from None


def read_chunk(handle, size, path):
    """handle.read(size), a damaged (e.g. truncated .gz) file being one
    GCodeError naming it rather than an EOFError mid-run."""
    try:
        return handle.read(size)
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise GCodeError("Unable to read G-code file: %s" % (reason,), path) from None


UTF8_BOM = b"\xef\xbb\xbf"


def _skip_bom(handle):
    """Skip a UTF-8 byte-order mark at the start of the file (editors on
    Windows may write one; it is not part of the first command)."""
    if handle.peek(3)[:3] == UTF8_BOM:
        handle.read(3)
    return handle


def _decode(raw):
    # Klipper reads G-code as text; bytes that are not UTF-8 can only be in
    # comments or M117 messages in practice, so replacing them is harmless.
    return raw.decode("utf-8", "replace")


def _too_long(source, lineno):
    return GCodeCommand("", {}, "", source, lineno,
                        line_error="Line longer than %d bytes" % (MAX_LINE,))


def _position_on_disk(handle):
    """A function giving how far into the file on disk reading has got."""
    # for .gz, open_binary left the compressed file's tell on the handle
    return getattr(handle, "disk_tell", handle.tell)


def iter_binary(handle, source):
    """Commands from an open binary file object; each command's `offset`
    is the reading position on disk after its line."""
    lineno = 0
    readline = handle.readline
    position = _position_on_disk(handle)
    while True:
        raw = readline(MAX_LINE)
        if not raw:
            return
        lineno += 1
        if len(raw) == MAX_LINE and not raw.endswith(b"\n"):
            # Skip the rest of this overlong line in bounded chunks.
            while True:
                rest = readline(MAX_LINE)
                if not rest or rest.endswith(b"\n"):
                    break
            command = _too_long(source, lineno)
        else:
            command = parse_line(_decode(raw), source, lineno)
        if command is not None:
            command.offset = position()
            yield command


def read_gcode(path, source=None):
    """Commands of a G-code file; `source` (default: the file's base name)
    is the name used in messages."""
    if source is None:
        source = os.path.basename(str(path))
    handle = open_binary(path)  # raises now, not at the first next()
    return _closing(handle, source)


def _closing(handle, source):
    with handle:
        yield from iter_binary(handle, source)


def read_lines(lines, source="<gcode>", first_lineno=1):
    """Commands from an iterable of text lines (or one string)."""
    if isinstance(lines, str):
        lines = lines.split("\n")
    for lineno, line in enumerate(lines, first_lineno):
        command = parse_line(line, source, lineno)
        if command is not None:
            yield command
