"""Parsedump text fast paths through chelper/src/msgtext.c.

Scanning: `TextScanner.scan(text, final)` splits a byte buffer into rows of six
int64s, one per non-blank line (see msgtext.c): kind 0 `queue_step` with
(oid, interval, count, add), kind 1 `set_next_step_dir` with (oid, dir),
kind 2 any other line as (start, end) byte offsets for Python to parse;
the last column is the line's number within the buffer. `iter_rows`
drives it over a binary file. Used by streamio.read_stream and
golden/stepdiff.py, whose big inputs are ~97 % queue_step lines.

Formatting: `TextFormatter` collects messages and has C write the lines
of every integer-only message (no enumeration, no buffer: queue_step,
set_next_step_dir, queue_digital_out ...); the others are formatted by
msgformat in Python, in order. The text is exactly format_text's. A
flush's step messages come as one chelper.steppersync.StepBatch
(`add_batch`), which C formats straight from the batch, each message as
its layout flattens it into the same template numbers and values
(msgtext_format_batch).
"""
import array
import operator

from . import steppersync
from ._chelper import ffi, lib
from .msgformat import BUFFER, UNSIGNED

QUEUE_STEP, STEP_DIR, OTHER = 0, 1, 2
SCAN_ROWS = 1 << 16
SCAN_CHUNK = 1 << 20


class TextScanner:
    """Runs msgtext_scan_steps, SCAN_ROWS lines at a time."""

    def __init__(self):
        import numpy as np   # here: only reading text streams needs it
        self.rows = np.empty((SCAN_ROWS, 6), dtype=np.int64)
        self.n_rows = ffi.new("int64_t *")
        self.n_lines = ffi.new("int64_t *")

    def scan(self, text: bytes, final: bool):
        """(bytes consumed, rows, lines consumed). The rows array is reused
        by the next call."""
        consumed = lib.msgtext_scan_steps(
            ffi.from_buffer(text), len(text), 1 if final else 0,
            ffi.from_buffer("int64_t[]", self.rows), len(self.rows), self.n_rows, self.n_lines)
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
            if len(rows) < len(scanner.rows):      # all complete lines taken
                break
        if not chunk:
            return


SIGNED_SLOT, UNSIGNED_SLOT = b"\x01", b"\x02"   # placeholders in templates


class TextFormatter:
    """Lines of many messages, formatted in C where possible."""

    BATCH = 1 << 15          # ints handed to C at a time
    OUT_BYTES = 1 << 20      # C's output buffer, reused

    def __init__(self, dictionary):
        self.dictionary = dictionary
        self._makers = {}         # name -> ints maker, or None: Python formats
        self._templates = []
        self._ints = []
        self._out = []
        self._layouts = False     # step message layouts, made when first needed
        self._used = ffi.new("int64_t *")
        self._cbuf = ffi.new("char[]", self.OUT_BYTES)
        self._fill = 0            # bytes of text waiting in _cbuf
        self._packed = None       # the templates for C (_pack_templates)

    def add(self, name, args, clock=None):
        """Queue one message (clock is not part of the text)."""
        self.add_many(((name, args, clock, 0),))

    def add_many(self, messages):
        """Queue (name, args, req_clock, min_clock) tuples in order: add()
        in one call, for the step-message path (~300 k messages for a big
        print), so each message costs no Python call of its own. Integer
        messages append their template index and parameter values (taken
        by a C itemgetter) to the batch C formats."""
        makers = self._makers
        ints = self._ints
        for name, args, _req, _min in messages:
            maker = makers.get(name, False)
            if maker is False:
                maker = makers[name] = self._maker(name)
            if maker is None:
                if ints:
                    self._run_c()
                    ints = self._ints
                self._take_cbuf()
                self._out.append((self.dictionary.format_text(name, args) + "\n").encode())
            else:
                ints.append(maker[0])
                ints += maker[1](args)
        if len(ints) >= self.BATCH:
            self._run_c()

    def add_batch(self, batch):
        """Queue a flush's step messages (chelper.steppersync.StepBatch):
        C formats them from the batch, with no Python per message."""
        layouts = self._layouts
        if layouts is False:
            layouts = self._step_layouts()
        if layouts is None:      # a step message Python must format
            self.add_many(batch.messages())
            return
        if self._ints:
            self._run_c()
        blob, n_templates, c_starts, c_lengths = self._packed or self._pack_templates()
        c_batch, total, used, pos = batch.c, batch.count, self._used, 0
        while pos < total:
            fill = self._fill
            n = lib.msgtext_format_batch(c_batch, pos, layouts, blob, c_starts, c_lengths,
                                         n_templates, self._cbuf + fill,
                                         self.OUT_BYTES - fill, used)
            pos = self._filled(n, pos, used[0])

    def _step_layouts(self):
        """steppersync layouts of the three step messages (template
        number, then the values in format order), or None when one of
        them has no C template (or is not in the dictionary)."""
        if self._layouts is False:
            per_kind = []
            for name in steppersync.KIND_NAMES:
                try:
                    maker = self._makers.get(name, False)
                    if maker is False:
                        maker = self._makers[name] = self._maker(name)
                except KeyError:
                    maker = None
                if maker is None:
                    per_kind = None
                    break
                per_kind.append(((maker[0],), self.dictionary.lookup(name).keys))
            self._layouts = per_kind and steppersync.make_layouts(per_kind)
        return self._layouts

    def take(self) -> bytes:
        """The text of the messages added since the last take."""
        if self._ints:
            self._run_c()
        self._take_cbuf()
        data = b"".join(self._out)
        self._out = []
        return data

    finish = take

    def _take_cbuf(self):
        """Move the text waiting in the C buffer to the output list."""
        if self._fill:
            self._out.append(ffi.buffer(self._cbuf, self._fill)[:])
            self._fill = 0

    def _maker(self, name):
        mf = self.dictionary.lookup(name)
        if mf.enum_names or BUFFER in mf.kinds or not mf.keys:
            return None
        template = mf.name.encode()
        for key, kind in zip(mf.keys, mf.kinds):
            template += b" " + key.encode() + b"=" + (UNSIGNED_SLOT if kind == UNSIGNED
                                                      else SIGNED_SLOT)
        index = len(self._templates)
        self._templates.append(template)
        self._packed = None
        # (template index, args -> tuple of parameter values in format
        # order); a one-key itemgetter returns the bare value, not a tuple.
        if len(mf.keys) == 1:
            key = mf.keys[0]
            return index, lambda args: (args[key],)
        return index, operator.itemgetter(*mf.keys)

    def _pack_templates(self):
        starts, lengths, blob = [], [], b""
        for t in self._templates:
            starts.append(len(blob))
            lengths.append(len(t))
            blob += t + b"\0"
        # array "i" is C int, int32_t on every platform klipsim builds on;
        # not numpy, which a compile need not load (issue 10: start-up).
        # (from_buffer's cdata keeps its array alive.)
        self._packed = (blob, len(starts), ffi.from_buffer("int32_t[]", array.array("i", starts)),
                        ffi.from_buffer("int32_t[]", array.array("i", lengths)))
        return self._packed

    def _run_c(self):
        # array.array converts a list of Python ints several times faster
        # than np.array.
        ints = array.array("q", self._ints)
        self._ints = []
        self._format(ffi.from_buffer("int64_t[]", ints), len(ints))

    def _format(self, ints, n_ints):
        """Format n_ints integers (cdata int64_t[]) of template numbers
        and values into lines, appended to the output."""
        blob, n_templates, c_starts, c_lengths = self._packed or self._pack_templates()
        used, pos = self._used, 0
        while pos < n_ints:
            fill = self._fill
            n = lib.msgtext_format(ints + pos, n_ints - pos, blob, c_starts, c_lengths,
                                   n_templates, self._cbuf + fill, self.OUT_BYTES - fill,
                                   used)
            pos = self._filled(n, pos, pos + used[0])

    def _filled(self, n, pos, after):
        """A C formatter wrote n bytes into _cbuf and got from item pos to
        `after`: the text stays in _cbuf across calls (one bytes object
        per buffer-full, not per flush); the formatters stop where the
        rest might not fit, so nothing taken means the buffer is full.
        Returns where to go on from."""
        if n < 0 or (after == pos and not self._fill):
            raise ValueError("text formatting failed: bad template data")
        self._fill += n
        if after == pos:
            self._take_cbuf()
        return after
