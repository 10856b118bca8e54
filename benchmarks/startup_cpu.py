"""Start-up CPU of `klipsim compile` (issue 10: <= 0.1 s for an empty file).

Compiles an empty G-code file for the bundled example printer
(examples/printer.cfg, the default config) in a child process, five times,
and prints the median CPU (user+sys of the child) and its ratio to the CPU
normaliser (../shared/bench/normalizer.py) timed the same way in the same
run.  Without --config the example printer's MCU gets its profile picked
from its pins (sim/mcus/profile_pick.py).  This is almost all interpreter start-up and imports: the figure
moves when a module imported on the compile path grows a heavy import.

Usage: python benchmarks/startup_cpu.py [runs]
"""
import os
import statistics
import sys
import tempfile

from compile_speed import child_cpu, normalizer_cpu


def startup_cpu(runs):
    """Median CPU seconds of `klipsim compile` of an empty file, after one
    unmeasured run that writes the bytecode caches (an installed klipsim
    has them; PYTHONDONTWRITEBYTECODE is dropped for the children so a
    run does not measure compiling every module from source)."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "empty.gcode")
        open(empty, "w").close()
        cmd = [sys.executable, "-m", "klipsim.cli", "compile", empty,
               "-o", os.devnull, "--quiet"]
        child_cpu(cmd)
        return statistics.median(child_cpu(cmd)[0] for _ in range(runs))


def main(runs):
    cpu = startup_cpu(runs)
    norm = normalizer_cpu()
    text = "klipsim compile (empty file), median of %d: %.3f s CPU" % (runs, cpu)
    if norm:
        text += "  ratio to normaliser %.3f (normaliser %.3f s)" % (cpu / norm, norm)
    print(text)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
