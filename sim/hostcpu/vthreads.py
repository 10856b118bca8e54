"""Virtual threads and signals on the C scheduler core (the facades of
threads.py's `VThread` and `Signal`, same interface and rules).

Contract: a `VThread` here keeps the thread's *program* (the continuation
`cont`, an interrupt handler, the one-action-per-step check, GIL waits)
and reads everything the scheduler owns (state, core, remaining work,
CPU time, switches, run-queue waits, wake-up latencies) from its C
struct, lazily. The program actions (`compute`, `sleep`, `sleep_until`,
`wait`, `block`, `exit`) are documented in threads.py; they check the
one-action rule here and hand the scheduling part to C. A `Signal` is a
C counting signal. `vs_py_step` is the C core's way back into a program
step. A `NativeProgram` given as a thread's start makes its program a C
one (chelper/src/vsprog.h): the C core then never calls back into
Python for it; its VThread still reads the thread's figures from C.
"""
from __future__ import annotations

from functools import partial
from typing import Callable

from ...chelper._chelper import ffi, lib
from ..kernel.events import NO_TIME, SimError
from .threads import EXITED, RUNNABLE, ActionRule

STATES = ("new", RUNNABLE, "blocked", EXITED)
# the hot C calls, bound once (a module global is one lookup, lib.x two)
_compute, _wait, _post, _from_handle = lib.vs_compute, lib.vs_wait, lib.vs_post, ffi.from_handle
_wait_posts = lib.vs_wait_posts
POLICY_CODES = {"other": 0, "fifo": 1, "rr": 2}


class VThread(ActionRule):
    """One schedulable thread of the modelled host (C-backed)."""

    __slots__ = ("sched", "index", "name", "policy", "nice", "priority",
                 "cpus", "group", "fair_group", "cont", "_interrupt",
                 "in_program", "acted", "gil_waits", "_c", "_vs", "native")

    def __init__(self, sched, index: int, name: str, policy: str, nice: int,
                 priority: int, cpus: tuple[int, ...], group: str | None):
        self._identity(sched, index, name, policy, nice, priority, cpus, group)
        self.cont: Callable[[], None] | None = None
        self._interrupt = None
        self._vs = sched.kernel._vs
        self._c = None
        self.native: NativeProgram | None = None

    # -- what the scheduler owns (read from C) ---------------------------
    state = property(lambda self: STATES[self._c.state])
    core = property(lambda self: self._c.core)
    remaining = property(lambda self: self._c.remaining)
    cpu_ns = property(lambda self: self._c.cpu_ns)
    switches = property(lambda self: self._c.switches)
    runnable_since = property(lambda self: self._c.runnable_since)
    timed_out = property(lambda self: bool(self._c.timed_out))
    rr_left = property(lambda self: self._c.rr_left)

    @property
    def woke_at(self) -> int | None:
        at = self._c.woke_at
        return None if at == NO_TIME else at

    @property
    def runq_waits(self) -> list[int]:
        vec = self._c.runq_waits
        return ffi.unpack(vec.v, vec.n) if vec.n else []

    @property
    def wake_latencies(self) -> list[int]:
        vec = self._c.wake_latencies
        return ffi.unpack(vec.v, vec.n) if vec.n else []

    @property
    def runq_wait_by_s(self) -> dict[int, int]:
        """second -> longest run-queue wait (ns) in it"""
        vec = self._c.runq_wait_by_s
        waits = ffi.unpack(vec.v, vec.n) if vec.n else []
        return {s: w for s, w in enumerate(waits) if w}

    @property
    def interrupt(self):
        return self._interrupt

    @interrupt.setter
    def interrupt(self, handler) -> None:
        self._interrupt = handler
        self._c.has_interrupt = handler is not None

    # -- program actions (only inside a program step; rules: threads.py) --
    def compute(self, ns: int, then: Callable[[], None],
                until: int | None = None) -> None:
        if self.acted or not self.in_program:
            self._act()                # raises: the step's one action rule
        self.acted = True              # (the rule written out: hot path)
        if type(ns) is not int or ns < 0:
            raise SimError(f"thread {self.name}: compute needs int ns >= 0, got {ns!r}")
        self.cont = then
        _compute(self._vs, self.index, ns, NO_TIME if until is None else until)

    def sleep(self, ns: int, then: Callable[[], None]) -> None:
        self.sleep_until(self._vs.now + ns, then)

    def sleep_until(self, at: int, then: Callable[[], None]) -> None:
        self._act()
        self.cont = then
        lib.vs_sleep_until(self._vs, self.index, at)

    def wait(self, signal: "Signal", then: Callable[[], None],
             until: int | None = None) -> None:
        if self.acted or not self.in_program:
            self._act()                # raises: the step's one action rule
        self.acted = True
        self.cont = then
        _wait(self._vs, self.index, signal.id, NO_TIME if until is None else until)

    def wait_posts(self, signal: "Signal", n: int, then: Callable[[], None]) -> None:
        """wait(signal) n times over, then `then` (threads.py): the C
        core runs the steps after the first n-1 posts itself (vs_wait_posts),
        each a zero-time step that waits again, as the Python ones were."""
        if self.acted or not self.in_program:
            self._act()                # raises: the step's one action rule
        if type(n) is not int or n < 1:
            raise SimError(f"thread {self.name}: wait_posts needs n >= 1, got {n!r}")
        self.acted = True
        self.cont = then
        _wait_posts(self._vs, self.index, signal.id, n)

    def block(self, then: Callable[[], None]) -> None:
        self._act()
        lib.vs_block(self._vs, self.index)
        self.cont = then

    def exit(self) -> None:
        self._act()
        self.cont = None
        lib.vs_exit(self._vs, self.index)


class NativeProgram:
    """A thread program in C: `attach(thread index)` installs it on the
    C thread (Scheduler.spawn calls it before the thread starts). The
    object stays on its VThread (`native`), so whatever it keeps alive
    (the C program's state) lives as long as the scheduler."""

    __slots__ = ("attach", "state")

    def __init__(self, attach: Callable[[int], None], state=None):
        self.attach = attach
        self.state = state


class Signal:
    """threads.py's counting Signal, its count and waiters kept in C."""

    __slots__ = ("sched", "name", "id", "_vs")

    def __init__(self, sched, name: str):
        self._vs = sched.kernel._vs
        self.id = lib.vs_signal(self._vs)
        self.sched, self.name = sched, name

    @property
    def count(self) -> int:
        return lib.vs_signal_count(self._vs, self.id)

    @property
    def waiters(self) -> list:
        vs, threads = self._vs, self.sched.threads
        return [threads[lib.vs_signal_waiter(vs, self.id, i)]
                for i in range(lib.vs_signal_nwait(vs, self.id))]

    def post(self) -> None:
        """Wake the longest waiter, or remember the post (threads.py)."""
        vs = self._vs
        _post(vs, self.id)
        if vs.err:
            self.sched.kernel.raise_error()

    def time_out(self, t: VThread) -> None:
        """t's wait timed out: it leaves the waiters and wakes."""
        vs = self._vs
        lib.vs_signal_time_out(vs, self.id, t.index)
        if vs.err:
            self.sched.kernel.raise_error()

    def wake_all(self) -> None:
        """Wake every current waiter (threads.py)."""
        vs = self._vs
        lib.vs_wake_all(vs, self.id)
        if vs.err:
            self.sched.kernel.raise_error()


@ffi.def_extern()
def vs_py_step(ud, ti, kind, remaining):
    """Run one program step of thread `ti` for the C core (kind 1: its
    pending interrupt handler, with the burst's `remaining` ns); returns
    1 with the error kept on the kernel when the step raised."""
    kernel = _from_handle(ud)
    t = kernel.sched.threads[ti]
    try:
        if kind == 0:
            step = t.cont
            if step is None:
                raise SimError(f"thread {t.name}: nothing to run")
        else:
            handler, t._interrupt = t._interrupt, None
            step = partial(handler, t, remaining, t.cont)
        t.cont = None
        t.in_program = True
        t.acted = False
        step()
        t.in_program = False
        if not t.acted:
            raise SimError(f"thread {t.name}: program step ended without an action")
    except BaseException as error:     # noqa: BLE001 - re-raised by the kernel
        t.in_program = False
        if kernel._error is None:
            kernel._error = error
        return 1
    return 0
