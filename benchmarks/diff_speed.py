"""Speed of `klipsim diff` (golden/stepdiff.py): steps/s when diffing a
reference stream against itself (default golden/klipper/corexy_print_long,
19.4 M steps, 832 k lines), split into reading and comparing, with the
ratio of each time to the CPU normaliser (mean of a run before and one
after the measurement; the machine is shared and its load changes).

Usage: python benchmarks/diff_speed.py [case]
"""
import os
import sys
import time

from klipsim.golden import reference, stepdiff

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _normalizer import normalizer_seconds, report  # noqa: E402


def main():
    case = reference.case(sys.argv[1] if len(sys.argv) > 1 else "corexy_print_long")
    steps = case.meta["total_steps"]
    before = normalizer_seconds()
    start = time.perf_counter()
    ref = stepdiff.read_steps(case.klipper_output)
    cand = stepdiff.read_steps(case.klipper_output)
    read = time.perf_counter() - start
    start = time.perf_counter()
    result = stepdiff.diff_steps(ref, cand, case.meta["mcu_clock_freq"])
    compare = time.perf_counter() - start
    after = normalizer_seconds()
    assert result.equivalent and result.total_steps == steps
    norm = (before + after) / 2 if before and after else None
    print("case %s: %d steps, %d lines; %s" % (
        case.name, steps, case.meta["output_lines"],
        "normaliser %.3f s / %.3f s (before/after)" % (before, after) if norm
        else "no normaliser"))
    report("read both streams", read, norm, (steps, "step"))
    report("compare (expand + diff)", compare, norm, (steps, "step"))
    report("total diff", read + compare, norm, (steps, "step"))


if __name__ == "__main__":
    main()
