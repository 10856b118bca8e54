"""Compile speed on the big reference prints, against Klipper's batch mode.

Runs `klipsim compile` (text output, like Klipper's batch mode followed by
parsedump) in a child process on corexy_print_cylinder and
corexy_print_long, and prints CPU time (user+sys of the child), moves/s,
steps/s, peak memory and the ratio to the CPU normaliser timed the same
way in the same run, next to Klipper's figure: Klipper's batch mode
(84104bbbd, binary output, no parsedump), measured side by side on this
kind of machine, takes 4.6 x the normaliser's CPU on corexy_print_cylinder
and 11.1 x on corexy_print_long (issue 10; DEVELOPERS.md). The target of
issue 10 is klipsim at or under a quarter of Klipper's ratio.

Inputs come from the bundled golden/klipper copy or, for cases too big to
bundle, ../shared/reference (klipsim.golden.reference.case).

Usage: python benchmarks/compile_speed.py [case ...]
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

from klipsim.golden import reference

HERE = os.path.dirname(os.path.abspath(__file__))
NORMALIZER = os.path.join(HERE, "..", "..", "shared", "bench", "normalizer.py")

# Klipper batch mode's CPU as a ratio to the normaliser (measured side by side).
KLIPPER_CPU_RATIO = {"corexy_print_cylinder": 4.6, "corexy_print_long": 11.1}


def child_cpu(cmd):
    """(CPU seconds user+sys, wall seconds, peak RSS MiB) of one child run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, after.ru_maxrss / 1024.


def normalizer_cpu():
    if not os.path.exists(NORMALIZER):
        return None
    return child_cpu([sys.executable, NORMALIZER])[0]


def main(names):
    norm = normalizer_cpu()
    print("normaliser: %s" % ("%.3f s CPU" % norm if norm else "absent (no ratios)"))
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            case = reference.case(name)
            meta = case.meta
            out = os.path.join(tmp, name + ".txt")
            cpu, wall, rss = child_cpu([sys.executable, "-m", "klipsim.cli", "compile",
                                        case.gcode, "--config", case.config,
                                        "--dictionary", case.dictionary, "-o", out, "--quiet"])
            moves, steps = meta["gcode_move_commands"], meta["total_steps"]
            line = ("%-22s CPU %7.2f s (wall %6.2f)  %9.0f moves/s  %6.2f M steps/s"
                    "  peak %6.1f MiB" % (name, cpu, wall, moves / cpu, steps / cpu / 1e6, rss))
            if norm:
                line += "  ratio to normaliser %.2f" % (cpu / norm)
            print(line)
            klipper = KLIPPER_CPU_RATIO.get(name)
            if klipper and norm:
                print("    Klipper batch mode: %.1f x the normaliser; klipsim/Klipper CPU %.2f"
                      " (target <= 0.25)" % (klipper, cpu / norm / klipper))


if __name__ == "__main__":
    main(sys.argv[1:] or ["corexy_print_cylinder", "corexy_print_long"])
