"""Simulation speed of `klipsim simulate`: simulated print seconds per
wall second (issue 3 aims at >= 300x) on reference prints, no load, rpi3
preset, with the CPU normaliser timed in the same run.

Usage: python benchmarks/simulate_speed.py [case ...]
(default: corexy_print_long, the largest reference print)
"""
import json
import os
import sys
import time

from _normalizer import normalizer_seconds

from klipsim.sim.execute import profile_for_dictionary
from klipsim.chelper.msgproto import load_dictionary
from klipsim.sim.simulate import SimOptions, simulate

REF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "golden", "klipper")


def case_files(name):
    folder = os.path.join(REF, name)
    meta = json.load(open(os.path.join(folder, "meta.json")))
    gcode = os.path.join(folder, "input.gcode")
    if not os.path.exists(gcode):
        gcode += ".gz"
    profile = profile_for_dictionary(load_dictionary(os.path.join(REF, meta["dictionary"])))
    return gcode, os.path.join(folder, "printer.cfg"), profile


def main(names):
    norm = normalizer_seconds()
    print("normaliser: %s" % ("%.3f s" % norm if norm else "absent (no ratios)"))
    for name in names:
        gcode, config, profile = case_files(name)
        start = time.process_time()
        result = simulate(gcode, config, SimOptions(profile=profile))
        cpu = time.process_time() - start
        sim_s = result.end_ns / 1e9
        line = ("%-22s simulated %8.1f s in %6.2f s CPU: %6.1f x real time, %d pulses, %s"
                % (name, sim_s, cpu, sim_s / cpu, len(result.pulses),
                   "ok" if result.shutdown is None else result.shutdown["reason"]))
        if norm:
            line += "  (CPU / normaliser %.2f)" % (cpu / norm)
        print(line)
    if norm:
        print("normaliser after: %.3f s" % normalizer_seconds())


if __name__ == "__main__":
    main(sys.argv[1:] or ["corexy_print_long"])
