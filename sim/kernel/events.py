"""Discrete-event core of the simulator: integer virtual time in nanoseconds.

Contract (modelled on SimPy's core: now, schedule, step, run):
- `Kernel.now` is an int, the virtual time in ns; it only moves forward and
  only when `step()` pops the next event. There is no wall clock anywhere.
- `schedule(at, callback, priority=0)` queues `callback()` at absolute time
  `at` (an int >= now). Events are ordered by (time, priority, sequence):
  a lower priority runs first at equal time, and the sequence number (the
  order of scheduling) breaks the remaining ties, so every run is
  deterministic.
- `cancel(event)` drops a queued event lazily (it stays in the heap but is
  skipped when popped).
- Randomness comes only from the `numpy.random.Generator` handed to the
  constructor (`kernel.rng`); the kernel itself draws nothing.
- An optional trace records (time, kind, a, b) tuples from the models;
  `trace_bytes()` serialises it so determinism can be checked byte for byte.

The heap lives in C (chelper/src/vs_kernel.c) together with the virtual
scheduler's core (sim/hostcpu/scheduler.py), whose own events (core
events, sleep timers, wait time-outs, burst cuts, balance ticks) never
come back to Python; a Python callback event is a slot whose callable is
kept here in `_cbs`. pyevents.py holds the Python reference model.
"""
from __future__ import annotations

import struct
from typing import Callable

from klipsim.lazy import numpy as np

from ...chelper._chelper import ffi, lib

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NO_TIME = -(1 << 63)              # vsched.h VS_NONE: Python's None
_FOREVER = (1 << 63) - 1
_schedule_py = lib.vs_schedule_py     # (hot: bound once)


class SimError(RuntimeError):
    """A model broke a rule of the kernel (time travel, bad types)."""


class Event:
    """One queued callback; `cancel()` makes the kernel skip it."""

    __slots__ = ("_kernel", "_slot", "_seq", "time")

    def __init__(self, kernel: "Kernel", slot: int, seq: int, time: int):
        self._kernel = kernel
        self._slot = slot
        self._seq = seq
        self.time = time

    @property
    def pending(self) -> bool:
        return bool(lib.vs_pending(self._kernel._vs, self._slot, self._seq))

    @property
    def callback(self):
        """The callable while the event is queued, else None."""
        return self._kernel._cbs[self._slot] if self.pending else None

    def cancel(self) -> None:
        lib.vs_cancel(self._kernel._vs, self._slot, self._seq)


class Kernel:
    """The event heap and the virtual clock (C), Python callbacks here."""

    def __init__(self, rng: np.random.Generator | None = None,
                 trace: bool = False):
        self._vs = ffi.gc(lib.vs_new(), lib.vs_free)
        self._ud = ffi.new_handle(self)
        self._vs.ud = self._ud
        self._vs.trace = 1 if trace else 0
        self._cbs: list = []
        self._error: BaseException | None = None
        self.sched = None                 # the Scheduler attached, if any
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.trace: list[tuple[int, str, str, int]] | None = [] if trace else None

    @property
    def now(self) -> int:
        return self._vs.now

    @property
    def events_run(self) -> int:
        return self._vs.events_run

    # -- scheduling -----------------------------------------------------
    def schedule(self, at: int, callback: Callable[[], None],
                 priority: int = 0) -> Event:
        """Run `callback()` at absolute virtual time `at` (ns)."""
        if type(at) is not int:
            raise SimError(f"event time must be int ns, got {type(at).__name__}")
        vs = self._vs
        if at < vs.now:
            raise SimError(f"event scheduled in the past: {at} < now {vs.now}")
        slot = _schedule_py(vs, at, priority)
        cbs = self._cbs
        try:
            cbs[slot] = callback
        except IndexError:                # (C events share the slots)
            cbs.extend([None] * (slot + 1 - len(cbs)))
            cbs[slot] = callback
        return Event(self, slot, vs.last_seq, at)

    def after(self, delay: int, callback: Callable[[], None],
              priority: int = 0) -> Event:
        """Run `callback()` `delay` ns from now."""
        return self.schedule(self._vs.now + delay, callback, priority)

    @staticmethod
    def cancel(event: Event | None) -> None:
        if event is not None:
            lib.vs_cancel(event._kernel._vs, event._slot, event._seq)

    # -- running --------------------------------------------------------
    def peek(self) -> int | None:
        """Time of the next live event, or None when the heap is empty."""
        at = lib.vs_peek(self._vs)
        return None if at < 0 else at

    def request_stop(self) -> None:
        """End the current `run(..., stoppable=True)` after the event being
        handled (or the next such run at once): it returns True with `now`
        at that event's time; a run that is not stoppable goes on."""
        self._vs.stop = 1

    def step(self) -> bool:
        """Run the next live event; False when nothing is left."""
        vs = self._vs
        before = vs.events_run
        r = lib.vs_run(vs, _FOREVER, 1)
        if r == lib.VS_RUN_STOP:          # (a step is not stoppable)
            r = lib.vs_run(vs, _FOREVER, 1)
        if r == lib.VS_RUN_PY:
            self._cbs[vs.py_slot]()
        elif r == lib.VS_RUN_ERR:
            self.raise_error()
        return vs.events_run != before

    def run(self, until: int | None = None, stoppable: bool = False) -> bool:
        """Run events until the heap is empty or, with `until`, until every
        event at a time < until has run; `now` is then set to `until`.
        With `stoppable`, a request_stop() ends it early: returns True,
        `now` left at the last event's time (else False)."""
        if until is not None and type(until) is not int:
            raise SimError(f"run(until) must be int ns, got {type(until).__name__}")
        limit = _FOREVER if until is None else until
        vs = self._vs
        cbs = self._cbs
        run = lib.vs_run
        while True:
            r = run(vs, limit, _FOREVER)
            if r == 1:                    # VS_RUN_PY
                cbs[vs.py_slot]()
            elif r == 0:
                break
            elif r == 3:                  # VS_RUN_STOP
                if stoppable:
                    return True
            else:
                self.raise_error()
        if until is not None and until > vs.now:
            vs.now = until
        return False

    def raise_error(self) -> None:
        """Raise what ended a program step inside the C core (called when
        vs.err is set; the C state is abandoned, as a Python exception
        would have left the reference model's)."""
        vs = self._vs
        code, vs.err = vs.err, 0
        error, self._error = self._error, None
        if error is not None:
            raise error
        t = self.sched.threads[vs.current] if vs.current >= 0 else None
        if code == 2 and t is not None:
            from ..hostcpu.threads import MAX_PROGRAM_STEPS
            raise SimError(f"thread {t.name}: {MAX_PROGRAM_STEPS} zero-time steps in a row")
        if code == 3:
            raise SimError("scheduler core: event scheduled in the past")
        if code == 4 and t is not None:       # vs_internal.h VS_ERR_NATIVE
            raise SimError(f"thread {t.name}: its C program stopped (vsprog.h)")
        raise SimError(f"scheduler core error {code}")

    # -- tracing --------------------------------------------------------
    def record(self, kind: str, a: str, b: int = 0) -> None:
        if self.trace is not None:
            self.trace.append((self._vs.now, kind, a, b))

    def trace_bytes(self) -> bytes:
        """The trace as bytes: one packed time + text line per record."""
        return trace_bytes(self.trace)


def trace_bytes(trace) -> bytes:
    """A kernel trace as bytes: one packed time + text line per record."""
    if trace is None:
        return b""
    out = bytearray()
    for time, kind, a, b in trace:
        out += struct.pack("<qq", time, b)
        out += f"{kind} {a}\n".encode()
    return bytes(out)


_TRACE_KINDS = ("wake", "run")


@ffi.def_extern()
def vs_py_trace(ud, kind, ti, b):
    kernel = ffi.from_handle(ud)
    name = kernel.sched.threads[ti].name if ti >= 0 else "-"
    kernel.trace.append((kernel._vs.now, _TRACE_KINDS[kind], name, b))
