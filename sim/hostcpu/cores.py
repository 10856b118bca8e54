"""What the scheduler knows about the machine and each of its CPUs.

Contract: `SchedConfig` is the kernel behaviour of one machine (cores,
EEVDF base slice, tick rate, context-switch cost, RT throttling mode and
limits, RR slice, autogroup, balancing interval), filled from a machine
TOML; `Core` is one CPU's state: the running thread, its RT priority
levels and fair queue, its time-accounting marks (segment start, start of
useful work after a context switch), its pending kernel event, its RT
throttling state and its busy/overhead totals. Plain data: the rules that
change it live in scheduler.py and its mixins.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..kernel.events import NS_PER_MS, NS_PER_S
from .eevdf import FairRunQueue
from .threads import VThread

THROTTLE_MODES = ("classic", "fair_server", "none")


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
