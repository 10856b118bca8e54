"""When a host like Klipper's sends each message of a command stream.

Contract: `DeliveryPlanner(move_count, lead_ticks).plan(name, args)`
returns, for each message in stream order, the MCU clock at which the
host would send it (KLIPPER-FACTS 2.5, 2.6):
- `lead` ticks before its requested clock (a queue_step's is its
  stepper's previous step time; a lone step at least CLOCK_DIFF_MAX after
  the previous one is requested at its own time), never before its
  min_clock;
- a queue_step never overflows the MCU move queue: the host mirrors the
  queue as a heap of slot-free clocks (move_count minus one slot reserved
  per digital output, as steppersync does); a queue_digital_out (or
  queue_pwm_out) waits for the pin's previous update;
- a message more than 3<<29 ticks before its clock waits (the 32-bit
  clock must stay unambiguous: serialqueue_send_batch);
- messages of one object keep their order; objects are independent
  except for homing commands naming a trsync, and oid-less messages are
  barriers.
It also resolves the 64-bit clocks the 32-bit stream fields stand for
(klipsim.sim.execute.stream_clock states the rule).
After each plan, `deadline` is the clock the message must reach the MCU
by (the first step, the update or sample time), or None.  Pure integer
arithmetic; no firmware involved.
"""
import heapq

from klipsim.sim.execute.stream_clock import StreamClocks

CLOCK_DIFF_MAX = 3 << 28     # stepcompress: a single step this far is sent on its own clock
MAX_AHEAD = 3 << 29          # serialqueue: min_clock >= req_clock - 3<<29


class DeliveryError(Exception):
    """A stream the host model cannot plan (one line, for the user)."""


def extend_clock(clock32, reference):
    """The 64-bit clock with these low 32 bits nearest to `reference`."""
    return reference + ((clock32 - reference + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def queue_step_duration(interval, count, add):
    """Ticks from the previous step to the last step of a queue_step."""
    return count * interval + add * (count * (count - 1) // 2)


def resolve_far_step(naive_clock, reference):
    """The clock of a single-step queue_step.  stepcompress sends a step
    at least CLOCK_DIFF_MAX after the previous one on its own (count 1),
    and a gap of 2^32 ticks or more reaches the MCU modulo 2^32 (the
    interval is 32 bits; the MCU adds it to its 32-bit clock).  So the
    step is at its naive time (previous step + interval) plus the whole
    wraps that make it the first such time not earlier than
    `reference` - 2^31: the one the MCU's clock reaches when the step is
    sent near `reference`.  Steps of multi-step moves never wrap."""
    behind = reference - (1 << 31) - naive_clock
    if behind <= 0:
        return naive_clock
    return naive_clock + (((behind + (1 << 32) - 1) >> 32) << 32)


class DeliveryPlanner:
    """Delivery clock of each message, as Klipper's host would send it.

    Like the host's per-object command queues, messages of one object
    (oid) keep their stream order; messages of different objects are
    independent, except that homing commands naming a trsync follow that
    trsync's earlier messages, and messages without an oid (allocate_oids,
    finalize_config, ...) are barriers ordered after everything before
    them and before everything after them.
    """

    def __init__(self, move_count, lead_ticks, end_margin=0, wide_clocks=False):
        self.clocks = StreamClocks(wide_clocks)
        self.move_count = move_count
        self.lead = lead_ticks
        self.end_margin = end_margin
        self.last_step = {}        # stepper oid -> clock of its previous step
        self.last_update = {}      # digital out oid -> clock of its last update
        self.queue_time = {}       # oid -> delivery clock of its last message
        self.barrier = 0           # delivery clock of the last oid-less message
        self.progress = 0          # latest delivery clock planned so far
        self.slots = None          # heap of move-slot free clocks
        self.deadline = None       # clock the last planned message must beat
        self.zero_clock_fixes = 0
        self.max_duration = 0      # longest digital out max_duration
        self.planned = 0           # messages planned
        # `progress`: the host's clock estimate, latest delivery planned
        # (lone far steps excluded: they are planned ahead of the rest).

    def _start_motion(self):
        free = self.move_count - len(self.last_update)
        if free <= 0:
            raise DeliveryError("MCU move queue (%d) smaller than its %d digital outputs"
                               % (self.move_count, len(self.last_update)))
        self.slots = [0] * free

    def _queues(self, name, args):
        oid = args.get("oid")
        if oid is None:
            return None
        if name == "stepper_stop_on_trigger" or (
                name == "endstop_home" and args["sample_count"]):
            return (oid, ("trsync", args["trsync_oid"]))
        if name.startswith("trsync_"):
            return (("trsync", oid),)
        return (oid,)

    def plan(self, name, args):
        """Delivery clock for the next message in stream order (args may
        be rewritten: see _queue_digital_out)."""
        if name == "queue_step":
            return self.plan_queue_step(args)
        self.planned += 1
        self.deadline = None
        req, min_clock = 0, 0
        if name == "set_next_step_dir":
            req = self.last_step[args["oid"]]
        elif name in ("queue_digital_out", "queue_pwm_out"):
            req, min_clock = self._queue_digital_out(args)
            self.deadline = req
        elif name == "reset_step_clock":
            oid = args["oid"]
            self.last_step[oid] = req = self._extend(oid, args["clock"], self.last_step[oid])
            self.clocks.advance(req)
        elif name in ("endstop_home", "trsync_set_timeout", "query_analog_in",
                      "query_thermocouple", "query_counter", "buttons_query"):
            req = self._extend(args["oid"], args["clock"])
            if req and (name != "endstop_home" or args["sample_count"]):
                self.deadline = req
        elif name == "trsync_start":
            req = self.deadline = self._extend(args["oid"], args["report_clock"], narrow=True)
        elif name == "config_stepper":
            self.last_step[args["oid"]] = 0
        elif name in ("config_digital_out", "config_pwm_out"):
            self.last_update[args["oid"]] = 0
            self.max_duration = max(self.max_duration, args["max_duration"])
        queues = self._queues(name, args)
        if queues is None:
            base = max([self.barrier] + list(self.queue_time.values()))
        else:
            base = max([self.barrier] + [self.queue_time.get(q, 0) for q in queues])
        ready = max(base, min_clock, req - self.lead, req - MAX_AHEAD)
        if queues is None:
            self.barrier = ready
        else:
            for q in queues:
                self.queue_time[q] = ready
        self.progress = max(self.progress, ready)
        return ready

    def _extend(self, oid, clock32, floor=0, narrow=False):
        if clock32 == 0:
            return 0
        return self.clocks.extend(oid, clock32, floor, narrow)

    def plan_queue_step(self, args):
        """plan() for a queue_step (the hot path, kept in one function).

        Requested clock: the stepper's previous step (for a lone far step,
        its own clock); min_clock: the earliest free move slot; the slot
        is then busy until the move starts (its previous step, or arrival
        if the stepper is idle by then)."""
        slots = self.slots
        if slots is None:
            self._start_motion()
            slots = self.slots
        self.planned += 1
        oid, interval, count = args["oid"], args["interval"], args["count"]
        start = self.last_step[oid]
        first = start + interval
        req = start
        if count == 1:
            first = resolve_far_step(first, self.clocks.progress)
            if first - start >= CLOCK_DIFF_MAX:
                req = first
            self.last_step[oid] = first
        else:
            self.last_step[oid] = start + count * interval \
                + args["add"] * (count * (count - 1) // 2)
        if self.last_step[oid] > self.clocks.progress:
            self.clocks.progress = self.last_step[oid]
        ready = req - self.lead
        if req - MAX_AHEAD > ready:
            ready = req - MAX_AHEAD
        base = self.queue_time.get(oid, 0)
        if base < self.barrier:
            base = self.barrier
        if ready < base:
            ready = base
        if ready < slots[0]:
            ready = slots[0]
        self.queue_time[oid] = ready
        heapq.heapreplace(slots, start if start > ready else ready)
        self.deadline = first
        if req == start and ready > self.progress:
            self.progress = ready
        return ready

    def _queue_digital_out(self, args):
        """A zero clock is batch mode's print time 0 in an update made by
        a reactor timer (golden/klipper/README.md); a live host sends its
        current estimate, so the update is scheduled `lead` from now."""
        oid = args["oid"]
        if args["clock"] == 0:
            clock = max(self.progress, self.last_update[oid]) + self.lead
            args["clock"] = clock & 0xFFFFFFFF
            self.zero_clock_fixes += 1
        else:
            clock = self._extend(oid, args["clock"])
        min_clock = self.last_update[oid]
        self.last_update[oid] = clock
        return clock, min_clock

    @property
    def end_clock(self):
        """Where a run ends: after the latest clock any planned message
        refers to, plus the longest max_duration (so an output left on
        trips its check), plus END_MARGIN_S."""
        ends = list(self.last_step.values()) + list(self.last_update.values())
        return max(ends + [self.progress]) + self.max_duration + self.end_margin
