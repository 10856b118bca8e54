"""Instructions executed by `klipsim simulate` on a reference print, counted
by valgrind (cachegrind without cache simulation): a figure that barely
moves when the machine is shared, unlike CPU seconds (the speed work of
Nov 2026 was measured this way; simulate_speed.py gives the real-time
ratios). The start-up (imports, configuration, firmware handshake) is
measured with a near-zero time limit and subtracted.

Usage: python benchmarks/simulate_instructions.py [case [sim_seconds]]
(default corexy_zigzag, the whole print). Needs valgrind on PATH; takes
about 50x the plain run time (benchmarks/_valgrind.py).
"""
import sys

from _valgrind import have_valgrind, instructions

# numpy is imported at its first use (klipsim.lazy): a print's first
# pulses.  The child imports it first so that it counts as start-up, as it
# did before it was lazy, and the print's figure stays comparable.
CHILD = """
import sys
import numpy
from klipsim.golden import reference
from klipsim.sim.execute.executor import profile_for_dictionary
from klipsim.chelper.msgproto import load_dictionary
from klipsim.sim.simulate.simulation import SimOptions, simulate
case = reference.case(sys.argv[1])
limit = float(sys.argv[2]) if sys.argv[2] != "-" else None
profile = profile_for_dictionary(load_dictionary(case.dictionary))
simulate(case.gcode, case.config, SimOptions(profile=profile, max_sim_s=limit,
                                             keep_pulses=False))
"""


def sim_instructions(case, limit):
    """Instructions of one child run of the simulation."""
    return instructions([sys.executable, "-c", CHILD, case, limit])


def main(args):
    if not have_valgrind():
        raise SystemExit("valgrind not found")
    case = args[0] if args else "corexy_zigzag"
    limit = args[1] if len(args) > 1 else "-"
    startup = sim_instructions(case, "0.000001")
    total = sim_instructions(case, limit)
    print("%s (%s s): %d M instructions after %d M of start-up"
          % (case, "all" if limit == "-" else limit, (total - startup) // 10**6,
             startup // 10**6))


if __name__ == "__main__":
    main(sys.argv[1:])
