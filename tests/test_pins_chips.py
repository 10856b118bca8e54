"""[multi_pin], [sx1509], [pwm_cycle_time], accepted sections and an
unsynced [extruder_stepper], on the bundled cartesian reference printer
(atmega2560, 16 MHz). Expected values come from the documented behaviour
(docs/Config_Reference.md): a multi_pin drives every listed pin, each
configured like a lone pin; a soft PWM pin's value is on_ticks =
value x cycle_ticks; an extruder_stepper with an empty `extruder:` does
not move until SYNC_EXTRUDER_MOTION."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402

HOME = "SET_KINEMATIC_POSITION X=100 Y=100 Z=5\n"


def build(tmp_path, extra, gcode=""):
    run = Run(tmp_path, base_config_text() + extra)
    run.run(gcode)
    run.finish()
    return run


def test_multi_pin_fan_drives_every_pin(tmp_path):
    extra = ("\n[multi_pin fans]\npins: PH3, !PH4\n"
             "\n[fan_generic both]\npin: multi_pin:fans\nkick_start_time: 0\n")
    run = build(tmp_path, extra, HOME + "SET_FAN_SPEED FAN=both SPEED=0.5\nG1 X110 F600\n")
    first, second = run.oid_of_pin("PH3"), run.oid_of_pin("PH4")
    assert second == first + 1                      # configured in list order
    cycle = 160000                                  # fan cycle_time 0.010 s at 16 MHz
    on = [v for _, v in run.outputs(first)[1:]]
    inverted = [v for _, v in run.outputs(second)[1:]]
    assert on[0] == cycle // 2 and inverted[0] == cycle - cycle // 2
    assert len(on) == len(inverted)


def test_multi_pin_serves_one_user(tmp_path):
    from klipsim.host.configfile import ConfigError
    extra = ("\n[multi_pin fans]\npins: PH3, PH4\n"
             "\n[fan_generic a]\npin: multi_pin:fans\n\n[fan_generic b]\npin: multi_pin:fans\n")
    with pytest.raises(ConfigError, match="Can't setup multi_pin fans twice"):
        build(tmp_path, extra)


def test_sx1509_pins_accepted_with_one_warning(tmp_path):
    extra = ("\n[sx1509 duex]\ni2c_address: 62\n"
             "\n[output_pin light]\npin: sx1509_duex:PIN_12\npwm: True\nvalue: 0.5\n")
    run = build(tmp_path, extra, "SET_PIN PIN=light VALUE=1\n")
    warnings = [t for kind, t in run.messages if kind == "warning"]
    assert len(warnings) == 1 and "sx1509 duex" in warnings[0]
    assert not any("PIN_12" in line for line in run.lines())


def test_pwm_cycle_time_changes_cycle(tmp_path):
    extra = "\n[pwm_cycle_time beeper]\npin: PH3\ncycle_time: 0.001\n"
    run = build(tmp_path, extra, HOME + "SET_PIN PIN=beeper VALUE=0.5 CYCLE_TIME=0.0005\n"
                "G4 P500\nSET_PIN PIN=beeper VALUE=0.25\n")
    oid = run.oid_of_pin("PH3")
    lines = [l for l in run.lines() if " oid=%d " % oid in l + " "]
    assert "set_digital_out_pwm_cycle oid=%d cycle_ticks=16000" % oid in lines   # 1 ms
    assert "set_digital_out_pwm_cycle oid=%d cycle_ticks=8000" % oid in lines    # 0.5 ms
    assert [v for _, v in run.outputs(oid)[1:]] == [4000, 4000]   # 0.5 x 8000, 0.25 x 16000


@pytest.mark.parametrize("section", [
    "[bed_screws]\nscrew1: 10,10\nscrew2: 100,10\n"
    "screw3: 50,100\n", "[homing_heaters]\nheaters: extruder\n"])
def test_accepted_sections_warn_once(tmp_path, section):
    run = build(tmp_path, "\n" + section)
    warnings = [t for kind, t in run.messages if kind == "warning"]
    assert len(warnings) == 1 and warnings[0].startswith("printer.cfg:")


def test_extruder_stepper_with_empty_extruder_waits_for_sync(tmp_path):
    extra = ("\n[extruder_stepper belt]\nextruder:\nstep_pin: PC1\ndir_pin: PC3\n"
             "enable_pin: !PC7\nmicrosteps: 16\nrotation_distance: 33.5\n")
    run = build(tmp_path, extra, HOME + "M83\nG1 E2 F600\n"
                "SYNC_EXTRUDER_MOTION EXTRUDER=belt MOTION_QUEUE=extruder\nG1 E2 F600\n")
    def total_steps(step_pin):
        oid = next(l.split("oid=")[1].split()[0] for l in run.lines()
                   if l.startswith("config_stepper") and "step_pin=%s " % step_pin in l)
        return sum(int(l.split("count=")[1].split()[0]) for l in run.lines()
                   if l.startswith("queue_step oid=%s " % oid))
    # 2 mm at 33.5 mm/rev x 3200 steps/rev, once for the belt, twice for the extruder
    assert total_steps("PC1") == round(2 * 3200 / 33.5)
    assert total_steps("PA4") == 2 * round(2 * 3200 / 33.5)


# ---- rename_existing of Klipper commands klipsim does not model ----------------
def test_rename_existing_of_unmodelled_klipper_command(tmp_path):
    extra = ("\n[gcode_macro M115]\nrename_existing: M115.1\ngcode:\n  M115.1\n  G4 P1\n")
    run = build(tmp_path, extra, "M115\n")
    warnings = [t for kind, t in run.messages if kind == "warning"]
    assert run.errors() == []
    assert len(warnings) == 1 and "M115.1" in warnings[0] and "M115" in warnings[0]


def test_rename_existing_needs_the_commands_section(tmp_path):
    from klipsim.gcode.errors import GCodeError
    extra = "\n[gcode_macro QUAD_GANTRY_LEVEL]\nrename_existing: _QGL\ngcode:\n  _QGL\n"
    with pytest.raises(GCodeError, match="Existing command 'QUAD_GANTRY_LEVEL' not found"):
        build(tmp_path, extra)
    qgl = ("\n[quad_gantry_level]\ngantry_corners:\n -60,-10\n 310,320\npoints:\n 50,25\n"
           " 50,225\n 250,225\n 250,25\n")
    run = build(tmp_path, extra + qgl, "QUAD_GANTRY_LEVEL\n")
    # the macro's _QGL reached the real QUAD_GANTRY_LEVEL: with no [probe]
    # it asks for manual probing, which klipsim does not model
    assert len(run.errors()) == 1 and "quad_gantry_level: manual probing" in run.errors()[0]


def test_unmodelled_klipper_command_warns_not_unknown(tmp_path):
    run = build(tmp_path, "\n[bed_screws]\nscrew1: 10,10\nscrew2: 100,10\nscrew3: 50,100\n",
                "BED_SCREWS_ADJUST\nDELTA_CALIBRATE\n")
    warnings = [t for kind, t in run.messages if kind == "warning"]
    assert any("BED_SCREWS_ADJUST is not modelled" in t for t in warnings)
    # without [delta_calibrate] Klipper has no DELTA_CALIBRATE: unknown
    assert any('Unknown command: "DELTA_CALIBRATE"' in t for t in warnings)


def test_board_pins_alias_with_empty_value(tmp_path):
    from klipsim.host.mcu import MCUError
    extra = "\n[board_pins]\naliases: EXP1_1=PH3, EXP1_2=, EXP1_3=<GND>\n"
    run = build(tmp_path, extra + "\n[output_pin a]\npin: EXP1_1\n")
    assert run.oid_of_pin("PH3") is not None
    with pytest.raises(MCUError, match="pin 'EXP1_2'"):
        build(tmp_path, extra + "\n[output_pin a]\npin: EXP1_2\n")


def test_spi_digipots_write_their_channels_at_start(tmp_path):
    extra = ("\n[ad5206 pot]\nenable_pin: PH3\nscale: 2.0\nchannel_1: 1.0\nchannel_4: 2.0\n"
             "\n[dac084S085 dac]\nenable_pin: PH4\nscale: 2.5\nchannel_B: 1.5\n")
    run = build(tmp_path, extra)
    lines = run.lines()
    buses = [l for l in lines if l.startswith("spi_set_bus")]
    assert buses == ["spi_set_bus oid=0 spi_bus=spi mode=0 rate=25000000",
                     "spi_set_bus oid=1 spi_bus=spi mode=1 rate=10000000"]
    sends = [l for l in lines if l.startswith("spi_send")]
    # ad5206: [channel index, value/scale of 256 steps] (1.0/2.0 -> 128, full -> 255);
    # dac084S085 channel B (1): 1.5/2.5 x 255 = 153 = 0x99 -> 0x40|0x10|0x9, 0x90
    assert sends == ["spi_send oid=0 data=b'\\x00\\x80'", "spi_send oid=0 data=b'\\x03\\xff'",
                     "spi_send oid=1 data=b'Y\\x90'"]
