"""Fingerprints of `klipsim simulate` results, to prove a speed-up changed
nothing: for a fixed set of runs (reference cases, a load with spikes,
USB, a pseudo-tty, faults, the THEOS policy, a shutdown, clock drift and
offset), the SHA-256 of
the JSON report bytes, of the executed pulses, of the stream the host
sent and of the margin series (what --plot draws).

tests/test_simulate_digests.py compares them with digests recorded from
the code BEFORE the speed work (commit 8e58be6).

Usage: python benchmarks/simulate_digests.py [run ...]   prints
`name report pulses stream series` per run (default: every run).
"""
import hashlib
import os
import sys

from klipsim.golden import reference
from klipsim.sim.simulate.report import build_report, dumps
from klipsim.sim.simulate.simulation import SimOptions, simulate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOADS = os.path.join(REPO, "sim", "hostcpu", "loads")
EXAMPLES = os.path.join(REPO, "examples")

# name -> (reference case, SimOptions keyword arguments)
RUNS = {
    "cartesian_basic": ("cartesian_basic", dict(profile="atmega2560")),
    "corexy_basic": ("corexy_basic", dict(profile="stm32f446")),
    "cartesian_homing": ("cartesian_homing", dict(profile="atmega2560")),
    "corexy_zigzag": ("corexy_zigzag", dict(profile="stm32f446")),
    "cube_fifo_spikes": ("cartesian_print_cube", dict(
        profile="atmega2560", load=os.path.join(LOADS, "fifo-spikes.toml"))),
    "corexy_basic_usb": ("corexy_basic", dict(profile="stm32f446", transport="usb")),
    "cartesian_basic_pty": ("cartesian_basic", dict(profile="atmega2560", transport="pty")),
    "corexy_basic_faults": ("corexy_basic", dict(
        profile="stm32f446", fault_drop=2e-4, fault_corrupt=2e-4, seed=3)),
    "cartesian_homing_theos_webcam": ("cartesian_homing", dict(
        profile="atmega2560", policy="theos", board="rpi4",
        load=os.path.join(LOADS, "webcam-moonraker.toml"), seed=5)),
    "example_heated": ("example", dict(profile="stm32f446")),
    "corexy_basic_hogs_9600": ("corexy_basic", dict(
        profile="stm32f446", baud=9600,
        load=os.path.join(LOADS, "cpu-hogs-nice0.toml"))),
    "corexy_basic_exact_drift": ("corexy_basic", dict(
        profile="stm32f446", clock_sync="exact", drift_ppb=50000, clock_offset=123456789)),
    "cartesian_basic_usb_drift_h616": ("cartesian_basic", dict(
        profile="atmega2560", transport="usb", drift_ppb=-30000, clock_offset=5000,
        board="h616", poll_ms=2.0)),
}


def _sha(data):
    return hashlib.sha256(data).hexdigest()[:16]


def digests(name):
    """(report, pulses, stream, series) digests of one run, and the report."""
    case_name, kwargs = RUNS[name]
    if case_name == "example":     # the bundled print: heats bed and hotend first
        gcode, config = (os.path.join(EXAMPLES, n) for n in ("example.gcode", "printer.cfg"))
    else:
        case = reference.case(case_name)
        gcode, config = case.gcode, case.config
    result = simulate(gcode, config, SimOptions(record_stream=True, **kwargs))
    report = build_report(result)
    if report["load"]:
        # the report names the load file as given: digest its name only,
        # so the digests do not depend on where the repository lives
        report["load"] = os.path.basename(report["load"])
    stream = "".join("%s %r\n" % (n, sorted(a.items())) for n, a in result.stream)
    series = "".join("%d %d\n" % p for p in result.margins.series)
    return (_sha(dumps(report).encode()), _sha(result.pulses.tobytes()),
            _sha(stream.encode()), _sha(series.encode())), report


def main(names):
    for name in names or RUNS:
        d, report = digests(name)
        print("%-30s %s  # %s min margin %s" % (name, " ".join(d), report["verdict"],
                                               report["min_margin_ms"]))


if __name__ == "__main__":
    main(sys.argv[1:])
