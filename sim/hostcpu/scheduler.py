"""The virtual CPU scheduler: N cores, Linux scheduling classes, event driven.

Contract: `Scheduler(kernel, config)` owns the cores; `spawn()` creates a
`VThread` (vthreads.py) whose program it runs on the cores as the Linux
scheduler would; `wake()`, `interrupt()` and `cut_burst()` are the hooks
for other models (timers, the GIL, the serial link); `signal()` makes a
counting `Signal`; `current`, `running_on()`, `flush()` and `threads`
read its state.

The rules (classes, EEVDF, autogroups, RT throttling, placement and
balancing, context switches, scheduling points) are documented in the
Python reference model, pyscheduler.py and its mixins; the decisions
are made in C (chelper/src/vs_sched.c, vs_fair.c, vs_place.c) on the
kernel's C heap, which calls back into Python only to run a program
step (vthreads.vs_py_step). tests/test_vsched_port.py runs random thread
sets on both and compares trace bytes, program-step times and metrics.
"""
from __future__ import annotations

from ...chelper._chelper import lib
from ..kernel.events import NO_TIME, NS_PER_S, Kernel, SimError
from .cores import THROTTLE_MODES, SchedConfig
from .eevdf import nice_weight
from .threads import MAX_PROGRAM_STEPS, RUNNABLE, check_cpus
from .vthreads import POLICY_CODES, NativeProgram, Signal, VThread

__all__ = ["MAX_PROGRAM_STEPS", "THROTTLE_MODES", "SchedConfig", "Scheduler"]


class FairView:
    """`core.fair` of the reference model: only the `shortcut` switch
    (one flag for every core in C) and the queued thread count."""

    __slots__ = ("_core",)

    def __init__(self, core: "CoreView"):
        self._core = core

    @property
    def shortcut(self) -> bool:
        return bool(self._core.vs.fair_shortcut)

    @shortcut.setter
    def shortcut(self, on: bool) -> None:
        self._core.vs.fair_shortcut = 1 if on else 0


class CoreView:
    """One CPU's figures, read from C."""

    __slots__ = ("sched", "index", "vs", "_c", "fair")

    def __init__(self, sched: "Scheduler", index: int):
        self.sched = sched
        self.index = index
        self.vs = sched.kernel._vs
        self._c = self.vs.cores + index
        self.fair = FairView(self)

    busy_ns = property(lambda self: self._c.busy_ns)
    overhead_ns = property(lambda self: self._c.overhead_ns)
    switch_until = property(lambda self: self._c.switch_until)

    @property
    def curr(self) -> VThread | None:
        i = self._c.curr
        return self.sched.threads[i] if i >= 0 else None

    def load(self) -> int:
        return lib.vs_core_load(self.vs, self.index)


class Scheduler:
    """Cores, threads and the rules that decide who runs where (in C)."""

    def __init__(self, kernel: Kernel, config: SchedConfig):
        if config.rt_throttle not in THROTTLE_MODES:
            raise ValueError(f"rt_throttle {config.rt_throttle!r} not one of {THROTTLE_MODES}")
        if kernel.sched is not None:
            raise SimError("a kernel carries one scheduler")
        self.kernel = kernel
        self.config = config
        self.slice_ns = config.scaled_slice_ns()
        self.tick_ns = NS_PER_S // config.tick_hz if config.tick_hz else 0
        self._vs = vs = kernel._vs
        lib.vs_config(vs, config.cores, self.slice_ns, self.tick_ns,
                      config.context_switch_ns, THROTTLE_MODES.index(config.rt_throttle),
                      config.rt_period_ns, config.rt_runtime_ns, config.rr_slice_ns,
                      config.balance_interval_ns)
        kernel.sched = self
        self.threads: list[VThread] = []
        self.task_groups: dict[str, int] = {}      # name -> C group id
        self.cores = [CoreView(self, i) for i in range(config.cores)]

    # Shortcuts for the uncontended cases (fastpath.py's rules, in C);
    # tests/test_sim_sched_fast.py runs random thread sets with them off
    # and on and compares every result.
    @property
    def fast_paths(self) -> bool:
        return bool(self._vs.fast_paths)

    @fast_paths.setter
    def fast_paths(self, on: bool) -> None:
        self._vs.fast_paths = 1 if on else 0

    # -- public API -----------------------------------------------------
    def spawn(self, name: str, start, *, policy: str = "other", nice: int = 0,
              priority: int = 0, cpus=None, group: str | None = None,
              at: int | None = None) -> VThread:
        """Create a thread whose first program step `start()` runs once it
        gets a CPU at or after `at` (default now)."""
        cpus = check_cpus(name, cpus, self.config.cores)
        vs = self._vs
        t = VThread(self, len(self.threads), name, policy, nice, priority, cpus, group)
        gid = -1
        if self.config.autogroup and group is not None:
            t.fair_group = group
            gid = self._group_id(group)
        t.cont = start
        self.threads.append(t)
        lib.vs_thread_new(vs, POLICY_CODES[policy], nice_weight(nice), priority,
                          sum(1 << c for c in cpus), gid)
        t._c = vs.threads[t.index]
        if isinstance(start, NativeProgram):      # a C program (vsprog.h)
            t.cont, t.native = None, start
            start.attach(t.index)
        lib.vs_start(vs, t.index, NO_TIME if at is None else at)
        if vs.err:
            self.kernel.raise_error()
        return t

    def signal(self, name: str) -> Signal:
        return Signal(self, name)

    def wake(self, t: VThread) -> bool:
        """Make a blocked thread runnable; False if it was not blocked."""
        vs = self._vs
        woke = lib.vs_wake(vs, t.index)
        if vs.err:
            self.kernel.raise_error()
        return bool(woke)

    @property
    def current(self) -> VThread | None:
        """The thread whose program step is running (or ran last)."""
        i = self._vs.current
        return self.threads[i] if i >= 0 else None

    def interrupt(self, t: VThread, handler) -> None:
        """Call handler(t, remaining_ns, cont) in t's program context when
        it is on a CPU mid-burst (pyscheduler.py; the GIL's drops)."""
        if t.state != RUNNABLE:
            raise SimError(f"interrupt of non-runnable thread {t.name}")
        t._interrupt = handler
        vs = self._vs
        lib.vs_interrupt(vs, t.index)
        if vs.err:
            self.kernel.raise_error()

    def cut_burst(self, t: VThread) -> None:
        """End t's current CPU burst now (the `until` of compute)."""
        vs = self._vs
        lib.vs_cut_burst(vs, t.index)
        if vs.err:
            self.kernel.raise_error()

    def running_on(self, index: int) -> VThread | None:
        i = self._vs.cores[index].curr
        return self.threads[i] if i >= 0 else None

    def flush(self) -> None:
        """Bring every core's accounting up to now (for reading metrics)."""
        lib.vs_flush(self._vs)

    # -- helpers ----------------------------------------------------------
    def _group_id(self, group: str) -> int:
        gid = self.task_groups.get(group)
        if gid is None:
            shares = nice_weight(self.config.group_nice.get(group, 0))
            gid = self.task_groups[group] = lib.vs_group(self._vs, shares)
        return gid
