"""Time on a core: charging CPU, switching threads and the core's one event.

Contract: `CoreTiming` is a mixin of `Scheduler` (scheduler.py). It
charges the running thread for the time since the last charge
(`_account`: useful work after the context switch, the rest overhead;
EEVDF virtual time, RR slice, classic RT window), switches a core to
another thread (`_switch`, `_dispatch`: run-queue wait and wake-up latency
samples) and keeps every core's single pending kernel event at the
earliest of its thread's burst end, slice end (rounded up to the next
tick, as Linux notices slice expiry at ticks), RT throttle point and
fair-server edge (`_arm`).
"""
from __future__ import annotations

from ..kernel.events import NS_PER_S
from .cores import Core
from .threads import OTHER, RR, VThread


class CoreTiming:
    """CPU time accounting and core events (a mixin: see the contract)."""

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
            if self.fast_paths and core.fair.nr == 1 and not core.rt_count:
                # alone on the core (SCHED_OTHER): no slice end, no edge
                start = core.work_start if core.work_start > now else now
                at = start if (t.remaining == 0 or t.interrupt is not None) \
                    else start + t.remaining
            else:
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

    def _tick_ceil(self, at: int) -> int:
        tick = self.tick_ns
        if not tick:
            return at
        return -(-at // tick) * tick
