"""The scheduler's shortcuts for the uncontended cases.

Contract: `FastPaths` is a mixin of `Scheduler` (scheduler.py). Most
scheduler calls in a simulation decide nothing: a thread wakes onto an
idle core, or a core's thread finishes a burst and goes on alone or
blocks leaving the core idle. These shortcuts make exactly the state
changes the general path (`_settle` -> `_resched` -> `_repick`) would, in
the same order, with fewer calls. They run only when
`Scheduler.fast_paths` is set (as do timing.py's `_arm` for a thread alone
on its core and eevdf.py's one-thread pick, `FairRunQueue.shortcut`); tests/test_sim_sched_fast.py runs random
thread sets with them off (the reference) and on and compares trace
bytes, program-step times and every metric.
"""
from __future__ import annotations

from .cores import Core
from .threads import VThread


class FastPaths:
    """Uncontended wake-up and settle (a mixin: see the contract)."""

    def _wake_idle(self, core: Core, t: VThread, now: int) -> None:
        """wake() of a SCHED_OTHER thread whose previous core is idle with
        nothing queued and nothing else pending: _select_core, the enqueue
        and _resched's pick reduce to running t there at once."""
        self._busy = True
        try:
            t.core = core.index
            core.fair.enqueue(t, now)
            if self.kernel.trace is not None:
                self.kernel.record("wake", t.name, core.index)
            core.gate = False
            core.need = False
            self._switch(core, None, t, now)
            core.fair.set_running(t)
            if t.remaining == 0:
                self._run_program(core, t)
            if core.curr is not t and not self._blocked_at_once(core, now):
                self._repick(core, None, self._rt_gate(core), now)
            else:
                if self.config.rt_throttle == "fair_server":
                    self._fair_served(core, False)
                self._arm(core)
        finally:
            self._busy = False
        if self._dirty:
            self._settle()

    def _settle_quiet(self, core: Core) -> bool:
        """_resched for a core event that decides nothing: the thread goes
        on alone, or the core goes idle with nothing to pull. False (and
        nothing changed) when a real decision is due."""
        if core.rt_count or core.gate or core.need:
            return False
        if core.curr is not None:
            if core.fair.nr != 1:
                return False
        else:
            if core.fair.nr or core.switch_until > self.kernel.now:
                return False
            for c in self.cores:             # _pull's sources, none allowed
                if c is not core and c.curr is not None and c.fair.nr + c.rt_count >= 2:
                    return False
            if core.fair.root.curr is not None:
                core.fair.set_running(None)
            if self.config.rt_throttle == "fair_server":
                core.fs_start = None
        self._arm(core)
        return True
