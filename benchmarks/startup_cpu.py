"""Start-up CPU of `klipsim compile` and `klipsim simulate` (issue 10:
<= 0.1 s for compile of an empty file, <= 0.2 s for the set-up of a
simulation).

Runs each command on an empty G-code file for the bundled example
printer (examples/printer.cfg, the default config; its MCU gets its
profile picked from its pins, sim/mcus/profile_pick.py) in a child
process, `runs` times, and prints the median CPU (user+sys of the child)
and its ratio to the CPU normaliser (../shared/bench/normalizer.py)
timed the same way in the same run.  This is interpreter start-up,
imports and, for simulate, building the simulated machine and running
the configuration commands: the figure moves when a module imported on
these paths grows a heavy import.

--imports: what the imports cost, from `python -X importtime` (median
over the runs): the total of every import's own time, and the
top-level imports by cumulative time.
--instructions: the instructions of one run of each (valgrind; the
stable figure on a shared machine).

Usage: python benchmarks/startup_cpu.py [--imports] [--instructions] [runs]
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile

from compile_speed import child_cpu, normalizer_cpu

MODES = ("compile", "simulate")
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def command(mode, empty):
    """argv of `klipsim MODE` on the empty file, output discarded."""
    out = ["-o", os.devnull] if mode == "compile" else ["--report", os.devnull]
    return [sys.executable, "-m", "klipsim.cli", mode, empty, "--quiet"] + out


def startup_cpu(cmd, runs):
    """Median CPU seconds of `cmd`, after one unmeasured run that writes
    the bytecode caches (an installed klipsim has them)."""
    child_cpu(cmd)
    return statistics.median(child_cpu(cmd)[0] for _ in range(runs))


def import_times(cmd, runs):
    """(median total of own import times, {top-level module: median
    cumulative}) in seconds, from -X importtime."""
    totals, tops = [], {}
    for _ in range(runs):
        err = subprocess.run([cmd[0], "-X", "importtime"] + cmd[1:], capture_output=True,
                             text=True).stderr
        total = 0
        for own, cumulative, indent, name in IMPORT_LINE.findall(err):
            total += int(own)
            if not indent:
                tops.setdefault(name, []).append(int(cumulative))
        totals.append(total)
    return (statistics.median(totals) / 1e6,
            {name: statistics.median(v) / 1e6 for name, v in tops.items()})


def print_imports(cmd, runs, top=12):
    total, tops = import_times(cmd, runs)
    print("    imports: %.3f s of wall time in all (-X importtime, median of %d);"
          " largest top-level:"
          % (total, runs))
    for name, seconds in sorted(tops.items(), key=lambda kv: -kv[1])[:top]:
        print("      %7.1f ms  %s" % (seconds * 1e3, name))


def main(argv):
    runs = int(next((a for a in argv if a.isdigit()), 5))
    # Bytecode caches are written (and then used) even where the
    # environment turns them off, so a run does not measure compiling
    # every module from source.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    norm = normalizer_cpu()
    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "empty.gcode")
        open(empty, "w").close()
        for mode in MODES:
            cmd = command(mode, empty)
            cpu = startup_cpu(cmd, runs)
            text = "klipsim %-8s (empty file), median of %d: %.3f s CPU" % (mode, runs, cpu)
            if norm:
                text += "  ratio to normaliser %.3f (normaliser %.3f s)" % (cpu / norm, norm)
            print(text)
            if "--instructions" in argv:
                import _valgrind
                if _valgrind.have_valgrind():
                    print("    instructions: %.1f M" % (_valgrind.instructions(cmd) / 1e6))
            if "--imports" in argv:
                print_imports(cmd, runs)


if __name__ == "__main__":
    main(sys.argv[1:])
