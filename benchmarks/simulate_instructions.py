"""Instructions executed by `klipsim simulate` on a reference print, counted
by valgrind (cachegrind without cache simulation): a figure that barely
moves when the machine is shared, unlike CPU seconds (the speed work of
Nov 2026 was measured this way; simulate_speed.py gives the real-time
ratios). The start-up (imports, configuration, firmware handshake) is
measured with a near-zero time limit and subtracted.

Usage: python benchmarks/simulate_instructions.py [case [sim_seconds]]
(default corexy_zigzag, the whole print). Needs valgrind on PATH; takes
about 50x the plain run time. Address-space randomisation is turned off
(setarch -R) and PYTHONHASHSEED fixed, so repeated runs agree to ~1%.
"""
import os
import re
import shutil
import subprocess
import sys

CHILD = """
import sys
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


def instructions(case, limit):
    """Instructions of one child run (valgrind's "I refs")."""
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
           "--cachegrind-out-file=/dev/null", sys.executable, "-c", CHILD, case, limit]
    if shutil.which("setarch"):
        cmd = ["setarch", os.uname().machine, "-R"] + cmd
    env = dict(os.environ, PYTHONHASHSEED="0")
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stderr
    match = re.search(r"I\s+refs:\s+([\d,]+)", out)
    if match is None:
        raise SystemExit("no instruction count in valgrind's output:\n" + out[-2000:])
    return int(match.group(1).replace(",", ""))


def main(args):
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind not found")
    case = args[0] if args else "corexy_zigzag"
    limit = args[1] if len(args) > 1 else "-"
    startup = instructions(case, "0.000001")
    total = instructions(case, limit)
    print("%s (%s s): %d M instructions after %d M of start-up"
          % (case, "all" if limit == "-" else limit, (total - startup) // 10**6,
             startup // 10**6))


if __name__ == "__main__":
    main(sys.argv[1:])
