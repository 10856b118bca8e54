"""Virtual threads and their program interface.

Contract: a `VThread` runs a program written as continuations. The
scheduler calls the thread's current continuation (a plain callable) at the
virtual moment the thread is on a CPU with no CPU work left; that "program
step" takes zero virtual time and must end with exactly one action:

- `t.compute(ns, then, until=None)`: needs `ns` of CPU before `then()` is
  called (with `until`, the burst ends at that absolute time even if less
  CPU was received: a busy loop bounded by wall time);
- `t.sleep(ns, then)` / `t.sleep_until(at, then)`: block on a timer (a
  time not in the future does not block at all, like clock_nanosleep);
- `t.wait(signal, then, until=None)`: block until `signal.post()`
  (counting, so a post before the wait is not lost, like a pipe byte or a
  semaphore) or until the absolute time `until` (poll() with a timeout;
  `t.timed_out` says which);
- `t.block(then)`: block until `Scheduler.wake(t)`;
- `t.exit()`.
After a wake-up the continuation runs once the thread gets a CPU again, so
host code charged to a thread runs when that thread would really run.

A thread also carries its metrics: CPU ns, run-queue waits (runnable but
not running, per interval), wake-up latencies (wake to first instruction)
and GIL waits (filled by `gil.py`).
"""
from __future__ import annotations

from functools import partial
from typing import Callable

from ..kernel.events import SimError
from .eevdf import FairEntity, nice_weight

OTHER = "other"
FIFO = "fifo"
RR = "rr"
POLICIES = (OTHER, FIFO, RR)

MAX_PROGRAM_STEPS = 100_000   # zero-time steps in a row: a runaway program

NEW = "new"
RUNNABLE = "runnable"
BLOCKED = "blocked"
EXITED = "exited"


class ActionRule:
    """The one-action-per-program-step rule, shared by this reference
    VThread and the C core's (vthreads.py)."""

    __slots__ = ()

    def _identity(self, sched, index: int, name: str, policy: str, nice: int,
                  priority: int, cpus: tuple[int, ...], group: str | None) -> None:
        """Check and keep what a thread is (its class, affinity, group)."""
        check_class(name, policy, nice, priority)
        self.sched, self.index, self.name = sched, index, name
        self.policy, self.nice, self.priority = policy, nice, priority
        self.cpus, self.group = cpus, group
        self.fair_group: str | None = None
        self.in_program = False
        self.acted = False
        self.gil_waits: list[int] = []

    def __repr__(self) -> str:
        return f"<VThread {self.name} {self.policy} {self.state}>"

    @property
    def is_rt(self) -> bool:
        return self.policy != OTHER

    def _act(self) -> None:
        if not self.in_program:
            raise SimError(f"thread {self.name}: action outside its program step")
        if self.acted:
            raise SimError(f"thread {self.name}: two actions in one program step")
        self.acted = True


class VThread(ActionRule):
    """One schedulable thread of the modelled host."""

    __slots__ = (
        "sched", "name", "policy", "nice", "priority", "cpus", "group",
        "fair", "fair_group", "state", "core", "remaining", "cont",
        "interrupt", "in_program", "acted", "timer", "until_event",
        "runnable_since", "woke_at", "rr_left", "cpu_ns", "runq_waits",
        "wake_latencies", "gil_waits", "switches", "index", "wake_cb",
        "timed_out", "runq_wait_by_s",
    )

    def __init__(self, sched, index: int, name: str, policy: str, nice: int,
                 priority: int, cpus: tuple[int, ...], group: str | None,
                 slice_ns: int, rr_slice_ns: int):
        self._identity(sched, index, name, policy, nice, priority, cpus, group)
        self.fair = FairEntity(name, nice_weight(nice), slice_ns, thread=self)
        self.state = NEW
        self.core = cpus[0]
        self.remaining = 0
        self.cont: Callable[[], None] | None = None
        self.interrupt = None
        self.timer = None
        self.until_event = None
        self.runnable_since = 0
        self.woke_at: int | None = None
        self.rr_left = rr_slice_ns
        self.cpu_ns = 0
        self.runq_waits: list[int] = []
        self.runq_wait_by_s: dict[int, int] = {}   # second -> longest run-queue wait (ns)
        self.wake_latencies: list[int] = []
        self.switches = 0
        self.timed_out = False
        self.wake_cb = lambda: sched.wake(self)     # timer callback

    # -- program actions (only inside a program step) -------------------
    def compute(self, ns: int, then: Callable[[], None],
                until: int | None = None) -> None:
        if self.acted or not self.in_program:
            self._act()                # raises: the step's one action rule
        self.acted = True
        if type(ns) is not int or ns < 0:
            raise SimError(f"thread {self.name}: compute needs int ns >= 0, got {ns!r}")
        self.cont = then
        if until is not None and ns > 0:
            if until <= self.sched.kernel.now:
                ns = 0                  # started after its end: nothing to do
            else:
                self.until_event = self.sched.kernel.schedule(
                    until, lambda: self.sched.cut_burst(self))
        self.remaining = ns

    def sleep(self, ns: int, then: Callable[[], None]) -> None:
        self.sleep_until(self.sched.kernel.now + ns, then)

    def sleep_until(self, at: int, then: Callable[[], None]) -> None:
        self._act()
        self.cont = then
        if at <= self.sched.kernel.now:
            self.remaining = 0         # clock_nanosleep to a past time: no sleep
            return
        self.state = BLOCKED
        self.timer = self.sched.kernel.schedule(at, self.wake_cb)

    def wait(self, signal: "Signal", then: Callable[[], None],
             until: int | None = None) -> None:
        """Block until `signal` is posted or, with `until`, until that
        absolute time (poll() with a timeout); `timed_out` tells which."""
        if self.acted or not self.in_program:
            self._act()                # raises: the step's one action rule
        self.acted = True
        self.cont = then
        self.timed_out = False
        if signal.count > 0:
            signal.count -= 1
            self.remaining = 0
            return
        now = self.sched.kernel.now
        if until is not None and until <= now:
            self.timed_out = True
            self.remaining = 0
            return
        self.state = BLOCKED
        signal.waiters.append(self)
        if until is not None:
            self.timer = self.sched.kernel.schedule(
                until, lambda: signal.time_out(self))

    def wait_posts(self, signal: "Signal", n: int, then: Callable[[], None]) -> None:
        """wait(signal) n times over (each wake a zero-time program step
        that waits again), then `then`: waiting for n threads that each
        post once. (vthreads.py runs the steps between in C.)"""
        if type(n) is not int or n < 1:
            raise SimError(f"thread {self.name}: wait_posts needs n >= 1, got {n!r}")

        def woken(left):
            if left:
                self.wait(signal, partial(woken, left - 1))
            else:
                then()
        self.wait(signal, partial(woken, n - 1))

    def block(self, then: Callable[[], None]) -> None:
        self._act()
        self.state = BLOCKED
        self.cont = then

    def exit(self) -> None:
        self._act()
        self.state = EXITED
        self.cont = None


class Signal:
    """A counting wake-up source (semaphore / pipe byte / condvar+flag)."""

    __slots__ = ("sched", "name", "count", "waiters")

    def __init__(self, sched, name: str):
        self.sched = sched
        self.name = name
        self.count = 0
        self.waiters: list[VThread] = []

    def post(self) -> None:
        """Wake the longest waiter, or remember the post for the next wait
        (a waiter already woken some other way does not take the post)."""
        while self.waiters:
            if self.sched.wake(self.waiters.pop(0)):
                return
        self.count += 1

    def time_out(self, t: VThread) -> None:
        """t's wait timed out: it leaves the waiters and wakes."""
        t.timer = None
        if t in self.waiters:
            self.waiters.remove(t)
            t.timed_out = True
            self.sched.wake(t)

    def wake_all(self) -> None:
        """Wake every current waiter (a broadcast); nothing is remembered."""
        waiters, self.waiters = self.waiters, []
        for t in waiters:
            self.sched.wake(t)


def check_class(name: str, policy: str, nice: int, priority: int) -> None:
    """Raise ValueError for an impossible scheduling class."""
    if policy not in POLICIES:
        raise ValueError(f"thread {name}: policy {policy!r} not one of {POLICIES}")
    if type(nice) is not int or not -20 <= nice <= 19:
        raise ValueError(f"thread {name}: nice {nice!r} outside -20..19")
    if policy == OTHER:
        if priority != 0:
            raise ValueError(f"thread {name}: priority must be 0 for policy other")
    elif type(priority) is not int or not 1 <= priority <= 99:
        raise ValueError(f"thread {name}: priority {priority!r} outside 1..99 for {policy}")


def check_cpus(name: str, cpus, ncores: int) -> tuple[int, ...]:
    """A thread's affinity as a sorted tuple (None: every core); ValueError
    names the thread when a CPU is not one of the machine's."""
    if cpus is None:
        return tuple(range(ncores))
    cpus = tuple(sorted(set(cpus)))
    if not cpus or any(type(c) is not int or not 0 <= c < ncores for c in cpus):
        raise ValueError(f"thread {name}: cpus {list(cpus)} not within 0..{ncores - 1}")
    return cpus
