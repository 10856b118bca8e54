"""RT throttling and the fair server, per core (KLIPPER-FACTS 8).

Contract: `RtThrottling` is a mixin of `Scheduler` (scheduler.py); it uses
`self.config` (SchedConfig) and `self.kernel.now`, and keeps its state in
the `Core` fields rt_window/rt_time/rt_throttled_until (classic) and
fs_start (fair server). The scheduler asks it:
- `_rt_gate(core)`: may RT threads be picked on this core now;
- `_charge_rt_window(core, now, delta)`: RT CPU time ran (classic mode);
- `_rt_throttle_time(core, now)`: when the running RT thread would hit
  the classic limit (for the core's next event);
- `_fair_served(core, gate)`: restart the fair-server starvation window
  when nobody is starved.
Modes: "classic" (RT may use `rt_runtime_ns` of each absolute
`rt_period_ns` window), "fair_server" (6.12+: SCHED_OTHER threads starved
by RT for period - runtime get `rt_period_ns - rt_runtime_ns`), "none".
"""
from __future__ import annotations

from .cores import Core
from .threads import OTHER


class RtThrottling:
    """The throttling rules of the scheduler (a mixin: see the contract)."""

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

    @staticmethod
    def _fair_served(core: Core, gate: bool) -> None:
        """Restart the fair-server window when nobody is starved: the core
        is idle or runs a SCHED_OTHER thread on its own merit (not in the
        boost, which is the one case with RT runnable and not allowed)."""
        curr = core.curr
        if curr is None or (curr.policy == OTHER and (gate or not core.rt_count)):
            core.fs_start = None

    def _rt_throttle_time(self, core: Core, now: int) -> int:
        """When the running RT thread would hit the classic RT limit."""
        period = self.config.rt_period_ns
        runtime = self.config.rt_runtime_ns
        window = now // period
        used = core.rt_time if core.rt_window == window else 0
        at = now + (runtime - used)
        window_end = (window + 1) * period
        return at if at <= window_end else window_end + runtime
