"""SCHED_OTHER run queues with EEVDF picking (Linux 6.6+), integer arithmetic.

Contract: `FairRunQueue` is one core's SCHED_OTHER queue. It holds thread
entities directly (no autogroup, or kernel threads, which live in the root
task group) and, with autogroup, one group entity per process group whose
own `EevdfQueue` holds that group's threads (group weights sit above nice,
KLIPPER-FACTS 5.1/8). The scheduler calls `enqueue`, `dequeue`, `pick`,
`set_running`, `charge` and `ns_to_slice_end`; this module knows nothing of
cores, RT classes or time other than the ns deltas it is charged.

The EEVDF rules modelled (kernel/sched/fair.c, Linux 6.6, paraphrased):
- every entity has a virtual runtime v that advances by
  delta * 1024 / weight while it runs (weights: nice table, FACTS 5.1);
- the queue's average V is the weight-averaged v of its entities (the
  running one included); an entity is eligible when v <= V (lag >= 0);
- its virtual deadline is vd = v + slice * 1024 / weight; the pick is the
  eligible entity with the earliest vd;
- RUN_TO_PARITY: the running entity keeps the CPU while it is eligible and
  has not used up the slice it was picked for;
- when v passes vd the slice is used: vd = v + vslice and a re-pick
  happens;
- lag (V - v) is saved when an entity leaves the queue (clamped to
  max(2 slices, 1 tick)) and restored, scaled by (W + w) / W, when it comes back
  (PLACE_LAG); so sleepers neither gain nor lose much.
Group entity weights split the group's shares between cores by load
(groups.py). Simplifications (documented): no DELAY_DEQUEUE, no
PLACE_DEADLINE_INITIAL, no per-task slice hints.

v is kept in units of 2**-10 ns of nice-0 time so integer division loses
nothing that matters (VUNIT below).
"""
from __future__ import annotations

NICE_0_WEIGHT = 1024
# v += delta_ns * VUNIT // weight: 1024 for nice-0 scaling, 2**10 of
# extra fraction bits.
VUNIT = NICE_0_WEIGHT << 10

# kernel/sched/core.c sched_prio_to_weight, nice -20..19 (FACTS 5.1).
NICE_TO_WEIGHT = (
    88761, 71755, 56483, 46273, 36291,
    29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906,
    3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423,
    335, 272, 215, 172, 137,
    110, 87, 70, 56, 45,
    36, 29, 23, 18, 15,
)


def nice_weight(nice: int) -> int:
    if not -20 <= nice <= 19:
        raise ValueError(f"nice {nice} outside -20..19")
    return NICE_TO_WEIGHT[nice + 20]


class FairEntity:
    """A schedulable entity at one level: a thread or a process group."""

    __slots__ = ("name", "weight", "slice_ns", "v", "vd", "vlag", "protect",
                 "queued", "thread", "child", "tg", "stamp")

    def __init__(self, name: str, weight: int, slice_ns: int,
                 thread=None, child: "EevdfQueue | None" = None, tg=None):
        self.name = name
        self.weight = weight
        self.slice_ns = slice_ns
        self.v = 0
        self.vd = 0
        self.vlag = 0
        self.protect = False      # RUN_TO_PARITY: still in the picked slice
        self.queued = False
        self.thread = thread      # set for thread entities
        self.child = child        # set for group entities
        self.tg = tg              # the TaskGroup of a group entity
        self.stamp = 0            # last reweight of a group entity (ns)

    def vslice(self) -> int:
        return self.slice_ns * VUNIT // self.weight


class EevdfQueue:
    """Entities of one level on one core, the running one included. The
    total weight and weighted v are kept up to date incrementally."""

    __slots__ = ("entities", "curr", "last_v", "load", "wsum")

    def __init__(self):
        self.entities: list[FairEntity] = []
        self.curr: FairEntity | None = None
        self.last_v = 0
        self.load = 0          # sum of weights
        self.wsum = 0          # sum of weight * v

    def avg_v(self) -> int:
        if self.load:
            self.last_v = self.wsum // self.load
        return self.last_v

    def enqueue(self, e: FairEntity) -> None:
        load = self.load
        avg = self.wsum // load if load else self.last_v
        lag = e.vlag
        if load:
            lag = lag * (load + e.weight) // load
        e.v = v = avg - lag
        e.vd = v + e.slice_ns * VUNIT // e.weight      # + vslice()
        e.protect = False
        e.queued = True
        self.entities.append(e)
        self.load += e.weight
        self.wsum += e.weight * e.v

    def dequeue(self, e: FairEntity, tick_ns: int = 0) -> None:
        w = e.weight
        avg = self.wsum // self.load
        self.last_v = avg
        # update_entity_lag: clamp to max(2 slices, one tick) of e's time
        span = 2 * e.slice_ns
        limit = (span if span > tick_ns else tick_ns) * VUNIT // w
        lag = avg - e.v
        e.vlag = limit if lag > limit else (-limit if lag < -limit else lag)
        self.entities.remove(e)
        self.load -= w
        self.wsum -= w * e.v
        e.queued = False
        e.protect = False
        if self.curr is e:
            self.curr = None

    def pick(self) -> FairEntity | None:
        load = self.load
        if not load:
            return None
        weighted = self.wsum
        curr = self.curr
        if curr is not None and curr.protect and curr.v * load <= weighted:
            return curr
        best = None
        for e in self.entities:
            if e.v * load <= weighted and (best is None or e.vd < best.vd):
                best = e
        return best

    def set_curr(self, e: FairEntity | None) -> None:
        """e was picked (set_next_entity): it runs protected until its
        slice ends (RUN_TO_PARITY)."""
        self.curr = e
        if e is not None:
            e.protect = True

    def charge(self, e: FairEntity, delta: int) -> bool:
        """Advance queued e by delta ns of CPU; True when its slice ran out."""
        w = e.weight
        dv = delta * VUNIT // w
        e.v = v = e.v + dv
        self.wsum += dv * w
        if v >= e.vd:
            e.vd = v + e.slice_ns * VUNIT // w     # + vslice()
            e.protect = False
            return True
        return False

    def reweight(self, e: FairEntity, weight: int) -> None:
        """Change e's weight keeping its lag and relative deadline in real
        time (reweight_eevdf): the queue's average V does not move."""
        old = e.weight
        if old == weight:
            return
        if e.queued:
            avg = self.wsum // self.load
            v_old = e.v
            e.v = avg - (avg - v_old) * old // weight
            e.vd = e.v + (e.vd - v_old) * old // weight
            self.load += weight - old
            self.wsum += weight * e.v - old * v_old
        else:
            e.vlag = e.vlag * old // weight
        e.weight = weight

    @staticmethod
    def ns_to_deadline(e: FairEntity) -> int:
        gap = e.vd - e.v
        return max(1, -(-gap * e.weight // VUNIT))


class FairRunQueue:
    """One core's SCHED_OTHER queue: root level plus optional groups.
    Group entity weights follow groups.TaskGroup.weight_on."""

    shortcut = True       # pick() with one thread queued skips the EEVDF rule

    def __init__(self, core: int, task_group, tick_ns: int = 0):
        self.core = core
        self.tick_ns = tick_ns
        self.root = EevdfQueue()
        self.groups: dict[str, FairEntity] = {}
        self.task_group = task_group       # callable name -> TaskGroup
        self.nr = 0                        # thread entities queued

    def _group_entity(self, thread) -> FairEntity:
        group = thread.fair_group
        ge = self.groups.get(group)
        if ge is None:
            tg = self.task_group(group)
            ge = FairEntity("group:" + group, tg.shares, thread.fair.slice_ns,
                            child=EevdfQueue(), tg=tg)
            self.groups[group] = ge
        return ge

    def _reweight_group(self, ge: FairEntity, now: int) -> None:
        """Reweight a group entity; skipped while it is alone at the root,
        where its weight decides nothing (a lag-preserving reweight when a
        competitor arrives gives the same result)."""
        ge.stamp = now
        if len(self.root.entities) > (1 if ge.queued else 0):
            self.root.reweight(ge, ge.tg.weight_on(self.core, now))

    def _reweight_root_groups(self, now: int) -> None:
        """A second entity reached the root: refresh the groups' weights."""
        for e in self.root.entities:
            if e.tg is not None:
                self._reweight_group(e, now)

    def enqueue(self, thread, now: int) -> None:
        self.nr += 1
        root = self.root
        if thread.fair_group is None:
            if len(root.entities) == 1:
                self._reweight_root_groups(now)
            root.enqueue(thread.fair)
            return
        ge = self._group_entity(thread)
        ge.child.enqueue(thread.fair)
        ge.tg.set_runnable(self.core, ge.child.load, now)
        if ge.queued:
            self._reweight_group(ge, now)
            return
        if len(root.entities) == 1:
            self._reweight_root_groups(now)
        self._reweight_group(ge, now)
        root.enqueue(ge)

    def dequeue(self, thread, now: int) -> None:
        self.nr -= 1
        tick = self.tick_ns
        if thread.fair_group is None:
            self.root.dequeue(thread.fair, tick)
            return
        ge = self.groups[thread.fair_group]
        ge.child.dequeue(thread.fair, tick)
        ge.tg.set_runnable(self.core, ge.child.load, now)
        if not ge.child.entities:
            self.root.dequeue(ge, tick)
        else:
            self._reweight_group(ge, now)

    def pick(self):
        if self.nr == 1 and self.shortcut:
            # one thread: it is eligible (its v is the average) at every level
            e = self.root.entities[0]
            if e.child is not None:
                e = e.child.entities[0]
            return e.thread
        e = self.root.pick()
        if e is None:
            return None
        if e.child is not None:
            e = e.child.pick()
        return e.thread

    def set_running(self, thread) -> None:
        """Mark `thread` (or None: the core left SCHED_OTHER) as current.
        (EevdfQueue.set_curr written out: this runs on every pick.)"""
        root = self.root
        if thread is None:
            old = root.curr
            if old is not None and old.child is not None:
                old.child.curr = None   # the group lost the CPU: put_prev
            root.curr = None
            return
        group = thread.fair_group
        ge = self.groups[group] if group is not None else None
        old = root.curr
        if old is not None and old.child is not None and old is not ge:
            old.child.curr = None       # the group lost the CPU: put_prev
        if ge is None:
            fair = root.curr = thread.fair
            fair.protect = True
        else:
            root.curr = ge
            ge.protect = True
            fair = ge.child.curr = thread.fair
            fair.protect = True

    def charge(self, thread, delta: int, now: int) -> bool:
        group = thread.fair_group
        if group is None:
            return self.root.charge(thread.fair, delta)
        ge = self.groups[group]
        expired = ge.child.charge(thread.fair, delta) | self.root.charge(ge, delta)
        if now - ge.stamp >= self.tick_ns:     # Linux: at most once a tick
            self._reweight_group(ge, now)
        return expired

    def ns_to_slice_end(self, thread) -> int:
        ns = EevdfQueue.ns_to_deadline(thread.fair)
        group = thread.fair_group
        if group is not None:
            ns = min(ns, EevdfQueue.ns_to_deadline(self.groups[group]))
        return ns

    def has_competition(self, thread) -> bool:
        """True when another entity could take the CPU from `thread`."""
        if len(self.root.entities) > 1:
            return True
        group = thread.fair_group
        return group is not None and len(self.groups[group].child.entities) > 1
