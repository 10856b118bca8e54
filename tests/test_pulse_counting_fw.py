"""A run that keeps no pulses (`klipsim simulate` without --pulses): the
firmware counts steps per step pin in C as they happen and records none
(firmware/simulator/fwsim.h fw_set_pulse_counting); the report must be
the same bytes as when every pulse is recorded and counted afterwards
(sim/simulate/report.py PulseCounts), main and secondary MCUs alike, and
the counts must be those of the recorded pulses."""
import os
import sys

from klipsim.golden import reference
from klipsim.sim.simulate.mcu_link import McuSettings
from klipsim.sim.simulate.report import build_report, dumps
from klipsim.sim.simulate.simulation import SimOptions, simulate

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import stepper_fw  # noqa: E402
from _shared_corpus import requires_shared_reference  # noqa: E402
from test_simulate_multi_mcu import cold_gcode, two_mcu_config  # noqa: E402


def _pair(gcode, config, **kw):
    kept = simulate(gcode, config, SimOptions(keep_pulses=True, **kw))
    counted = simulate(gcode, config, SimOptions(keep_pulses=False, **kw))
    return kept, counted


def _by_hand(pulses, pin_names):
    """Steps and net travel per pin name, from the recorded pulses."""
    out = {}
    for pin in sorted(set(pulses["pin"].tolist())):
        mine = pulses[pulses["pin"] == pin]
        ups = int(mine["dir"].sum())
        out[pin_names[pin]] = {"steps": len(mine), "net": 2 * ups - len(mine)}
    return out


@requires_shared_reference
def test_counted_report_is_the_recorded_one():
    case = reference.case("corexy_basic")
    kept, counted = _pair(case.gcode, case.config, profile="stm32f446")
    assert len(counted.pulses) == 0            # nothing recorded
    assert kept.pulse_counts == _by_hand(kept.pulses, kept.pin_names)
    assert sum(c["steps"] for c in counted.pulse_counts.values()) > 1000
    assert dumps(build_report(counted)) == dumps(build_report(kept))


def test_counted_report_two_mcus(tmp_path):
    kw = dict(mcus={"extra": McuSettings("rp2040", 0, 0)})
    kept, counted = _pair(cold_gcode(tmp_path), two_mcu_config(tmp_path), **kw)
    assert any(name.startswith("extra:") for name in counted.pulse_counts)
    assert dumps(build_report(counted)) == dumps(build_report(kept))


def _qs(interval, count, oid=0):
    return ("queue_step", {"oid": oid, "interval": interval, "count": count, "add": 0})


def test_firmware_counts_by_hand():
    """2 steps up then 3 down on PF0: 5 steps, 2 ups (net -1), no pulse
    recorded; a firmware that records the same commands has those pulses."""
    counts = []
    for only_count in (True, False):
        fw = stepper_fw()
        fw.set_pulse_counting(only_count)
        fw.send("set_next_step_dir oid=0 dir=1", _qs(100_000, 2),
                "set_next_step_dir oid=0 dir=0", _qs(100_000, 3))
        fw.run_until(10**8)
        counts.append((fw.pulse_counts(), fw.take_pulses(fw.now + 1)))
    (steps, ups), none = counts[0]
    _, recorded = counts[1]
    pin = fw.pin("PF0")
    assert (steps[pin], ups[pin]) == (5, 2)
    assert sum(steps) == 5 and sum(ups) == 2 and len(none) == 0
    assert recorded["dir"].tolist() == [1, 1, 0, 0, 0]
    assert set(recorded["pin"].tolist()) == {pin}
