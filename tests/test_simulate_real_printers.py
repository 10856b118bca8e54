"""klipsim simulate runs the real-printer reference cases end to end on
the firmware profile auto-picked from each config (no --mcu: lpc1768 for
manual_stepper_misc's SKR-1.4-style pins, rp2040 for the SKR-Pico pins
of generic_cartesian_kin, stm32h723 for the Voron's TMC UART and probe
homing, stm32f407 for the Trident, stm32f446 for the IDEX): the print
survives with no load, the firmware executed the steps the simulated host
sent (every stepper, tick-exact but for the 2^32 wraps of a lone step
after a long idle gap), and the host sent as many steps per stepper as
Klipper's batch mode."""
import os
import sys

import numpy as np
import pytest

from klipsim.chelper.msgproto import Dictionary
from klipsim.golden import reference, stepdiff
from klipsim.host.configfile import load_config
from klipsim.sim.mcus.profile_pick import pick_profiles
from klipsim.sim.simulate.simulation import SimOptions, simulate

sys.path.insert(0, os.path.dirname(__file__))
from _shared_corpus import requires_shared_reference  # noqa: E402
from test_simulate_e2e import sent_and_executed  # noqa: E402

CASES = [("manual_stepper_misc", "lpc1768"), ("generic_cartesian_kin", "rp2040"),
         ("idex_dual_carriage", "stm32f446"), ("trident_zTilt_mesh", "stm32f407"),
         ("voron_probe_homing", "stm32h723")]


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


def test_heater_on_an_spi_thermocouple_simulates(tmp_path):
    """A hotend read by a MAX31865 over hardware SPI: no thermal plant (the
    simulated chip reads a fixed value, firmware/README.md), the firmware
    reports every reading and the print survives."""
    examples = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "examples")
    text = open(os.path.join(examples, "printer.cfg")).read().replace(
        "sensor_type: EPCOS 100K B57560G104F\nsensor_pin: PF4",
        "sensor_type: MAX31865\nsensor_pin: PA15\nspi_bus: spi3a\nrtd_nominal_r: 100\n"
        "rtd_reference_r: 430\nrtd_num_of_wires: 2")
    assert "MAX31865" in text
    config = tmp_path / "spi.cfg"
    config.write_text(text)
    gcode = tmp_path / "square.gcode"
    gcode.write_text("SET_KINEMATIC_POSITION X=100 Y=100 Z=10\nG1 X120 F6000\nG1 E5 F300\n"
                     "G1 Y120\n")
    result = simulate(str(gcode), str(config), SimOptions(profile="stm32f446",
                                                          record_stream=True))
    assert result.shutdown is None
    names = [n for n, _ in result.stream]
    assert {"config_spi", "spi_set_bus", "config_thermocouple", "query_thermocouple"} \
        <= set(names)
