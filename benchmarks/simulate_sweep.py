"""Spike-length sweep and policy comparison for `klipsim simulate`
(issue 3 "Done when"). Prints plain text; figures are simulated, the
wall time of the script does not enter them.

1. Sweep: rpi3 preset, klipper-default policy, cartesian_basic on the
   atmega2560 firmware; a SCHED_FIFO spike (priority 50) on all 4 cores,
   length 50..400 ms, started at 26 moments spread over the print
   (the margin left depends on where the flush and block timers stand).
   A length survives when every phase ends "ok"; the longest such length
   is the answer, and the smallest motion margin per length is printed;
   then the worst moment is refined with 5 ms phase steps.
2. Policies: klipper-default vs theos on corexy_zigzag (145 s print,
   stm32f446) and on the bundled example print (heats the bed and the
   hotend first, so its heater control loop runs throughout), rpi3,
   under no load, the shipped load files webcam-moonraker, cpu-hogs-nice0
   and fifo-spikes; once with the rpi3 preset (autogroup on) and once
   with autogroup off.

Usage: python benchmarks/simulate_sweep.py [sweep|policies]
"""
import os
import sys
import tempfile

from klipsim.sim.simulate.report import build_report
from klipsim.sim.simulate.simulation import SimOptions, simulate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(REPO, "golden", "klipper")
LOADS = os.path.join(REPO, "sim", "hostcpu", "loads")
PHASES = [1.0 + 0.513 * k for k in range(26)]   # 1.0 .. 13.8 s of a 15.3 s print
LENGTHS_MS = list(range(50, 401, 25))
SPIKE = ('[[spike]]\nname = "hog"\nat_s = %.3f\nduration_ms = %d\nthreads = 4\n'
         'policy = "fifo"\npriority = 50\n')


def paths(case):
    gcode = os.path.join(REF, case, "input.gcode")
    if not os.path.exists(gcode):
        gcode += ".gz"
    return gcode, os.path.join(REF, case, "printer.cfg")


def sweep():
    gcode, config = paths("cartesian_basic")
    print("spike sweep: cartesian_basic, rpi3, klipper-default, FIFO 50 on 4 cores, "
          "%d phases (at %.3f..%.3f s)" % (len(PHASES), PHASES[0], PHASES[-1]))
    longest, worst_phase, worst_margin = 0, PHASES[0], None
    with tempfile.TemporaryDirectory() as tmp:
        for length in LENGTHS_MS:
            margins, deaths = [], 0
            for at in PHASES:
                load = os.path.join(tmp, "spike.toml")
                with open(load, "w") as f:
                    f.write(SPIKE % (at, length))
                r = simulate(gcode, config, SimOptions(profile="atmega2560", load=load))
                margins.append(r.margins.minimum["motion"] * 1000. / r.clock_freq)
                deaths += r.shutdown is not None
                if worst_margin is None or margins[-1] < worst_margin:
                    worst_margin, worst_phase = margins[-1], at
            print("  %4d ms: %d/%d shutdown, min motion margin %8.1f ms (best phase %7.1f ms)"
                  % (length, deaths, len(PHASES), min(margins), max(margins)))
            if not deaths:
                longest = length
    print("longest spike survived at every coarse phase: %d ms" % longest)
    refine(gcode, config, worst_phase)


def refine(gcode, config, around):
    """The budget at the worst moment: a 50 ms spike started every 5 ms
    within 0.3 s before the worst coarse phase; budget = 50 ms + the
    smallest margin left, i.e. the longest spike that survives there."""
    probe = 50
    worst = None
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(61):
            at = around - 0.300 + 0.005 * k
            load = os.path.join(tmp, "spike.toml")
            with open(load, "w") as f:
                f.write(SPIKE % (at, probe))
            r = simulate(gcode, config, SimOptions(profile="atmega2560", load=load))
            margin = r.margins.minimum["motion"] * 1000. / r.clock_freq
            if worst is None or margin < worst[0]:
                worst = (margin, at)
    print("fine phases (5 ms steps, %.3f..%.3f s): worst margin %.1f ms with a %d ms spike "
          "at %.3f s -> longest survivable spike there ~%.0f ms"
          % (around - 0.3, around, worst[0], probe, worst[1], worst[0] + probe))


def board_without_autogroup(tmp):
    """rpi3 with sched_autogroup_enabled=0 (nice then acts across processes)."""
    text = open(os.path.join(REPO, "sim", "hostcpu", "presets", "rpi3.toml")).read()
    path = os.path.join(tmp, "rpi3-noautogroup.toml")
    with open(path, "w") as f:
        f.write(text.replace('name = "rpi3"', 'name = "rpi3-noautogroup"')
                .replace("autogroup = true", "autogroup = false"))
    return path


def _ms(value):
    return "-" if value is None else "%.1f" % value


SHORT = {"Timer too close": "TTC",
         "Missed scheduling of next digital out event": "missed-refresh"}
EXAMPLE = (os.path.join(REPO, "examples", "example.gcode"),
           os.path.join(REPO, "examples", "printer.cfg"))


def policies():
    with tempfile.TemporaryDirectory() as tmp:
        for board in ("rpi3", board_without_autogroup(tmp)):
            policies_on(board, "corexy_zigzag (145 s)", paths("corexy_zigzag"))
            policies_on(board, "example (heated)", EXAMPLE)


def policies_on(board, title, files):
    gcode, config = files
    loads = [None, "webcam-moonraker", "cpu-hogs-nice0", "fifo-spikes"]
    print("policies: %s, board %s" % (title, os.path.basename(board)))
    print("  %-17s %-16s %-24s %10s %10s %10s %10s %8s %8s"
          % ("load", "policy", "verdict", "motion ms", "heater ms", "pins ms", "main GIL",
             "serialq", "retx"))
    for load in loads:
        for policy in ("klipper-default", "theos"):
            path = os.path.join(LOADS, load + ".toml") if load else None
            r = simulate(gcode, config, SimOptions(profile="stm32f446", policy=policy,
                                                  load=path, board=board))
            rep = build_report(r)
            th = rep["threads"]
            verdict = rep["verdict"] if not r.shutdown else "%s/%s@%.1fs" % (
                SHORT.get(r.shutdown["reason"], r.shutdown["reason"]),
                r.shutdown.get("deadline_class") or "?", r.shutdown["time_s"])
            m = rep["margins_ms"]
            print("  %-17s %-16s %-24s %10s %10s %10s %10.2f %8.2f %8d"
                  % (load or "none", policy, verdict, _ms(m["motion"]), _ms(m["heater_pwm"]),
                     _ms(m["pins"]), th["klippy"]["gil_wait_ms"]["max"],
                     th["serialq mcu"]["wake_latency_ms"]["max"], rep["link"]["retransmits"]))
    print("  (motion/heater/pins: smallest scheduled-minus-arrival margin; main GIL: max GIL "
          "wait of the main thread; serialq: max wake-up latency of the serial thread, ms)")


if __name__ == "__main__":
    which = sys.argv[1:] or ["sweep", "policies"]
    if "sweep" in which:
        sweep()
    if "policies" in which:
        policies()
