"""Scheduled-minus-arrival margins of one MCU, per deadline class.

Contract: `Margins()` records, in C (`struct fw_margins`,
firmware/simulator/fw_node.c, where the MCU node's common arrival adds
to them without Python), and reads back as Python values:
- `minimum` {class: smallest margin in ticks, or None} and `counts`
  {class: margins recorded}, in CLASSES order (sim/link/messages.py);
- `series`: [(arrival ns, a block's smallest margin)] in arrival order;
- `per_second` {class: {second of arrival: smallest}} and `minimum_at`
  {class: (smallest, first arrival ns at it)}, classes in the order they
  were first noted, seconds ascending (what --plot draws, and where each
  minimum fell).
`add(klass, margin)`, `add_many(klass, margin, count)`,
`note_block(now_ns, {class: worst})`, `note_one(now_ns, klass, margin)`
and `add_series(now_ns, worst)` record. A Margins pickles as its values
(MarginValues).
"""
from dataclasses import dataclass

from ...firmware.simulator._fwsim import ffi, lib
from ..link.messages import CLASSES

_INDEX = {k: i for i, k in enumerate(CLASSES)}
assert len(CLASSES) == lib.FW_CLASSES


class Margins:
    """Smallest scheduled-minus-arrival margin per deadline class (ticks)."""

    def __init__(self):
        self.c = ffi.gc(lib.fw_margins_new(), lib.fw_margins_free)
        self._out = ffi.new("int64_t[2]")

    # ---- recording ------------------------------------------------------------
    def add(self, klass, margin):
        lib.fw_margins_add(self.c, _INDEX[klass], margin, 1)

    def add_many(self, klass, margin, count):
        """`count` margins of one class, the smallest `margin`."""
        lib.fw_margins_add(self.c, _INDEX[klass], margin, count)

    def note_block(self, now_ns, worst_by_class):
        """A block's smallest margin per class, arrived at now_ns: kept
        per second (what --plot draws) and where each minimum fell."""
        for klass, margin in worst_by_class.items():
            lib.fw_margins_note(self.c, now_ns, _INDEX[klass], margin)

    def note_one(self, now_ns, klass, margin):
        """note_block for one class."""
        lib.fw_margins_note(self.c, now_ns, _INDEX[klass], margin)

    def add_series(self, now_ns, worst):
        lib.fw_margins_add_series(self.c, now_ns, worst)

    # ---- reading ----------------------------------------------------------------
    @property
    def minimum(self):
        out, c = self._out, self.c
        return {k: out[0] if lib.fw_margins_minimum(c, i, out) else None
                for i, k in enumerate(CLASSES)}

    @property
    def counts(self):
        return {k: lib.fw_margins_count(self.c, i) for i, k in enumerate(CLASSES)}

    @property
    def series(self):
        n = lib.fw_margins_series_len(self.c)
        buf = ffi.new("int64_t[]", 2 * n or 1)
        lib.fw_margins_series_read(self.c, buf)
        flat = list(buf)[:2 * n]
        return list(zip(flat[0::2], flat[1::2]))

    def _order(self):
        order = ffi.new("int32_t[]", len(CLASSES))
        return [CLASSES[order[i]] for i in range(lib.fw_margins_order(self.c, order))]

    @property
    def per_second(self):
        out = {}
        for klass in self._order():
            i = _INDEX[klass]
            buf = ffi.new("int64_t[]", 2 * lib.fw_margins_span(self.c, i) or 1)
            n = lib.fw_margins_seconds(self.c, i, buf)
            flat = list(buf)[:2 * n]
            out[klass] = dict(zip(flat[0::2], flat[1::2]))
        return out

    @property
    def minimum_at(self):
        out = self._out
        result = {}
        for klass in self._order():
            lib.fw_margins_minimum_at(self.c, _INDEX[klass], out)
            result[klass] = (out[0], out[1])
        return result

    def values(self):
        """The recorded margins as plain values (MarginValues)."""
        return MarginValues(self.minimum, self.counts, self.series, self.per_second,
                            self.minimum_at)

    def __reduce__(self):          # (pickles as its values, without the C record)
        return MarginValues, tuple(self.values().__dict__.values())


@dataclass
class MarginValues:
    """What a Margins holds, as plain values."""
    minimum: dict
    counts: dict
    series: list
    per_second: dict
    minimum_at: dict
