"""Chunked scanning of parsedump text through chelper/src/msgtext.c.

`TextScanner.scan(text, final)` splits a byte buffer into rows of six
int64s, one per non-blank line (see msgtext.c): kind 0 `queue_step` with
(oid, interval, count, add), kind 1 `set_next_step_dir` with (oid, dir),
kind 2 any other line as (start, end) byte offsets for Python to parse;
the last column is the line's number within the buffer. `iter_rows`
drives it over a binary file. Used by streamio.read_stream and
golden/stepdiff.py, whose big inputs are ~97 % queue_step lines.
"""
import numpy as np

from ._chelper import ffi, lib

QUEUE_STEP, STEP_DIR, OTHER = 0, 1, 2
SCAN_ROWS = 1 << 16
SCAN_CHUNK = 1 << 20


class TextScanner:
    """Runs msgtext_scan_steps, SCAN_ROWS lines at a time."""

    def __init__(self):
        self.rows = np.empty((SCAN_ROWS, 6), dtype=np.int64)
        self.n_rows = ffi.new("int64_t *")
        self.n_lines = ffi.new("int64_t *")

    def scan(self, text: bytes, final: bool):
        """(bytes consumed, rows, lines consumed). The rows array is reused
        by the next call."""
        consumed = lib.msgtext_scan_steps(
            ffi.from_buffer(text), len(text), 1 if final else 0,
            ffi.from_buffer("int64_t[]", self.rows), SCAN_ROWS, self.n_rows, self.n_lines)
        return consumed, self.rows[:self.n_rows[0]], self.n_lines[0]


def iter_rows(f):
    """Yield (rows, text, first_line) over a binary file: rows of `text`
    (bytes), whose first line is number first_line + 1 in the file."""
    scanner = TextScanner()
    buf = b""
    first_line = 0
    while True:
        chunk = f.read(SCAN_CHUNK)
        buf = buf + chunk if buf else chunk
        while True:
            used, rows, lines = scanner.scan(buf, not chunk)
            yield rows, buf, first_line
            first_line += lines
            buf = buf[used:]
            if len(rows) < SCAN_ROWS:
                break
        if not chunk:
            return
