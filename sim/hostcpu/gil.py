"""CPython's global interpreter lock on virtual threads (KLIPPER-FACTS 5.3).

Contract: one `GIL` per modelled Python process. Python threads call, from
their program steps (threads.py):
- `gil.acquire(t, then)`: an action; `then()` runs once t holds the GIL;
- `gil.run(t, ns, then)`: acquire, then `ns` of Python CPU work, then
  `then()` still holding the GIL;
- `gil.release(t)`: not an action; drop the GIL before a blocking call or a
  C call that releases it (cffi calls, file writes, poll());
- `gil.c_call(t, ns, then)`: release, `ns` of C work, re-acquire, `then()`.

CPython's rules as modelled (Python/ceval_gil.c, paraphrased):
- a waiting thread sleeps on a condition for the switch interval (5 ms);
  if it times out and no GIL switch happened meanwhile it sets the drop
  request, and keeps waiting in further intervals;
- the holder only notices the drop request while it executes bytecode,
  i.e. when it is on a CPU (a holder preempted by another task keeps the
  GIL: priority inversion is visible); it then releases the GIL, signals
  one waiter, and (FORCE_SWITCHING) waits until another thread has taken
  the GIL before it competes again;
- a released GIL is signalled to the longest waiter, which still has to be
  scheduled to take it; a thread that asks while the GIL is free takes it
  at once (the GIL is not fair).
The holder is a single attribute, so two holders are impossible by
construction; `history` (when enabled) records every take and drop so
tests can check that from outside.
"""
from __future__ import annotations

from functools import partial

from ..kernel.events import NS_PER_MS, SimError
from .threads import RUNNABLE, VThread

DEFAULT_SWITCH_INTERVAL_NS = 5 * NS_PER_MS   # sys.getswitchinterval() == 0.005


class GIL:
    def __init__(self, sched, switch_interval_ns: int = DEFAULT_SWITCH_INTERVAL_NS,
                 record: bool = False):
        self.sched = sched
        self.kernel = sched.kernel
        self.interval = switch_interval_ns
        self.holder: VThread | None = None
        self.drop_request = False
        self.switch_number = 0
        self.waiters: list[VThread] = []       # blocked, waiting for a signal
        self.forced: list[VThread] = []        # droppers waiting for a switch
        self._wait_since: dict[int, int] = {}  # thread index -> first ask time
        self._timers: dict[int, object] = {}
        self.history: list[tuple[int, str, str]] | None = [] if record else None
        self.drop_requests = 0

    # -- program-step API ----------------------------------------------
    def acquire(self, t: VThread, then) -> None:
        if self.holder is t:
            raise SimError(f"thread {t.name} acquires the GIL it already holds")
        self._wait_since.setdefault(t.index, self.kernel.now)
        self._try_take(t, then)

    def run(self, t: VThread, ns: int, then) -> None:
        holder = self.holder
        if holder is None:
            # acquire of a free GIL, with the work started in the same
            # zero-time step (acquire would take it, then compute(0) and
            # start the work in the next step at the same instant)
            if self._wait_since or self._timers or self.forced or self.history is not None:
                self._take(t)
            else:         # (_take when nobody waits, was forced out or records)
                self.holder = t
                self.switch_number += 1
                t.gil_waits.append(0)
            t.compute(ns, then)
        elif holder is t:
            t.compute(ns, then)
        else:
            self.acquire(t, lambda: t.compute(ns, then))

    def release(self, t: VThread) -> None:
        if self.holder is not t:
            raise SimError(f"thread {t.name} releases a GIL held by "
                           f"{self.holder.name if self.holder else 'nobody'}")
        if self.drop_request:     # (only then can a drop handler be pending)
            handler = t.interrupt
            if handler is not None and getattr(handler, "__self__", None) is self:
                t.interrupt = None
        elif not self.waiters and self.history is None:
            self.holder = None    # (_drop when nobody waits or records)
            return
        self._drop(t)

    def c_call(self, t: VThread, ns: int, then) -> None:
        self.release(t)
        t.compute(ns, lambda: self.acquire(t, then))

    # -- mechanics -----------------------------------------------------
    def _try_take(self, t: VThread, then) -> None:
        """Program step of t: take the GIL if free, else wait for a signal."""
        if self.holder is None:
            self._take(t)
            t.compute(0, then)
            return
        self.waiters.append(t)
        t.block(partial(self._try_take, t, then))
        if t.index not in self._timers:
            self._arm_timer(t, self.switch_number)

    def _take(self, t: VThread) -> None:
        # (the hot path: a free GIL taken, no timer, nobody forced out)
        self.holder = t
        self.switch_number += 1
        wait_since = self._wait_since
        if wait_since and t.index in wait_since:
            t.gil_waits.append(self.kernel.now - wait_since.pop(t.index))
        else:
            t.gil_waits.append(0)      # asked and took it at once
        if self._timers:
            self.kernel.cancel(self._timers.pop(t.index, None))
        if self.history is not None:
            self.history.append((self.kernel.now, "take", t.name))
        if self.forced:
            forced, self.forced = self.forced, []
            for f in forced:
                self.sched.wake(f)

    def _drop(self, t: VThread) -> None:
        self.holder = None
        self.drop_request = False
        if self.history is not None:
            self.history.append((self.kernel.now, "drop", t.name))
        if self.waiters:
            self.sched.wake(self.waiters.pop(0))

    def _arm_timer(self, t: VThread, seen_switch: int) -> None:
        self._timers[t.index] = self.kernel.after(
            self.interval, partial(self._interval_expired, t, seen_switch))

    def _interval_expired(self, t: VThread, seen_switch: int) -> None:
        """A waiter's timed wait ran out: ask the holder to drop."""
        self._timers.pop(t.index, None)
        if t.index not in self._wait_since:
            return
        if self.switch_number == seen_switch and self.holder is not None:
            self._request_drop()
        self._arm_timer(t, self.switch_number)

    def _request_drop(self) -> None:
        holder = self.holder
        if self.drop_request:
            return
        if holder.state != RUNNABLE:
            raise SimError(f"thread {holder.name} blocked while holding the GIL")
        self.drop_request = True
        self.drop_requests += 1
        self.sched.interrupt(holder, self._on_drop_request)

    def _on_drop_request(self, t: VThread, remaining: int, cont) -> None:
        """Program step of the holder at its eval-breaker check."""
        self._drop(t)
        resume = partial(t.compute, remaining, cont)
        self._wait_since.setdefault(t.index, self.kernel.now)
        self.forced.append(t)
        t.block(partial(self._try_take, t, resume))
