"""The 64-bit clocks a command stream's 32-bit clock fields stand for.

Contract: `StreamClocks().extend(key, clock32)` returns the 64-bit MCU
clock of a message's clock field, messages taken in stream order; `key`
names the object the clock belongs to (its oid).  `advance(clock)` tells
it a step time (64-bit, known from the step programs).

A text or binary stream carries clocks modulo 2^32 (Klipper's wire
format, docs/Protocol.md); 2^32 ticks are 23.9 s at 180 MHz, 8.3 s at
520 MHz.  The rule, which holds for the streams Klipper's batch mode,
Klipper's live host and klipsim write:
- one object's clocks never go back in stream order (the MCU requires
  it of queue_digital_out, endstop_home, trsync and query commands);
- no clock is more than BEHIND ticks before the stream's progress P:
  the latest step time, or the latest clock that was at most AHEAD ticks
  past P when read (a batch-mode stream may name a fan change 28 s ahead
  before the first step; such a far clock does not move P);
so a clock is the first one with its low 32 bits that is not before
max(the object's previous clock, P - BEHIND).  Its limit: a clock at
least 2^32 ticks after that floor is read 2^32 ticks early.  Measured
on the 25 reference prints compiled by klipsim: clocks are never behind
the step time in batch mode and at most 3.6 s ahead of it; in simulate
streams heater updates trail the steps by up to ~2 s.

A jsonl stream carries 64-bit clocks: StreamClocks(wide=True) takes
them as they are (and still tracks progress).
"""

U32 = 0xFFFFFFFF
BEHIND = 1 << 31           # 11.9 s at 180 MHz, 134 s at 16 MHz
AHEAD = 1 << 30            # a clock this close to P moves P


class StreamClocks:
    """Extends 32-bit stream clocks by the rule above."""

    def __init__(self, wide=False):
        self.wide = wide
        self.progress = 0          # P: latest step time or near clock
        self.last = {}             # object key -> its latest clock

    def advance(self, clock):
        """A step time: the stream has progressed to `clock`."""
        if clock > self.progress:
            self.progress = clock

    def extend(self, key, clock32, floor=0, narrow=False):
        """The 64-bit clock of `clock32` for object `key`; `floor` is a
        further lower bound the caller knows (a stepper's last step);
        `narrow`: a 32-bit field even in a jsonl stream (only `clock`
        parameters are written with 64 bits there)."""
        previous = self.last.get(key, 0)
        if self.wide and not narrow:
            clock = clock32
        else:
            base = max(previous, floor, self.progress - BEHIND, 0)
            clock = base + ((clock32 - base) & U32)
        if clock > previous:
            self.last[key] = clock
        if self.progress < clock <= self.progress + AHEAD:
            self.progress = clock
        return clock
