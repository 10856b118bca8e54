"""Compile speed on the big reference prints, against Klipper's batch mode.

Runs `klipsim compile` (text output, like Klipper's batch mode followed by
parsedump) in a child process on corexy_print_cylinder and
corexy_print_long, and prints wall time, moves/s, steps/s, peak memory and
the ratio to the CPU normaliser timed in the same run, next to Klipper's
figures from ../shared/reference/README.md:

* corexy_print_cylinder: Klipper batch mode 2.90 x the normaliser, 5.32 x
  with parsedump to text (project charter, same kind of machine);
* corexy_print_long: Klipper 2.753 s wall, 7.0 M steps/s, 47.0 MiB peak
  RSS (README timing table; no normaliser ratio was taken).

Usage: python benchmarks/compile_speed.py [case ...]
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

from _normalizer import normalizer_seconds

from klipsim.golden import reference

KLIPPER = {
    "corexy_print_cylinder": {"ratio": 2.90, "ratio_text": 5.32},
    "corexy_print_long": {"wall_s": 2.753, "steps_per_s": 7.0e6, "rss_mib": 47.0},
}


def case_files(name):
    case = reference.case(name)
    return case.meta, case.gcode, case.config, case.dictionary


def run_compile(gcode, config, dictionary, out):
    """Wall seconds and peak RSS (MiB) of one `klipsim compile` child."""
    cmd = [sys.executable, "-m", "klipsim.cli", "compile", gcode, "--config", config,
           "--dictionary", dictionary, "-o", out, "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak_kib, before) / 1024.


def main(names):
    norm = normalizer_seconds()
    print("normaliser: %s" % ("%.3f s" % norm if norm else "absent (no ratios)"))
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            meta, gcode, config, dictionary = case_files(name)
            wall, rss = run_compile(gcode, config, dictionary, os.path.join(tmp, name + ".txt"))
            moves, steps = meta["gcode_move_commands"], meta["total_steps"]
            line = ("%-22s %7.2f s  %9.0f moves/s  %6.2f M steps/s  peak %6.1f MiB"
                    % (name, wall, moves / wall, steps / wall / 1e6, rss))
            if norm:
                line += "  ratio to normaliser %.2f" % (wall / norm)
            print(line)
            ref = KLIPPER.get(name, {})
            if "ratio" in ref and norm:
                print("    Klipper: batch %.2f x, batch+parsedump %.2f x the normaliser;"
                      " klipsim is %.2f x faster than batch+parsedump"
                      % (ref["ratio"], ref["ratio_text"], ref["ratio_text"] / (wall / norm)))
            if "wall_s" in ref:
                print("    Klipper (README machine): %.3f s, %.1f M steps/s, %.1f MiB;"
                      " wall ratio klipsim/Klipper %.2f (different machines: indicative)"
                      % (ref["wall_s"], ref["steps_per_s"] / 1e6, ref["rss_mib"],
                         wall / ref["wall_s"]))


if __name__ == "__main__":
    main(sys.argv[1:] or ["corexy_print_cylinder", "corexy_print_long"])
