"""Task groups (autogroups) and how their CPU shares split between cores.

Contract: a `TaskGroup` is one process group's share (`shares`, the
group's nice weight, 1024 for autogroup nice 0). On each core the group is
one entity whose weight is the group's shares times the fraction of the
group's load that sits on that core (Linux kernel/sched/fair.c
calc_group_shares, paraphrased):

    load_c    = max(runnable weight on c now, load average on c)
    tg_weight = sum of the other cores' load averages + load_c
    weight_c  = clamp(shares * load_c / tg_weight, 2, shares)

The load average of a group on a core is PELT-like: the runnable weight
smoothed exponentially with a 32 ms half-life (Linux: y**32 = 1/2 with
1024 us periods, LOAD_AVG_PERIOD 32). Averages are advanced lazily from
the known runnable weights; a group entity is reweighted when the
scheduler touches it on its core (enqueue, dequeue, CPU charged), as
Linux does at those points and at ticks. So a group with
busy threads on two cores gets half its shares on each, and a sporadic
thread waking where its group has little recent load counts only with its
own weight.

Floating point is used for the averages (deterministic on one platform:
same operations in the same order); the resulting weights are ints.
"""
from __future__ import annotations

LOAD_HALF_LIFE_NS = 32 * 1_024_000     # 32 PELT periods of 1024 us
MIN_SHARES = 2


class TaskGroup:
    __slots__ = ("name", "shares", "avg", "stamp", "runnable")

    def __init__(self, name: str, shares: int, ncores: int):
        self.name = name
        self.shares = shares
        self.avg = [0.0] * ncores        # load average per core
        self.stamp = [0] * ncores        # ns of the last update per core
        self.runnable = [0] * ncores     # runnable weight per core now

    def set_runnable(self, core: int, weight: int, now: int) -> None:
        """The group's runnable weight on `core` changes at `now`."""
        self._advance(core, now)
        self.runnable[core] = weight

    def _advance(self, core: int, now: int) -> None:
        dt = now - self.stamp[core]
        if dt > 0:
            decay = 2.0 ** (-dt / LOAD_HALF_LIFE_NS)
            self.avg[core] = self.avg[core] * decay + self.runnable[core] * (1.0 - decay)
            self.stamp[core] = now

    def weight_on(self, core: int, now: int) -> int:
        """The group entity's weight on `core` at `now` (calc_group_shares).
        Every core's average is brought up to date first, as Linux's ticks
        would have done on the cores where the group runs."""
        total = 0.0
        for k in range(len(self.avg)):
            self._advance(k, now)
            total += self.avg[k]
        avg = self.avg[core]
        runnable = self.runnable[core]
        load = runnable if runnable > avg else avg
        tg_weight = total - avg + load
        if tg_weight <= 0.0:
            return self.shares
        shares = int(self.shares * load / tg_weight)
        return min(self.shares, max(MIN_SHARES, shares))
