"""Simulation speed of `klipsim simulate`: simulated print seconds per
wall second (issue 3 aims at >= 300x) on reference prints, no load, rpi3
preset, with the CPU normaliser timed in the same run.

Usage: python benchmarks/simulate_speed.py [--load NAME] [case ...]
(default: corexy_print_long, the largest reference print; --load runs
with a bundled load scenario, e.g. webcam-moonraker, which issue 10 asks
to run at >= 300x real time). Pulses are counted, not kept, as
`klipsim simulate` runs (its --pulses streams them out instead).
"""
import sys
import time

from _normalizer import normalizer_seconds

from klipsim.sim.execute.executor import profile_for_dictionary
from klipsim.chelper.msgproto import load_dictionary
from klipsim.golden import reference
from klipsim.sim.simulate.simulation import SimOptions, simulate

def case_files(name):
    case = reference.case(name)
    return case.gcode, case.config, profile_for_dictionary(load_dictionary(case.dictionary))


def main(names, load=None):
    norm = normalizer_seconds()
    print("normaliser: %s" % ("%.3f s" % norm if norm else "absent (no ratios)"))
    for name in names:
        gcode, config, profile = case_files(name)
        start = time.process_time()
        result = simulate(gcode, config, SimOptions(profile=profile, load=load,
                                                    keep_pulses=False))
        cpu = time.process_time() - start
        sim_s = result.end_ns / 1e9
        line = ("%-22s %s simulated %8.1f s in %6.2f s CPU: %6.1f x real time, %d pulses, %s"
                % (name, load or "no load", sim_s, cpu, sim_s / cpu, sum(c["steps"] for c in result.pulse_counts.values()),
                   "ok" if result.shutdown is None else result.shutdown["reason"]))
        if norm:
            line += "  (CPU / normaliser %.2f)" % (cpu / norm)
        print(line)
    if norm:
        print("normaliser after: %.3f s" % normalizer_seconds())


if __name__ == "__main__":
    args = sys.argv[1:]
    load = None
    if args[:1] == ["--load"]:
        load, args = args[1], args[2:]
    main(args or ["corexy_print_long"], load)
