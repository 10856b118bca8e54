"""The Python reference model of the event kernel (`PyKernel`): the C
kernel (events.py, chelper/src/vs_kernel.c) must order and run events
exactly as this does; tests/test_vsched_port.py compares the two.

Contract: events.py's `Kernel` (now, schedule/after/cancel, peek/step/
run, rng, record/trace_bytes), with the heap in Python (heapq) and every
event a Python callback.
"""
from __future__ import annotations

from heapq import heappop, heappush
from typing import Callable

from klipsim.lazy import numpy as np

from .events import SimError, trace_bytes


class Event:
    """One queued callback; `cancel()` makes the kernel skip it."""

    __slots__ = ("time", "callback")

    def __init__(self, time: int, callback: Callable[[], None]):
        self.time = time
        self.callback = callback

    @property
    def pending(self) -> bool:
        return self.callback is not None

    def cancel(self) -> None:
        self.callback = None


class PyKernel:
    """The event heap and the virtual clock."""

    def __init__(self, rng: np.random.Generator | None = None,
                 trace: bool = False):
        self.now: int = 0
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self._heap: list[tuple[int, int, int, Event]] = []
        self._sequence = 0
        self.events_run = 0
        self.trace: list[tuple[int, str, str, int]] | None = [] if trace else None

    # -- scheduling -----------------------------------------------------
    def schedule(self, at: int, callback: Callable[[], None],
                 priority: int = 0) -> Event:
        """Run `callback()` at absolute virtual time `at` (ns)."""
        if type(at) is not int:
            raise SimError(f"event time must be int ns, got {type(at).__name__}")
        if at < self.now:
            raise SimError(f"event scheduled in the past: {at} < now {self.now}")
        event = Event(at, callback)
        self._sequence = seq = self._sequence + 1
        heappush(self._heap, (at, priority, seq, event))
        return event

    def after(self, delay: int, callback: Callable[[], None],
              priority: int = 0) -> Event:
        """Run `callback()` `delay` ns from now."""
        return self.schedule(self.now + delay, callback, priority)

    @staticmethod
    def cancel(event: Event | None) -> None:
        if event is not None:
            event.callback = None

    # -- running --------------------------------------------------------
    def peek(self) -> int | None:
        """Time of the next live event, or None when the heap is empty."""
        heap = self._heap
        while heap and heap[0][3].callback is None:
            heappop(heap)
        return heap[0][0] if heap else None

    def _pop_live(self, limit: int):
        """Pop the next live event due before `limit`, set `now` to its
        time and count it; its callback, or None when there is none."""
        heap = self._heap
        while heap and heap[0][0] < limit:
            at, _prio, _seq, event = heappop(heap)
            callback = event.callback
            if callback is None:
                continue
            event.callback = None
            self.now = at
            self.events_run += 1
            return callback
        return None

    def step(self) -> bool:
        """Run the next live event; False when nothing is left."""
        callback = self._pop_live(1 << 63)
        if callback is None:
            return False
        callback()
        return True

    def run(self, until: int | None = None) -> None:
        """Run events until the heap is empty or, with `until`, until every
        event at a time < until has run; `now` is then set to `until`."""
        if until is not None and type(until) is not int:
            raise SimError(f"run(until) must be int ns, got {type(until).__name__}")
        limit = (1 << 63) if until is None else until
        while (callback := self._pop_live(limit)) is not None:
            callback()
        if until is not None and until > self.now:
            self.now = until

    # -- tracing --------------------------------------------------------
    def record(self, kind: str, a: str, b: int = 0) -> None:
        if self.trace is not None:
            self.trace.append((self.now, kind, a, b))

    def trace_bytes(self) -> bytes:
        """The trace as bytes: one packed time + text line per record."""
        return trace_bytes(self.trace)
