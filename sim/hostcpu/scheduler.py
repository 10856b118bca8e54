"""The virtual CPU scheduler: N cores, Linux scheduling classes, event driven.

Contract: `Scheduler(kernel, config)` owns the cores; `spawn()` creates a
`VThread` whose program (see scheduler_thread.py) it runs on the cores as
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
  with EEVDF (scheduler_eevdf.py), base slice 0.75 ms x (1 + ilog2(min(ncpu,
  8))); a woken thread preempts when the EEVDF pick now selects it
  (RUN_TO_PARITY keeps an eligible running thread until its slice ends).
- autogroup: each group is one entity per core whose weight is the group's
  shares split by load between cores (scheduler_groups.py); threads with
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
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from ..kernel.events import Kernel, SimError, NS_PER_MS, NS_PER_S
from .eevdf import FairRunQueue, nice_weight
from .groups import TaskGroup
from .threads import (
    BLOCKED, OTHER, RR, RUNNABLE, Signal, VThread)

THROTTLE_MODES = ("classic", "fair_server", "none")
MAX_PROGRAM_STEPS = 100_000   # zero-time steps in a row: a runaway program


@dataclass
class SchedConfig:
    """Kernel behaviour of one machine (filled from a machine TOML)."""
    cores: int = 1
    base_slice_ns: int = 750_000          # before the 1 + ilog2(ncpu) factor
    tick_hz: int = 250
    context_switch_ns: int = 0
    rt_throttle: str = "classic"
    rt_period_ns: int = NS_PER_S
    rt_runtime_ns: int = 950 * NS_PER_MS
    rr_slice_ns: int = 100 * NS_PER_MS    # sched_rr_timeslice_ms default
    autogroup: bool = False
    group_nice: dict = field(default_factory=dict)
    balance_interval_ns: int = 4 * NS_PER_MS

    def scaled_slice_ns(self) -> int:
        """EEVDF base slice after sched_init_granularity's log scaling."""
        factor = 1 + (min(self.cores, 8).bit_length() - 1)
        return self.base_slice_ns * factor


class Core:
    """One CPU: the running thread, its RT queues and its fair queue."""

    __slots__ = ("index", "curr", "last", "seg_start", "work_start", "event",
                 "fire", "rt_levels", "rt_count", "fair", "rt_window",
                 "rt_time", "rt_throttled_until", "fs_start", "dirty", "need", "gate",
                 "switch_until",
                 "overhead_ns", "busy_ns")

    def __init__(self, index: int, fair: FairRunQueue):
        self.index = index
        self.curr: VThread | None = None
        self.last: VThread | None = None
        self.seg_start = 0
        self.work_start = 0
        self.event = None
        self.fire = None
        self.rt_levels: dict[int, list[VThread]] = {}
        self.rt_count = 0
        self.fair = fair
        self.rt_window = -1
        self.rt_time = 0
        self.rt_throttled_until = 0
        self.fs_start: int | None = None
        self.dirty = False
        self.need = False      # Linux's TIF_NEED_RESCHED: re-pick at next settle
        self.gate = False      # RT allowed at the last pick
        self.switch_until = 0  # busy switching to a thread that blocked at once
        self.overhead_ns = 0
        self.busy_ns = 0

    def load(self) -> int:
        return self.fair.nr + self.rt_count

    def top_rt(self) -> VThread | None:
        if not self.rt_count:
            return None
        level = self.rt_levels[max(p for p, q in self.rt_levels.items() if q)]
        return level[0]


class Scheduler:
    """Cores, threads and the rules that decide who runs where."""

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

    # -- placement ------------------------------------------------------
    def _check_cpus(self, name: str, cpus) -> tuple[int, ...]:
        n = self.config.cores
        if cpus is None:
            return tuple(range(n))
        cpus = tuple(sorted(set(cpus)))
        if not cpus or any(type(c) is not int or not 0 <= c < n for c in cpus):
            raise ValueError(f"thread {name}: cpus {list(cpus)} not within 0..{n - 1}")
        return cpus

    def _task_group(self, group: str) -> TaskGroup:
        tg = self.task_groups.get(group)
        if tg is None:
            tg = TaskGroup(group, nice_weight(self.config.group_nice.get(group, 0)),
                           self.config.cores)
            self.task_groups[group] = tg
        return tg

    def _rank(self, core: Core) -> int:
        """How important the work on a core is: -1 idle, 0 SCHED_OTHER, prio."""
        top = core.top_rt()
        if top is not None:
            return top.priority
        return 0 if core.fair.nr else -1

    def _select_core(self, t: VThread) -> Core:
        cores = self.cores
        if t.policy == OTHER:           # fast path: the previous core is idle
            core = cores[t.core]
            if core.fair.nr + core.rt_count == 0 and t.core in t.cpus:
                return core
        prev = t.core if t.core in t.cpus else t.cpus[0]
        if t.policy != OTHER:
            best = min(t.cpus, key=lambda i: (self._rank(cores[i]), i != prev, i))
            return cores[best]
        if cores[prev].load() == 0:
            return cores[prev]
        for i in t.cpus:
            if cores[i].load() == 0:
                return cores[i]
        best = min(t.cpus, key=lambda i: (cores[i].load(), i != prev, i))
        return cores[best]

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

    def _migrate(self, t: VThread, dst: Core) -> None:
        src = self.cores[t.core]
        self._account(src)
        self._dequeue(src, t)
        self._enqueue_and_check(dst, t)

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

    # -- accounting -----------------------------------------------------
    def _account(self, core: Core) -> None:
        """Charge the running thread for the time since the last charge."""
        t = core.curr
        if t is None:
            return
        now = self.kernel.now
        delta = now - core.seg_start
        if delta <= 0:
            return
        work_from = core.work_start if core.work_start > core.seg_start else core.seg_start
        useful = now - work_from if now > work_from else 0
        if useful > t.remaining:
            useful = t.remaining
        t.remaining -= useful
        t.cpu_ns += useful
        core.busy_ns += delta
        core.overhead_ns += delta - useful
        core.seg_start = now
        if t.policy == OTHER:
            if core.fair.charge(t, delta, now):
                core.need = True          # slice used up: re-pick
            return
        if self.config.rt_throttle == "classic":
            self._charge_rt_window(core, now, delta)
        if t.policy == RR:
            t.rr_left -= delta
            if t.rr_left <= 0:
                core.need = True

    def _charge_rt_window(self, core: Core, now: int, delta: int) -> None:
        period = self.config.rt_period_ns
        window = now // period
        if window != core.rt_window:
            core.rt_window = window
            core.rt_time = min(delta, now - window * period)
        else:
            core.rt_time += delta
        if core.rt_time >= self.config.rt_runtime_ns:
            core.rt_throttled_until = (window + 1) * period
            core.need = True

    # -- picking --------------------------------------------------------
    def _fair_boosted(self, core: Core, now: int) -> bool:
        """Fair-server rule: True while starved SCHED_OTHER threads get their
        50 ms; keeps core.fs_start (start of the starvation window)."""
        if not (core.rt_count and core.fair.nr):
            core.fs_start = None
            return False
        period = self.config.rt_period_ns
        if core.fs_start is None:
            core.fs_start = now
        elif now >= core.fs_start + period:
            core.fs_start += (now - core.fs_start) // period * period
        return now >= core.fs_start + self.config.rt_runtime_ns

    def _rt_gate(self, core: Core) -> bool:
        """May RT threads run on this core now (throttling rules)?"""
        if not core.rt_count:
            return False
        mode = self.config.rt_throttle
        now = self.kernel.now
        if mode == "classic":
            return core.rt_throttled_until <= now
        if mode == "fair_server":
            return not self._fair_boosted(core, now)
        return True

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
            return t
        if core.fair.nr:
            return core.fair.pick()
        return None

    def _pull(self, core: Core) -> bool:
        """An idle core takes a waiting thread from the busiest core."""
        sources = [c for c in self.cores       # (load() written out)
                   if c is not core and c.curr is not None
                   and c.fair.nr + c.rt_count >= 2]
        if not sources:
            return False
        best = None
        for src in sorted(sources, key=lambda c: (-c.load(), c.index)):
            for t in self._waiting(src):
                if core.index in t.cpus:
                    best = t
                    break
            if best is not None:
                break
        if best is None:
            return False
        self._migrate(best, core)
        return True

    def _waiting(self, core: Core):
        """Runnable threads of a core that are not running, RT first."""
        for prio in sorted(core.rt_levels, reverse=True):
            for t in core.rt_levels[prio]:
                if t is not core.curr:
                    yield t
        for t in self._fair_threads(core):
            if t is not core.curr:
                yield t

    @staticmethod
    def _fair_threads(core: Core):
        for e in core.fair.root.entities:
            if e.child is None:
                yield e.thread
            else:
                for ce in e.child.entities:
                    yield ce.thread

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
            if core.curr is nxt:
                break
            # it blocked at once: the switch to it still takes its time
            prev = None
            if core.work_start > now:
                core.switch_until = core.work_start
                core.overhead_ns += core.work_start - now
                core.busy_ns += core.work_start - now
                break
            gate = self._rt_gate(core)
        if self.config.rt_throttle == "fair_server":
            self._fair_served(core, gate)
        self._arm(core)

    @staticmethod
    def _fair_served(core: Core, gate: bool) -> None:
        """Restart the fair-server window when nobody is starved: the core
        is idle or runs a SCHED_OTHER thread on its own merit (not in the
        boost, which is the one case with RT runnable and not allowed)."""
        curr = core.curr
        if curr is None or (curr.policy == OTHER and (gate or not core.rt_count)):
            core.fs_start = None

    def _switch(self, core: Core, prev: VThread | None, nxt: VThread | None,
                now: int) -> None:
        if prev is not None:
            prev.runnable_since = now           # preempted: waits from now
        core.curr = nxt
        core.seg_start = now
        if nxt is not None:
            self._dispatch(core, nxt, now)
        if self.kernel.trace is not None:
            self.kernel.record("run", nxt.name if nxt else "-", core.index)

    def _dispatch(self, core: Core, t: VThread, now: int) -> None:
        switch = self.config.context_switch_ns if core.last is not t else 0
        core.last = t
        core.work_start = now + switch
        t.switches += 1
        wait = now - t.runnable_since
        t.runq_waits.append(wait)
        if wait:                                # per second, for --plot
            second = now // NS_PER_S
            if wait > t.runq_wait_by_s.get(second, 0):
                t.runq_wait_by_s[second] = wait
        if t.woke_at is not None:
            t.wake_latencies.append(now + switch - t.woke_at)
            t.woke_at = None

    def _arm(self, core: Core) -> None:
        """(Re)schedule the core's single pending event."""
        now = self.kernel.now
        t = core.curr
        if t is not None:
            at = self._next_running_event(core, t, now)
        else:
            at = core.switch_until if core.switch_until > now else None
        if self._classic and core.rt_throttled_until > now:
            at = core.rt_throttled_until if at is None else min(at, core.rt_throttled_until)
        ev = core.event
        if ev is not None and ev.callback is not None:
            if ev.time == at:
                return
            ev.callback = None
        core.event = None if at is None else self.kernel.schedule(at, core.fire)

    def _next_running_event(self, core: Core, t: VThread, now: int) -> int:
        """Earliest of: t's program step or burst end, its slice end, a
        throttling edge."""
        start = core.work_start if core.work_start > now else now
        at = start if (t.remaining == 0 or t.interrupt is not None) else start + t.remaining
        mode = self.config.rt_throttle
        if t.policy == OTHER:
            if core.fair.has_competition(t):
                at = min(at, self._tick_ceil(now + core.fair.ns_to_slice_end(t)))
            if mode == "fair_server" and core.fs_start is not None and core.rt_count:
                edge = core.fs_start + self.config.rt_period_ns     # boost ends
                at = min(at, edge if edge > now else now)
            return at
        if t.policy == RR and len(core.rt_levels[t.priority]) > 1:
            at = min(at, self._tick_ceil(now + max(t.rr_left, 0)))
        if mode == "classic":
            at = min(at, self._tick_ceil(self._rt_throttle_time(core, now)))
        elif mode == "fair_server" and core.fair.nr:
            if core.fs_start is None:
                core.fs_start = now
            at = min(at, core.fs_start + self.config.rt_runtime_ns)  # boost starts
        return at

    def _rt_throttle_time(self, core: Core, now: int) -> int:
        """When the running RT thread would hit the classic RT limit."""
        period = self.config.rt_period_ns
        runtime = self.config.rt_runtime_ns
        window = now // period
        used = core.rt_time if core.rt_window == window else 0
        at = now + (runtime - used)
        window_end = (window + 1) * period
        return at if at <= window_end else window_end + runtime

    def _tick_ceil(self, at: int) -> int:
        tick = self.tick_ns
        if not tick:
            return at
        return -(-at // tick) * tick

    def _on_core_event(self, core: Core) -> None:
        core.event = None
        self._busy = True
        try:
            self._account(core)
            t = core.curr
            if t is not None and self.kernel.now >= core.work_start:
                self._run_program(core, t)
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

    # -- periodic balancing --------------------------------------------
    def _arm_balance(self) -> None:
        if self._balance_event is None and len(self.cores) > 1:
            interval = self.config.balance_interval_ns
            at = (self.kernel.now // interval + 1) * interval
            self._balance_event = self.kernel.schedule(at, self._balance_tick)

    def _balance_tick(self) -> None:
        self._balance_event = None
        self._busy = True
        try:
            for src in self.cores:
                self._balance_from(src)
        finally:
            self._busy = False
        self._settle()

    def _balance_from(self, src: Core) -> None:
        for t in list(self._waiting(src)):
            if t.policy == OTHER:
                break
            dst = min((self.cores[i] for i in t.cpus),
                      key=lambda c: (self._rank(c), c.index))
            if self._rank(dst) < t.priority:
                self._migrate(t, dst)
                return
        starved = src.rt_count > 0 and src.curr is not None and src.curr.policy != OTHER
        for t in list(self._fair_threads(src)):
            if t is src.curr:
                continue
            targets = [self.cores[i] for i in t.cpus
                       if i != src.index and self.cores[i].rt_count == 0]
            if not targets:
                continue
            dst = min(targets, key=lambda c: (c.fair.nr, c.index))
            if starved or dst.fair.nr + 2 <= src.fair.nr:
                self._migrate(t, dst)
                return
