"""The Python reference model of the virtual CPU scheduler (`PyScheduler`,
on a `PyKernel`); the C core (scheduler.py, chelper/src/vs_*.c) makes the
same decisions (tests/test_vsched_port.py). N cores, Linux scheduling classes, event driven.

Contract: `Scheduler(kernel, config)` owns the cores; `spawn()` creates a
`VThread` whose program (see threads.py) it runs on the cores as
the Linux scheduler would; `wake()`, `interrupt()` and `cut_burst()` are
the hooks for other models (timers, the GIL, the serial link). Nothing
loops per tick: every core has at most one pending kernel event, the
earliest of: its thread's burst end, its slice end (rounded up to the next
scheduler tick when `tick_hz` > 0, as Linux notices slice expiry at ticks),
its RT throttle point, or its fair-server boost edge.

Rules modelled (KLIPPER-FACTS 5.1, 5.2, 8):
- classes: SCHED_FIFO/SCHED_RR (1..99, higher wins, always above
  SCHED_OTHER; a preempted RT thread stays at the head of its level; RR
  rotates equal priorities every `rr_slice_ns`, 100 ms) and SCHED_OTHER
  with EEVDF (eevdf.py), base slice 0.75 ms x (1 + ilog2(min(ncpu,
  8))); a woken thread preempts when the EEVDF pick now selects it
  (RUN_TO_PARITY keeps an eligible running thread until its slice ends).
- autogroup: each group is one entity per core whose weight is the group's
  shares split by load between cores (groups.py); threads with
  no group (kernel workers) sit beside the groups at the root.
- RT throttling, per core: "classic" (RT may run `rt_runtime_ns` of each
  absolute `rt_period_ns` window, then RT is not picked until the window
  ends: normal tasks or idle get the rest) or "fair_server" (6.12+: once
  SCHED_OTHER threads have been starved by RT on a core for period -
  runtime, ~950 ms, they run for `rt_period_ns - rt_runtime_ns`, 50 ms,
  and the cycle repeats every period) or "none". The fair-server window
  only counts real starvation: it restarts whenever the core runs a
  SCHED_OTHER thread outside the boost or goes idle, so an RT thread that
  sleeps between bursts is never throttled (KLIPPER-FACTS 8).
- affinity: a thread only ever runs on `thread.cpus`.
- scheduling points (Linux's need_resched): a core re-picks only when its
  thread blocks or exits, its slice or RR slice runs out, a woken or
  migrated thread preempts (higher class/priority, or the EEVDF pick would
  now choose it), or RT throttling starts/ends; otherwise the running
  thread keeps the CPU, whatever its program does.
- context switch: switching a core to a different thread costs
  `context_switch_ns` of CPU time before the new thread's work advances
  (charged to the core's overhead, not to the thread's CPU time). A newly
  dispatched thread's pending zero-time program step runs at the dispatch
  instant (its work starts after the switch cost); a thread that blocks
  again at once still keeps the core busy for the switch.
- load balancing (simple, documented): a woken SCHED_OTHER thread goes to
  its previous core if idle, else the first idle allowed core, else the
  least loaded allowed core (ties: previous core, then lowest index); a
  woken RT thread goes to the allowed core running the least important
  work (idle < SCHED_OTHER < lower RT). A core that goes idle pulls a
  waiting thread from the busiest core. Every `balance_interval_ns`, while
  some thread waits, SCHED_OTHER threads starved behind RT move to a core
  without runnable RT, and a core with >= 2 more SCHED_OTHER threads than
  another gives one away.

The rules are split by responsibility: this module holds the public API,
the run queues and the core state machine (when a core re-picks and what
runs); placement.py where threads go, timing.py CPU accounting and each
core's event, throttle.py RT throttling and the fair server, fastpath.py
the shortcuts for uncontended cases, cores.py the configuration and
per-core state.
"""
from __future__ import annotations

from functools import partial

from ..kernel.events import NS_PER_S, SimError
from ..kernel.pyevents import PyKernel as Kernel
from .cores import THROTTLE_MODES, Core, SchedConfig
from .eevdf import FairRunQueue, nice_weight
from .fastpath import FastPaths
from .groups import TaskGroup
from .placement import Placement
from .threads import BLOCKED, MAX_PROGRAM_STEPS, OTHER, RR, RUNNABLE, Signal, VThread
from .throttle import RtThrottling
from .timing import CoreTiming

__all__ = ["MAX_PROGRAM_STEPS", "THROTTLE_MODES", "Core", "SchedConfig", "PyScheduler"]



class PyScheduler(Placement, CoreTiming, RtThrottling, FastPaths):
    """Cores, threads and the rules that decide who runs where."""

    # Shortcuts for the uncontended cases (a wake-up onto an idle core, a
    # settle that decides nothing). They make exactly the state changes
    # the general path would; tests/test_sim_sched_fast.py runs random
    # thread sets with them off and on and compares every result.
    fast_paths = True


    def __init__(self, kernel: Kernel, config: SchedConfig):
        if config.rt_throttle not in THROTTLE_MODES:
            raise ValueError(f"rt_throttle {config.rt_throttle!r} not one of {THROTTLE_MODES}")
        self.kernel = kernel
        self.config = config
        self.slice_ns = config.scaled_slice_ns()
        self.tick_ns = NS_PER_S // config.tick_hz if config.tick_hz else 0
        self.task_groups: dict[str, TaskGroup] = {}
        self.cores = [Core(i, FairRunQueue(i, self._task_group, self.tick_ns))
                      for i in range(config.cores)]
        for core in self.cores:
            core.fire = partial(self._on_core_event, core)
        self.threads: list[VThread] = []
        self._dirty: list[Core] = []
        self._busy = False
        self._balance_event = None
        self._current: VThread | None = None
        self._want_balance = False
        self._classic = config.rt_throttle == "classic"

    # -- public API -----------------------------------------------------
    def spawn(self, name: str, start, *, policy: str = OTHER, nice: int = 0,
              priority: int = 0, cpus=None, group: str | None = None,
              at: int | None = None) -> VThread:
        """Create a thread whose first program step `start()` runs once it
        gets a CPU at or after `at` (default now)."""
        cpus = self._check_cpus(name, cpus)
        t = VThread(self, len(self.threads), name, policy, nice, priority,
                    cpus, group, self.slice_ns, self.config.rr_slice_ns)
        if self.config.autogroup and group is not None:
            t.fair_group = group
        t.cont = start
        t.state = BLOCKED
        self.threads.append(t)
        if at is None or at <= self.kernel.now:
            self.wake(t)
        else:
            t.timer = self.kernel.schedule(at, partial(self.wake, t))
        return t

    def signal(self, name: str) -> Signal:
        return Signal(self, name)

    def wake(self, t: VThread) -> bool:
        """Make a blocked thread runnable; False if it was not blocked."""
        if t.state != BLOCKED:
            return False
        if t.timer is not None:
            t.timer.callback = None
            t.timer = None
        now = self.kernel.now
        t.state = RUNNABLE
        t.woke_at = now
        t.runnable_since = now
        core = self.cores[t.core]
        if self.fast_paths and t.policy == OTHER and core.curr is None \
                and core.fair.nr + core.rt_count == 0 and t.core in t.cpus:
            # the previous core is idle: _select_core's first choice
            if not self._busy and not self._dirty and core.switch_until <= now:
                self._wake_idle(core, t, now)
                return True
            core.fair.enqueue(t, now)        # _enqueue_and_check, curr None
            core.need = True
            self._mark(core)
        else:
            core = self._select_core(t)
            self._enqueue_and_check(core, t)
        if self.kernel.trace is not None:
            self.kernel.record("wake", t.name, core.index)
        self._settle()
        return True

    @property
    def current(self) -> VThread | None:
        """The thread whose program step is running (or ran last)."""
        return self._current

    def interrupt(self, t: VThread, handler) -> None:
        """Call handler(t, remaining_ns, cont) in t's program context as soon
        as t is on a CPU in the middle of a burst (now if it is running; a
        step boundary runs the continuation first, which may make the
        interrupt moot, e.g. by releasing the GIL). Used for GIL drops."""
        if t.state != RUNNABLE:
            raise SimError(f"interrupt of non-runnable thread {t.name}")
        t.interrupt = handler
        core = self.cores[t.core]
        if core.curr is t:
            self._mark(core)
            self._settle()

    def cut_burst(self, t: VThread) -> None:
        """End t's current CPU burst now (the `until` of compute)."""
        t.until_event = None
        if t.state != RUNNABLE or t.remaining == 0:
            return
        core = self.cores[t.core]
        if core.curr is t:
            self._account(core)
            t.remaining = 0
            self._mark(core)
            self._settle()
        else:
            t.remaining = 0

    def running_on(self, index: int) -> VThread | None:
        return self.cores[index].curr

    def flush(self) -> None:
        """Bring every core's accounting up to now (for reading metrics)."""
        for core in self.cores:
            self._account(core)

    # -- run queues -----------------------------------------------------
    def _task_group(self, group: str) -> TaskGroup:
        tg = self.task_groups.get(group)
        if tg is None:
            tg = TaskGroup(group, nice_weight(self.config.group_nice.get(group, 0)),
                           self.config.cores)
            self.task_groups[group] = tg
        return tg

    def _enqueue(self, core: Core, t: VThread) -> None:
        t.core = core.index
        if t.policy == OTHER:
            core.fair.enqueue(t, self.kernel.now)
        else:
            core.rt_levels.setdefault(t.priority, []).append(t)
            core.rt_count += 1

    def _dequeue(self, core: Core, t: VThread) -> None:
        if t.policy == OTHER:
            core.fair.dequeue(t, self.kernel.now)
        else:
            core.rt_levels[t.priority].remove(t)
            core.rt_count -= 1
        if core.curr is t:
            core.curr = None
            core.fair.set_running(None)
            if self.kernel.trace is not None:
                self.kernel.record("run", "-", core.index)

    def _enqueue_and_check(self, core: Core, t: VThread) -> None:
        """Queue a runnable thread and decide whether it preempts (Linux:
        RT above OTHER and higher RT priority preempt; a SCHED_OTHER thread
        preempts when the EEVDF pick would now choose it)."""
        if core.curr is not None:
            self._account(core)
        self._enqueue(core, t)
        curr = core.curr
        if curr is None:
            core.need = True
        elif t.policy != OTHER:
            if curr.policy == OTHER or t.priority > curr.priority:
                core.need = True
        elif curr.policy == OTHER and core.fair.pick() is t:
            core.need = True
        self._mark(core)

    def _pick(self, core: Core, rt_allowed: bool) -> VThread | None:
        if rt_allowed:
            t = core.top_rt()
            if t.policy == RR and t.rr_left <= 0:
                t.rr_left = self.config.rr_slice_ns
                level = core.rt_levels[t.priority]
                if len(level) > 1:
                    level.remove(t)
                    level.append(t)
                    t = level[0]
                    if t.policy == RR and t.rr_left <= 0:
                        # its slice ran out (between two ticks) before it
                        # last blocked: Linux would have refilled it at that
                        # tick; dispatched exhausted, a zero-length segment
                        # on a tick boundary would re-arm at now for ever
                        t.rr_left = self.config.rr_slice_ns
            return t
        if core.fair.nr:
            return core.fair.pick()
        return None

    # -- the core state machine ----------------------------------------
    def _mark(self, core: Core) -> None:
        if not core.dirty:
            core.dirty = True
            self._dirty.append(core)

    def _settle(self) -> None:
        """Re-pick on every marked core (outside nested model callbacks)."""
        if self._busy:
            return
        self._busy = True
        try:
            dirty = self._dirty
            while dirty:
                core = dirty.pop(0)
                core.dirty = False
                self._resched(core)
            if self._want_balance:
                self._want_balance = False
                self._arm_balance()
        finally:
            self._busy = False

    def _resched(self, core: Core) -> None:
        """Re-pick only at Linux's scheduling points: the running thread
        left, its slice ran out, a woken thread preempts, throttling
        changed. Otherwise only re-arm the core's event."""
        if core.curr is not None:
            self._account(core)
        if core.fair.nr + core.rt_count > 1:
            self._want_balance = True     # someone waits: balancing may help
        gate = self._rt_gate(core) if core.rt_count else False
        if gate != core.gate:
            core.gate = gate
            core.need = True
        prev = core.curr
        now = self.kernel.now
        if (prev is not None and not core.need) or \
                (prev is None and core.switch_until > now):
            self._arm(core)
            return
        core.need = False
        self._repick(core, prev, gate, now)

    def _repick(self, core: Core, prev: VThread | None, gate: bool,
                now: int) -> None:
        """Pick until the core runs a thread with CPU work, or idles."""
        for _ in range(MAX_PROGRAM_STEPS):
            nxt = self._pick(core, gate)
            if nxt is None and self._pull(core):
                core.gate = gate = self._rt_gate(core)
                nxt = self._pick(core, gate)
            if nxt is not prev:
                self._switch(core, prev, nxt, now)
            # every pick (re)starts the picked entity's protected slice
            core.fair.set_running(nxt if nxt is not None and nxt.policy == OTHER else None)
            if nxt is None or nxt is prev or nxt.remaining:
                break
            # A freshly dispatched thread runs its pending program step at
            # once (its CPU work then starts after the switch cost); this
            # saves one event per wake-up.
            self._run_program(core, nxt)
            if core.curr is nxt or self._blocked_at_once(core, now):
                break
            prev = None
            gate = self._rt_gate(core)
        if self.config.rt_throttle == "fair_server":
            self._fair_served(core, gate)
        self._arm(core)

    @staticmethod
    def _blocked_at_once(core: Core, now: int) -> bool:
        """A dispatched thread blocked in its first step: the switch to it
        still takes its time (True: the core stays busy switching)."""
        if core.work_start > now:
            core.switch_until = core.work_start
            core.overhead_ns += core.work_start - now
            core.busy_ns += core.work_start - now
            return True
        return False

    def _on_core_event(self, core: Core) -> None:
        core.event = None
        self._busy = True
        try:
            self._account(core)
            t = core.curr
            if t is not None and self.kernel.now >= core.work_start:
                self._run_program(core, t)
            if self.fast_paths and not self._dirty and self._settle_quiet(core):
                return
            self._mark(core)
        finally:
            self._busy = False
        self._settle()

    def _run_program(self, core: Core, t: VThread) -> None:
        """Run t's zero-time program steps while it has no CPU work left."""
        self._current = t
        for _ in range(MAX_PROGRAM_STEPS):
            if t.remaining == 0:
                step = t.cont
                if step is None:
                    raise SimError(f"thread {t.name}: nothing to run")
            elif t.interrupt is not None:
                step = partial(t.interrupt, t, t.remaining, t.cont)
                t.interrupt = None
                t.remaining = 0
            else:
                return
            t.cont = None
            if t.until_event is not None:
                t.until_event.callback = None
                t.until_event = None
            t.in_program = True
            t.acted = False
            step()              # an exception ends the simulation anyway
            t.in_program = False
            if not t.acted:
                raise SimError(f"thread {t.name}: program step ended without an action")
            if t.state != RUNNABLE:
                self._dequeue(core, t)
                return
        raise SimError(f"thread {t.name}: {MAX_PROGRAM_STEPS} zero-time steps in a row")
