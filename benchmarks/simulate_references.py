"""`klipsim simulate` with no load on every reference print (rpi3,
klipper-default): the verdict, the smallest margin per deadline class,
and how the stream the simulated host sent compares with `klipsim
compile`'s (Klipper batch mode) stream of the same input: step counts and
directions per stepper, the common start offset (median step-time
difference) and the worst deviation from it. Figures are simulated; the
wall time of the script does not enter them.

Usage: python benchmarks/simulate_references.py [case ...]   (default: all 25)
"""
import io
import sys

import numpy as np

from klipsim.chelper.msgproto import load_dictionary
from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.golden import reference, stepdiff
from klipsim.sim.compile.batch import compile_gcode
from klipsim.sim.execute.executor import profile_for_dictionary
from klipsim.sim.simulate.report import build_report
from klipsim.sim.simulate.simulation import SimOptions, simulate


def programs(text, dictionary):
    return {p.step_pin: p for p in stepdiff.build_programs(
        stepdiff.steps_from_text(text, dictionary.parse_text)).values()}


def compare(compiled, sent, freq):
    """(same counts, same directions, offsets us, worst deviation us, steps)"""
    counts = dirs = True
    offsets, worst, steps = set(), 0, 0
    for pin, ref in sorted(compiled.items()):
        mine = sent[pin]
        if ref.total_steps != mine.total_steps:
            counts = False
            continue
        if not ref.total_steps:
            continue
        t_ref, d_ref = stepdiff.step_times(ref, 0, ref.total_steps)
        t_sim, d_sim = stepdiff.step_times(mine, 0, mine.total_steps)
        dirs &= bool(np.array_equal(d_ref, d_sim))
        delta = t_sim - t_ref
        offset = int(np.median(delta))
        offsets.add(round(offset * 1e6 / freq, 1))
        worst = max(worst, int(np.abs(delta - offset).max()))
        steps += len(delta)
    return counts, dirs, sorted(offsets), worst * 1e6 / freq, steps


def run(name):
    case = reference.case(name)
    profile = profile_for_dictionary(load_dictionary(case.dictionary))
    d = fwmcu.dictionary(profile)
    result = simulate(case.gcode, case.config,
                      SimOptions(profile=profile, record_stream=True, keep_pulses=False))
    rep = build_report(result)
    sent = "\n".join(d.format_text(n, a) for n, a in result.stream) + "\n"
    out = io.StringIO()
    compile_gcode(case.gcode, case.config, d, out)
    counts, dirs, offsets, worst, steps = compare(programs(out.getvalue(), d),
                                                  programs(sent, d), result.clock_freq)
    m = rep["margins_ms"]
    fmt = lambda v: "-" if v is None else "%.1f" % v
    print("%-22s %-8s %7s %7s %7s %7s %6d  %-5s %-5s %-22s %6.1f %9d" % (
        name, rep["verdict"], fmt(m["motion"]), fmt(m["heater_pwm"]), fmt(m["pins"]),
        fmt(m["homing"]), rep["scheduled_commands"].get("homing", 0), counts, dirs,
        ",".join("%g" % o for o in offsets[:3]) + ("..." if len(offsets) > 3 else ""),
        worst, steps), flush=True)
    return rep


def main(names):
    print("%-22s %-8s %7s %7s %7s %7s %6s  %-5s %-5s %-22s %6s %9s" % (
        "case", "verdict", "motion", "heater", "pins", "homing", "#hom", "count", "dirs",
        "offset us", "dev us", "steps"))
    print("(margins: smallest scheduled-minus-arrival, ms; #hom: homing-class commands; "
          "count/dirs/offset/dev: sent stream vs compile)")
    for name in names or [c.name for c in reference.cases()]:
        run(name)


if __name__ == "__main__":
    main(sys.argv[1:])
