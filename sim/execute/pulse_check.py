"""Check executed step pulses against the steps a stream commands.

Contract: `PulseChecker(stream_path, dictionary)` reads the stream's
queue_step programs (klipsim.golden.stepdiff reads them: intervals,
counts, adds, directions from set_next_step_dir, start clocks), expands
them itself (first step `interval` after the previous one, then growing
by `add`) and, used as the `on_pulses` callback of
klipsim.sim.execute.executor, compares every executed pulse with the next expected
step of the stepper with the same step pin: identical clock (tick-exact)
and direction.  `report()` gives per-pin counts and the first mismatch.
Chunks are compared as they come, so 20 M steps need little memory.

A single-step queue_step may follow a gap of 2^32 ticks or more (a step
that far is sent on its own), which its 32-bit interval carries modulo
2^32; its
64-bit time is taken as the naive one plus the whole wraps that bring it
next to the latest step any stepper has reached at that point of the
stream (the stream is in send order, so that is "now" for the host).
"""
from dataclasses import dataclass

import numpy as np

from klipsim.golden import stepdiff
from klipsim.firmware.simulator._fwsim import ffi, lib


def far_step_shifts(steps, programs):
    """oid -> int64 array: per queue_step, the 2^32 wraps (in ticks) to
    add to the naive start clocks (see the module docstring; the walk
    over the queue_steps in stream order is stream_plan.c's
    sp_far_step_shifts, delivery.resolve_far_step's rule)."""
    qs = np.ascontiguousarray(steps.queue_steps, dtype=np.int64)
    oids, slot = np.unique(qs[:, 0], return_inverse=True)
    starts = np.zeros(len(qs), dtype=np.int64)
    for oid, p in programs.items():
        starts[qs[:, 0] == oid] = p.start
    columns = [np.ascontiguousarray(qs[:, k]) for k in (1, 2, 3)]
    shift = np.zeros(len(qs), dtype=np.int64)
    if len(qs):
        slot = np.ascontiguousarray(slot, dtype=np.int64)
        ptr = [ffi.from_buffer("int64_t[]", a) for a in [slot, starts] + columns]
        lib.sp_far_step_shifts(*ptr, len(qs), ffi.new("int64_t[]", len(oids)),
                               ffi.from_buffer("int64_t[]", shift))
    return {oid: shift[qs[:, 0] == oid] if len(qs) else np.zeros(0, dtype=np.int64)
            for oid in programs}


def expected_steps(program, start, s0, s1):
    """(clocks, dirs) of steps s0..s1-1 of a stepper: step k of a
    queue_step is at start + (k+1)*interval + add*k*(k+1)/2 (closed form,
    vectorised); `start` holds each queue_step's previous-step clock."""
    first = program.first_step
    m0 = int(np.searchsorted(first, s0, side="right")) - 1
    m1 = int(np.searchsorted(first, s1, side="left"))
    msg = np.repeat(np.arange(m0, m1), program.count[m0:m1])
    k = np.arange(first[m0], first[m1], dtype=np.int64) - first[msg]
    clocks = start[msg] + (k + 1) * program.interval[msg] + program.add[msg] * (k * (k + 1) // 2)
    cut = slice(s0 - int(first[m0]), s1 - int(first[m0]))
    return clocks[cut], program.direction[msg][cut]


@dataclass
class PinCheck:
    step_pin: str
    expected: int
    executed: int = 0
    clock_mismatches: int = 0
    dir_mismatches: int = 0
    first_mismatch: str = ""

    @property
    def ok(self):
        return (self.executed == self.expected and not self.clock_mismatches
                and not self.dir_mismatches)


class PulseChecker:
    """on_pulses callback comparing executed pulses with the stream."""

    def __init__(self, stream_path, dictionary):
        steps = stepdiff.read_steps(stream_path, dictionary)
        programs = stepdiff.build_programs(steps)
        shifts = far_step_shifts(steps, programs)
        self.programs = {p.step_pin: p for p in programs.values() if p.step_pin}
        self.starts = {p.step_pin: p.start + shifts[oid]
                       for oid, p in programs.items() if p.step_pin}
        self.pins = {pin: PinCheck(pin, p.total_steps) for pin, p in self.programs.items()}
        self.unknown_pins = {}

    def __call__(self, pulses, pin_names):
        pins = pulses["pin"]
        for number in np.flatnonzero(np.bincount(pins)).tolist():
            name = pin_names.get(number, "?%d" % number)
            mine = pulses[pulses["pin"] == number]
            check = self.pins.get(name)
            if check is None:
                self.unknown_pins[name] = self.unknown_pins.get(name, 0) + len(mine)
                continue
            self._compare(check, self.programs[name], mine)

    def _compare(self, check, program, mine):
        s0 = check.executed
        check.executed += len(mine)
        s1 = min(check.executed, check.expected)
        if s1 <= s0:
            return
        times, dirs = expected_steps(program, self.starts[check.step_pin], s0, s1)
        got = mine[:s1 - s0]
        bad_clock = np.flatnonzero(got["clock"].astype(np.int64) != times)
        bad_dir = np.flatnonzero(got["dir"].astype(np.int64) != dirs)
        check.clock_mismatches += len(bad_clock)
        check.dir_mismatches += len(bad_dir)
        if not check.first_mismatch and (len(bad_clock) or len(bad_dir)):
            i = min(list(bad_clock[:1]) + list(bad_dir[:1]))
            check.first_mismatch = ("step %d: executed clock %d dir %d, stream clock %d dir %d"
                                    % (s0 + i, got["clock"][i], got["dir"][i], times[i], dirs[i]))

    @property
    def ok(self):
        return not self.unknown_pins and all(c.ok for c in self.pins.values())

    def report(self):
        lines = []
        for pin in sorted(self.pins):
            c = self.pins[pin]
            lines.append("%-6s expected %d executed %d clock mismatches %d dir mismatches %d%s"
                         % (pin, c.expected, c.executed, c.clock_mismatches,
                            c.dir_mismatches, "  " + c.first_mismatch if c.first_mismatch else ""))
        for pin, n in sorted(self.unknown_pins.items()):
            lines.append("%-6s %d pulses on a pin with no stepper in the stream" % (pin, n))
        return lines


# ---------------------------------------------------------------------------
# `python -m klipsim.sim.execute.pulse_check [case ...]`: every reference case
# ---------------------------------------------------------------------------

def check_case(name):
    """(ok, one-line summary, detail lines) for one reference case."""
    import time
    from klipsim.chelper import msgproto
    from klipsim.golden import reference
    from klipsim.sim.execute import executor as execute
    case = reference.case(name)
    dictionary = msgproto.Dictionary.load(case.dictionary)
    t0 = time.perf_counter()
    checker = PulseChecker(case.klipper_output, dictionary)
    result = execute.execute_stream(case.klipper_output, dictionary, on_pulses=checker)
    seconds = time.perf_counter() - t0
    ok = checker.ok and result.shutdown_reason is None \
        and result.total_steps == case.meta["total_steps"]
    line = ("%-24s %-4s %9d steps  %s  margin %.1f ms  %.2f s"
            % (name, "ok" if ok else "FAIL", result.total_steps,
               "shutdown: %s" % result.shutdown_reason if result.shutdown_reason
               else "no shutdown", result.min_margin_ticks * 1000.0 / result.clock_freq,
               seconds))
    return ok, line, checker.report()


def main(argv=None):
    import sys
    from klipsim.golden import reference
    names = (argv if argv is not None else sys.argv[1:]) or [c.name for c in reference.cases()]
    failed = 0
    for name in names:
        ok, line, details = check_case(name)
        print(line, flush=True)
        if not ok:
            failed += 1
            print("\n".join("    " + d for d in details))
    print("%d of %d cases execute exactly" % (len(names) - failed, len(names)))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
