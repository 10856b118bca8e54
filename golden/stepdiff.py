"""Step-level equivalence of two MCU command streams (`klipsim diff`).

Two streams (parsedump text or serial captures) are equivalent when every
stepper makes the same number of steps, each step in the same direction
and at the same time within a tolerance (default 25 us). Step times come
from the queue_step programs (golden/klipper/README.md, FACTS 3.2): the
first step of `queue_step oid interval count add` is `interval` ticks
after that stepper's previous step (or after reset_step_clock's clock, or
clock 0 at start) and each later interval grows by `add`, so step k
(k = 0..count-1) is at t_prev + (k+1)*interval + add*k*(k+1)/2.
Directions come from set_next_step_dir. Steppers are matched between the
streams by step pin (config_stepper), else by oid.

Other lines are compared per oid as multisets (pure reordering across oids
is not a difference) and, for information, position by position; they do
not decide the verdict. Expansion to steps is vectorised with numpy per
chunk of queue_steps, so 20 M steps take seconds, not minutes.
"""
import gzip
import io
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from klipsim.chelper import msgformat, streamio, textcodec

DEFAULT_TOL_US = 25.0
VERDICT_STEPPERS = 3         # differing steppers detailed in the verdict line
CHUNK_STEPS = 1 << 20        # steps expanded at a time (memory bound)
QUEUE_STEP = "queue_step"
STEP_DIR = "set_next_step_dir"
RESET_CLOCK = "reset_step_clock"


# ---------------------------------------------------------------------------
# Reading a stream into per-stepper queue_step programs
# ---------------------------------------------------------------------------

@dataclass
class StreamSteps:
    """Everything the comparison needs from one stream."""
    path: str
    queue_steps: np.ndarray                 # (n, 4) oid interval count add, stream order
    dir_events: list = field(default_factory=list)    # (oid, queue_step index, dir)
    reset_events: list = field(default_factory=list)  # (oid, queue_step index, clock32)
    step_pins: dict = field(default_factory=dict)     # oid -> step pin name
    other_lines: list = field(default_factory=list)   # (oid or None, parsedump line)


class _Collector:
    """Accumulates one stream: queue_steps into arrays, the rest as events
    tagged with the number of queue_steps before them (their position)."""

    def __init__(self, path):
        self.path = path
        self.batches = []          # (k, 4) int64 arrays
        self.pending_rows = []     # queue_step rows from decoded messages
        self.count = 0             # queue_steps so far
        self.order = 0             # messages so far (orders events)
        self.dir_events = []       # (order, oid, position, dir)
        self.reset_events = []     # (order, oid, position, clock32)
        self.out = StreamSteps(path, None)

    def queue_step_args(self, args):
        self.pending_rows.append((args["oid"], args["interval"], args["count"], args["add"]))
        self.count += 1
        self.order += 1

    def message(self, name, args, line, position=None, order=None):
        position = self.count if position is None else position
        order = self.order if order is None else order
        self.order += 1
        oid = args.get("oid")
        if name == STEP_DIR:
            self.dir_events.append((order, oid, position, args["dir"]))
            return
        if name == RESET_CLOCK:
            self.reset_events.append((order, oid, position, args["clock"]))
        elif name == "config_stepper":
            self.out.step_pins[oid] = str(args["step_pin"])
        self.out.other_lines.append((oid, line))

    def scanned_rows(self, rows, text, first_line, parse):
        """Take textcodec rows of the bytes `text`, whose first line is line
        number first_line + 1."""
        kinds = rows[:, 0]
        is_step = kinds == 0
        before = self.count + np.cumsum(is_step) - is_step
        order = self.order + np.arange(len(rows))
        self.batches.append(rows[is_step, 1:5])
        dirs = np.flatnonzero(kinds == 1)
        self.dir_events.extend(zip(order[dirs].tolist(), rows[dirs, 1].tolist(),
                                   before[dirs].tolist(), rows[dirs, 2].tolist()))
        for i in np.flatnonzero(kinds == 2).tolist():
            line = text[rows[i, 1]:rows[i, 2]].decode("utf-8", "replace").strip()
            try:
                name, args = parse(line)
            except (KeyError, ValueError) as e:
                raise ValueError("%s:%d: %s" % (self.path, first_line + rows[i, 5] + 1,
                                                e.args[0] if e.args else e)) from None
            if name == QUEUE_STEP:
                raise ValueError("%s:%d: unusual queue_step line %r"
                                 % (self.path, first_line + rows[i, 5] + 1, line))
            self.message(name, args, line, int(before[i]), int(order[i]))
        self.count += int(is_step.sum())
        self.order += len(rows)

    def finish(self):
        if self.pending_rows:
            self.batches.append(np.array(self.pending_rows, dtype=np.int64).reshape(-1, 4))
        self.out.queue_steps = (np.concatenate(self.batches) if self.batches
                                else np.zeros((0, 4), dtype=np.int64))
        self.out.dir_events = [e[1:] for e in sorted(self.dir_events)]
        self.out.reset_events = [e[1:] for e in sorted(self.reset_events)]
        return self.out


def read_steps(path, dictionary=None) -> StreamSteps:
    """Read a text or serial stream into its step programs."""
    collector = _Collector(str(path))
    if streamio.stream_kind(path) == "text":
        parse = dictionary.parse_text if dictionary is not None else msgformat.parse_text_generic
        with open(path, "rb") as raw:
            head = raw.read(2)
            raw.seek(0)
            f = gzip.GzipFile(fileobj=raw) if head == streamio.GZIP_MAGIC else raw
            _scan_text(f, collector, parse)
    else:
        if dictionary is None:
            raise ValueError("%s: a serial stream needs --dictionary or --mcu" % path)
        for name, args in streamio.read_stream(path, dictionary):
            if name == QUEUE_STEP:
                collector.queue_step_args(args)
            else:
                collector.message(name, args, dictionary.format_text(name, args))
    return collector.finish()


def steps_from_text(text: str, parse=msgformat.parse_text_generic) -> StreamSteps:
    """Step programs of parsedump text held in memory (tests, tools)."""
    collector = _Collector("<text>")
    _scan_text(io.BytesIO(text.encode()), collector, parse)
    return collector.finish()


def _scan_text(f, collector, parse):
    for rows, text, first_line in textcodec.iter_rows(f):
        collector.scanned_rows(rows, text, first_line, parse)


# ---------------------------------------------------------------------------
# Step programs -> step times
# ---------------------------------------------------------------------------

@dataclass
class StepperProgram:
    """One stepper's queue_steps with the start clock of each."""
    oid: int
    step_pin: str
    interval: np.ndarray
    count: np.ndarray
    add: np.ndarray
    direction: np.ndarray     # dir in force for each queue_step
    start: np.ndarray         # clock of the step before each queue_step's first
    first_step: np.ndarray    # index of each queue_step's first step (+ total)
    jump: np.ndarray          # start minus the previous queue_step's last step

    @property
    def total_steps(self) -> int:
        return int(self.count.sum())

    @property
    def label(self) -> str:
        return "oid %d step_pin=%s" % (self.oid, self.step_pin) if self.step_pin \
            else "oid %d" % self.oid


def queue_step_duration(interval, count, add):
    """Ticks from t_prev to the last step: sum_{k<count}(interval + k*add)."""
    return count * interval + add * (count * (count - 1) // 2)


def build_programs(steps: StreamSteps) -> dict:
    """oid -> StepperProgram for every oid with a queue_step or config_stepper."""
    qs = steps.queue_steps
    oids = sorted(set(int(o) for o in np.unique(qs[:, 0])) | set(steps.step_pins))
    programs = {}
    for oid in oids:
        index = np.flatnonzero(qs[:, 0] == oid)
        interval, count, add = (qs[index, 1].copy(), qs[index, 2].copy(), qs[index, 3].copy())
        direction = _events_per_message(steps.dir_events, oid, index, default=0)
        start = _start_clocks(steps.reset_events, oid, index, interval, count, add)
        first = np.zeros(len(count) + 1, dtype=np.int64)
        np.cumsum(count, out=first[1:])
        jump = np.zeros(len(count), dtype=np.int64)     # start minus previous end
        jump[1:] = start[1:] - (start[:-1] + queue_step_duration(interval, count, add)[:-1])
        programs[oid] = StepperProgram(oid, steps.step_pins.get(oid, ""), interval, count,
                                       add, direction.astype(np.int8), start, first, jump)
    return programs


def _events_per_message(events, oid, index, default):
    """Value of the last event of `oid` before each queue_step (global
    queue_step numbers in `index`)."""
    mine = [(pos, value) for o, pos, value in events if o == oid]
    if not mine:
        return np.full(len(index), default, dtype=np.int64)
    positions = np.array([p for p, _ in mine], dtype=np.int64)
    values = np.array([default] + [v for _, v in mine], dtype=np.int64)
    return values[np.searchsorted(positions, index, side="right")]


def _start_clocks(reset_events, oid, index, interval, count, add):
    """t_prev of each queue_step: the end of the previous one, restarted at
    each reset_step_clock (a 32-bit clock, extended next to the stepper's
    last step time)."""
    duration = queue_step_duration(interval, count, add)
    ends = np.cumsum(duration)
    start = np.zeros(len(index), dtype=np.int64)
    start[1:] = ends[:-1]
    for _, pos, clock32 in (e for e in reset_events if e[0] == oid):
        m = int(np.searchsorted(index, pos))      # first queue_step after the reset
        if m >= len(index):
            continue
        last = int(start[m])
        clock = last + ((int(clock32) - last + (1 << 31)) % (1 << 32)) - (1 << 31)
        start[m:] += clock - last
    return start


def step_times(program: StepperProgram, s0: int, s1: int):
    """(times, directions) of steps s0..s1-1 of a stepper, int64/int8.

    Each step's distance from the previous one is interval + k*add (k-th
    step of its queue_step); a running sum of those from the start clock
    of the first queue_step gives the times, plus the clock jumps that
    reset_step_clock makes between queue_steps."""
    first = program.first_step
    m0 = int(np.searchsorted(first, s0, side="right")) - 1
    m1 = int(np.searchsorted(first, s1, side="left"))
    count = program.count[m0:m1]
    n = int(first[m1] - first[m0])
    ticks = np.arange(n, dtype=np.int64)
    ticks -= np.repeat(first[m0:m1] - first[m0], count)      # k within its queue_step
    ticks *= np.repeat(program.add[m0:m1], count)
    ticks += np.repeat(program.interval[m0:m1], count)
    np.cumsum(ticks, out=ticks)
    ticks += program.start[m0]
    jumps = program.jump[m0 + 1:m1]
    if jumps.any():
        jump_total = np.zeros(m1 - m0, dtype=np.int64)
        np.cumsum(jumps, out=jump_total[1:])
        ticks += np.repeat(jump_total, count)
    cut = slice(s0 - int(first[m0]), s1 - int(first[m0]))
    return ticks[cut], np.repeat(program.direction[m0:m1], count)[cut]


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------

@dataclass
class StepperDiff:
    label: str
    ref_oid: int | None
    cand_oid: int | None
    ref_steps: int
    cand_steps: int
    dir_mismatches: int = 0
    worst_ticks: int = 0
    worst_us: float = 0.0
    worst_step: int | None = None
    worst_ref_clock: int | None = None
    steps_over_tol: int = 0
    first_bad_step: int | None = None     # first step off in time or direction
    first_bad_clock: int | None = None    # its reference clock

    def equivalent(self):
        return (self.ref_oid is not None and self.cand_oid is not None
                and self.ref_steps == self.cand_steps and self.dir_mismatches == 0
                and self.steps_over_tol == 0)

    def problems(self):
        out = []
        if self.ref_oid is None:
            out.append("only in candidate")
        elif self.cand_oid is None:
            out.append("only in reference")
        if self.ref_steps != self.cand_steps:
            out.append("%d vs %d steps" % (self.ref_steps, self.cand_steps))
        if self.dir_mismatches:
            out.append("%d direction mismatches" % self.dir_mismatches)
        if self.steps_over_tol:
            out.append("%d steps off by more than tolerance (worst %.1f us at step %d)"
                       % (self.steps_over_tol, self.worst_us, self.worst_step))
        if self.first_bad_step is not None:
            out.append("first difference at step %d (reference clock %d)"
                       % (self.first_bad_step, self.first_bad_clock))
        return out


def compare_program(ref, cand, tol_ticks, ticks_per_us):
    """Step-by-step comparison of two stepper programs (common prefix)."""
    label = (ref or cand).label
    diff = StepperDiff(label, ref.oid if ref else None, cand.oid if cand else None,
                       ref.total_steps if ref else 0, cand.total_steps if cand else 0)
    if ref is None or cand is None:
        return diff
    common = min(diff.ref_steps, diff.cand_steps)
    for s0 in range(0, common, CHUNK_STEPS):
        s1 = min(common, s0 + CHUNK_STEPS)
        ref_t, ref_d = step_times(ref, s0, s1)
        cand_t, cand_d = step_times(cand, s0, s1)
        err = np.abs(cand_t - ref_t)
        bad = (err > tol_ticks) | (ref_d != cand_d)
        diff.dir_mismatches += int(np.count_nonzero(ref_d != cand_d))
        diff.steps_over_tol += int(np.count_nonzero(err > tol_ticks))
        if diff.first_bad_step is None and bad.any():
            first = int(np.argmax(bad))
            diff.first_bad_step = s0 + first
            diff.first_bad_clock = int(ref_t[first])
        worst = int(np.argmax(err))
        if int(err[worst]) > diff.worst_ticks:
            diff.worst_ticks = int(err[worst])
            diff.worst_step = s0 + worst
            diff.worst_ref_clock = int(ref_t[worst])
    diff.worst_us = diff.worst_ticks / ticks_per_us
    return diff


def match_steppers(ref_programs, cand_programs):
    """[(ref program or None, cand program or None)] matched by step pin,
    then by oid; sorted by reference oid."""
    cand_by_pin = {p.step_pin: p for p in cand_programs.values() if p.step_pin}
    used = set()
    pairs = []
    for oid, ref in sorted(ref_programs.items()):
        cand = cand_by_pin.get(ref.step_pin) if ref.step_pin else None
        if cand is None or cand.oid in used:
            cand = cand_programs.get(oid)
            if cand is not None and (cand.oid in used or
                                     (ref.step_pin and cand.step_pin and cand.step_pin != ref.step_pin)):
                cand = None
        if cand is not None:
            used.add(cand.oid)
        pairs.append((ref, cand))
    for oid, cand in sorted(cand_programs.items()):
        if oid not in used:
            pairs.append((None, cand))
    return pairs


@dataclass
class OtherLinesDiff:
    ref_only: int
    cand_only: int
    by_position: int

    @property
    def differing(self):
        """Lines to change, add or remove to make the multisets equal."""
        return max(self.ref_only, self.cand_only)


def compare_other_lines(ref_lines, cand_lines):
    """Multiset difference per oid, plus position-by-position count."""
    ref_groups, cand_groups = Counter(ref_lines), Counter(cand_lines)
    ref_only = sum((ref_groups - cand_groups).values())
    cand_only = sum((cand_groups - ref_groups).values())
    ref_seq = [line for _, line in ref_lines]
    cand_seq = [line for _, line in cand_lines]
    by_position = sum(1 for a, b in zip(ref_seq, cand_seq) if a != b)
    by_position += abs(len(ref_seq) - len(cand_seq))
    return OtherLinesDiff(ref_only, cand_only, by_position)


@dataclass
class DiffReport:
    ref: str
    cand: str
    clock_freq: int
    tol_us: float
    steppers: list
    other: OtherLinesDiff

    @property
    def equivalent(self):
        return all(s.equivalent() for s in self.steppers)

    @property
    def total_steps(self):
        return sum(s.ref_steps for s in self.steppers)

    @property
    def worst_us(self):
        return max((s.worst_us for s in self.steppers), default=0.0)

    def verdict(self):
        summary = ("%d steppers, %d steps, worst %.1f us, non-step lines differing: %d"
                   % (len(self.steppers), self.total_steps, self.worst_us,
                      self.other.differing))
        if self.equivalent:
            return "equivalent: " + summary
        bad = ["%s: %s" % (s.label, ", ".join(s.problems()))
               for s in self.steppers if not s.equivalent()]
        if len(bad) > VERDICT_STEPPERS:     # the table above has them all
            bad[VERDICT_STEPPERS:] = ["%d more steppers differ" % (len(bad) - VERDICT_STEPPERS)]
        return "NOT equivalent: " + summary + "; " + "; ".join(bad)

    def lines(self):
        out = ["reference: %s" % self.ref, "candidate: %s" % self.cand,
               "clock %d Hz, tolerance %.1f us" % (self.clock_freq, self.tol_us),
               "%-28s %10s %10s %8s %12s %10s %8s" % ("stepper", "ref steps", "cand steps",
                                                     "dir err", "worst ticks", "worst us",
                                                     "over tol")]
        for s in self.steppers:
            out.append("%-28s %10d %10d %8d %12d %10.2f %8d"
                       % (s.label, s.ref_steps, s.cand_steps, s.dir_mismatches,
                          s.worst_ticks, s.worst_us, s.steps_over_tol))
        out.append("non-step lines: %d only in reference, %d only in candidate "
                   "(per-oid multisets), %d differ by position"
                   % (self.other.ref_only, self.other.cand_only, self.other.by_position))
        out.append(self.verdict())
        return out

    def as_dict(self):
        return {
            "reference": self.ref, "candidate": self.cand,
            "clock_freq": self.clock_freq, "tol_us": self.tol_us,
            "equivalent": self.equivalent, "total_steps": self.total_steps,
            "worst_us": self.worst_us,
            "steppers": [dict(vars(s), equivalent=s.equivalent()) for s in self.steppers],
            "non_step_lines": {"ref_only": self.other.ref_only,
                               "cand_only": self.other.cand_only,
                               "differing": self.other.differing,
                               "by_position": self.other.by_position},
            "verdict": self.verdict(),
        }


def diff_steps(ref: StreamSteps, cand: StreamSteps, clock_freq: int,
               tol_us: float = DEFAULT_TOL_US) -> DiffReport:
    """Compare two read streams (see read_steps)."""
    if clock_freq <= 0:
        raise ValueError("CLOCK_FREQ unknown: give a dictionary or an MCU profile")
    ticks_per_us = clock_freq / 1e6
    tol_ticks = tol_us * ticks_per_us
    pairs = match_steppers(build_programs(ref), build_programs(cand))
    steppers = [compare_program(r, c, tol_ticks, ticks_per_us) for r, c in pairs]
    other = compare_other_lines(ref.other_lines, cand.other_lines)
    return DiffReport(ref.path, cand.path, clock_freq, tol_us, steppers, other)


def diff_files(ref_path, cand_path, clock_freq, tol_us=DEFAULT_TOL_US,
               ref_dictionary=None, cand_dictionary=None) -> DiffReport:
    ref = read_steps(ref_path, ref_dictionary)
    cand = read_steps(cand_path, cand_dictionary)
    return diff_steps(ref, cand, clock_freq, tol_us)
