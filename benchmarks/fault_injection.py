"""Byte faults on the UART link: does every step the host sent get
executed, exactly once, and does a print that dies say why?

For each print (corexy_basic, the bundled example, corexy_zigzag), byte
fault rate (each byte dropped with probability r and, independently,
corrupted with probability r, in both directions) and seed, one
`klipsim simulate` run (rpi3, klipper-default, UART at 250000 baud) and
one table row: verdict, the shutdown reason when it died, RTO and nak
retransmits, get_clock replies lost or unusable, steps in the stream
the simulated host sent, steps the firmware executed and whether they
are the same steps (every pulse at the clock and direction the stream
says, tick-exact).

A surviving run must execute exactly the sent steps; a run that dies
must name its reason in one line.  tests/test_fault_injection.py checks
that for a subset; this prints the whole table (a few minutes).

Usage: python benchmarks/fault_injection.py [print ...]
"""
import os
import sys

import numpy as np

from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.golden import reference, stepdiff
from klipsim.sim.execute.pulse_check import expected_steps, far_step_shifts
from klipsim.sim.simulate.simulation import SimOptions, simulate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(REPO, "examples")

PRINTS = {   # name -> (reference case or "example", firmware profile)
    "corexy_basic": ("corexy_basic", "stm32f446"),
    "example": ("example", "stm32f446"),
    "corexy_zigzag": ("corexy_zigzag", "stm32f446"),
}
RATES = (1e-4, 1e-3)
WRAP = 1 << 32
SEEDS = (1, 2, 3)


def paths(print_name):
    case_name, _profile = PRINTS[print_name]
    if case_name == "example":
        return (os.path.join(EXAMPLES, "example.gcode"),
                os.path.join(EXAMPLES, "printer.cfg"))
    case = reference.case(case_name)
    return case.gcode, case.config


def sent_vs_executed(result, profile):
    """(steps sent, steps executed, same): `same` when every executed
    pulse is the sent stream's next step of its stepper, tick-exact."""
    d = fwmcu.dictionary(profile)
    text = "\n".join(d.format_text(n, a) for n, a in result.stream) + "\n"
    steps = stepdiff.steps_from_text(text, d.parse_text)
    programs = stepdiff.build_programs(steps)
    shifts = far_step_shifts(steps, programs)
    sent = executed = 0
    same = True
    pins = {name: number for number, name in result.pin_names.items()}
    for oid, program in programs.items():
        sent += program.total_steps
        if not program.step_pin or not program.total_steps:
            continue
        mine = result.pulses[result.pulses["pin"] == pins[program.step_pin]]
        executed += len(mine)
        n = min(len(mine), program.total_steps)
        clocks, dirs = expected_steps(program, program.start + shifts[oid], 0, n)
        got = mine["clock"][:n].astype(np.int64)
        if n:
            # the text stream's clocks are 32-bit: its first step is known
            # modulo 2^32 only (a heated print starts after 2^32 ticks)
            clocks = clocks + (got[0] - clocks[0]) // WRAP * WRAP
        same = same and len(mine) <= program.total_steps \
            and np.array_equal(got, clocks) \
            and np.array_equal(mine["dir"][:n].astype(np.int64), dirs)
    return sent, executed, same


def run(print_name, rate, seed):
    """One row (dict) of the table."""
    _case, profile = PRINTS[print_name]
    gcode, config = paths(print_name)
    result = simulate(gcode, config, SimOptions(
        profile=profile, record_stream=True, fault_drop=rate, fault_corrupt=rate,
        seed=seed))
    sent, executed, same = sent_vs_executed(result, profile)
    link = result.link
    shutdown = result.shutdown
    return {
        "print": print_name, "rate": rate, "seed": seed,
        "verdict": "shutdown" if shutdown else "ok",
        "reason": _why(shutdown) if shutdown else "",
        "retransmits": link.retransmits, "nak_retransmits": link.nak_retransmits,
        "steps_sent": sent, "steps_executed": executed, "same_steps": same,
    }


def _why(shutdown):
    """One line: the firmware's reason, when, and the late command."""
    text = "%s at %.3f s" % (shutdown["reason"], shutdown.get("time_s", 0.))
    late = shutdown.get("late_command")
    if late:
        text += " (%s %s %.1f ms late, held by %s)" % (
            shutdown.get("gcode_line", "?"), late["name"], -late["margin_ms"],
            late.get("held_by", "?"))
    return text


def format_row(row):
    return ("%-14s %-6g %4d  %-8s %5d %5d %9d %9d  %-4s %s"
            % (row["print"], row["rate"], row["seed"], row["verdict"], row["retransmits"],
               row["nak_retransmits"], row["steps_sent"], row["steps_executed"],
               "yes" if row["same_steps"] else "NO", row["reason"]))


HEADER = ("%-14s %-6s %4s  %-8s %5s %5s %9s %9s  %-4s %s"
          % ("print", "rate", "seed", "verdict", "RTO", "nak", "sent", "executed",
             "same", "shutdown reason"))


def main(names):
    print(HEADER, flush=True)
    for name in names or PRINTS:
        for rate in RATES:
            for seed in SEEDS:
                print(format_row(run(name, rate, seed)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
