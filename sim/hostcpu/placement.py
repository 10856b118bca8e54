"""Where threads run: wake-up placement, idle pull and periodic balancing.

Contract: `Placement` is a mixin of `Scheduler` (scheduler.py); it reads
`self.cores`, `self.config` and `self.kernel`, and moves threads only
through the scheduler's `_account`, `_dequeue` and `_enqueue_and_check`.
Rules (simple, documented in scheduler.py's opening): a woken SCHED_OTHER
thread goes to its previous core if idle, else the first idle allowed
core, else the least loaded (ties: previous core, then lowest index); a
woken RT thread goes to the allowed core running the least important work
(idle < SCHED_OTHER < lower RT); a core going idle pulls a waiting thread
from the busiest core; every `balance_interval_ns`, while someone waits,
SCHED_OTHER threads starved behind RT, or on a core with >= 2 more of them
than another, move.
"""
from __future__ import annotations

from .cores import Core
from .threads import OTHER, VThread, check_cpus


class Placement:
    """Placement and balancing rules of the scheduler (a mixin)."""

    def _check_cpus(self, name: str, cpus) -> tuple[int, ...]:
        return check_cpus(name, cpus, self.config.cores)

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

    def _migrate(self, t: VThread, dst: Core) -> None:
        src = self.cores[t.core]
        self._account(src)
        self._dequeue(src, t)
        self._enqueue_and_check(dst, t)

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
