"""klipsim simulate runs the real-printer reference cases end to end on
the firmware profile auto-picked from each config (no --mcu: lpc1768 for
manual_stepper_misc's SKR-1.4-style pins, rp2040 for
generic_cartesian_kin's SKR-Pico pins): the print survives with no load,
the firmware executed the steps the simulated host sent (every stepper,
tick-exact but for the 2^32 wraps of a lone step after a long idle gap),
and the host sent as many steps per stepper as Klipper's batch mode."""
import os
import sys

import numpy as np
import pytest

from klipsim.chelper.msgproto import Dictionary
from klipsim.golden import reference, stepdiff
from klipsim.host.configfile import load_config
from klipsim.sim.mcu_pick import pick_profiles
from klipsim.sim.simulate import SimOptions, simulate

sys.path.insert(0, os.path.dirname(__file__))
from _shared_corpus import requires_shared_reference  # noqa: E402
from test_simulate_e2e import sent_and_executed  # noqa: E402

CASES = [("manual_stepper_misc", "lpc1768"), ("generic_cartesian_kin", "rp2040")]


@requires_shared_reference
@pytest.mark.parametrize("name,profile", CASES, ids=[c for c, _ in CASES])
def test_real_printer_simulates_on_its_picked_profile(name, profile):
    case = reference.case(name)
    pick = pick_profiles(load_config(case.config))["mcu"]
    assert pick.profile == profile
    result = simulate(case.gcode, case.config,
                      SimOptions(profile=pick.profile, record_stream=True))
    assert result.shutdown is None and result.link.retransmits == 0
    # the stream the simulated host sent against the executed pulses:
    # same count and directions per stepper, and every step at the
    # stream's clock (a lone step after an idle gap of 2^32 ticks or more,
    # 43 s at 100 MHz, carries its interval modulo 2^32 and so is compared
    # modulo 2^32; the steps after it follow it exactly)
    sent_steps = {}
    for program, times, dirs, pulses in sent_and_executed(result, profile):
        assert np.array_equal(pulses["dir"].astype(np.int64), dirs), program.label
        offset = pulses["clock"].astype(np.int64) - times
        assert not np.any(offset % (1 << 32)), program.label
        assert np.all(np.diff(pulses["clock"].astype(np.int64)) > 0), program.label
        sent_steps[program.step_pin] = program.total_steps
    klipper = stepdiff.build_programs(stepdiff.read_steps(
        case.klipper_output, Dictionary.load(case.dictionary)))
    assert sent_steps == {p.step_pin: p.total_steps for p in klipper.values() if p.total_steps}
