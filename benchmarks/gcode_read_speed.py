"""Speed of the G-code reader and dispatcher (klipsim.gcode).

Prints lines/s for streaming the largest reference input (default
corexy_print_long, 138 k lines, gzip) through read_gcode, and through a
Dispatcher with no-op handlers, plus the peak memory of the streaming read
(bounded: it must not grow with the file), and each time's ratio to the CPU
normaliser timed in the same run.

Usage: python benchmarks/gcode_read_speed.py [case]
"""
import os
import sys
import time
import tracemalloc

from klipsim.gcode import Dispatcher, read_gcode
from klipsim.golden import reference

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _normalizer import normalizer_seconds, report  # noqa: E402


def main():
    case = reference.case(sys.argv[1] if len(sys.argv) > 1 else "corexy_print_long")
    norm = normalizer_seconds()
    print("case %s: %s%s" % (case.name, os.path.basename(case.gcode),
          ", normaliser %.3f s" % norm if norm else ", no normaliser"))

    start = time.perf_counter()
    count = sum(1 for _ in read_gcode(case.gcode))
    report("read_gcode", time.perf_counter() - start, norm, (count, "cmd"))

    dispatcher = Dispatcher()
    for name in ("G0", "G1", "G21", "G90", "G92", "M83", "M104", "M140", "M106",
                 "M107", "SET_KINEMATIC_POSITION"):
        dispatcher.register(name, lambda cmd: None)
    start = time.perf_counter()
    dispatcher.run_file(case.gcode)
    report("read + dispatch (no-op handlers)", time.perf_counter() - start, norm,
           (count, "cmd"))

    tracemalloc.start()
    for _ in read_gcode(case.gcode):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print("peak memory while streaming: %.1f KiB (file has %d commands)"
          % (peak / 1024, count))


if __name__ == "__main__":
    main()
