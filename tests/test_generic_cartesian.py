"""kinematics: generic_cartesian and none (docs/Config_Reference.md):
each [stepper] moves sum(coefficient * carriage axis); an extra carriage
homes on its own endstop; oids in Klipper's order (carriage endstops,
then each stepper and its enable line, an extra carriage's endstop after
its first stepper)."""
import os
import sys

import pytest
from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run  # noqa: E402
from test_manual_stepper import steps_of  # noqa: E402

from klipsim.host.configfile import ConfigError  # noqa: E402

HEAD = """
[mcu]
serial: /dev/null

[printer]
kinematics: %s
max_velocity: 300
max_accel: 3000
max_z_velocity: 10
max_z_accel: 100
"""
CARRIAGES = """
[carriage carriage_x]
axis: x
endstop_pin: ^PE5
position_endstop: 0
position_max: 200
homing_speed: 50

[carriage y]
endstop_pin: ^PJ1
position_endstop: 200
position_max: 200
homing_speed: 50

[carriage carriage_z]
axis: z
endstop_pin: ^PD3
position_endstop: 0
position_max: 100

[extra_carriage carriage_z1]
primary_carriage: carriage_z
endstop_pin: ^PD2
"""
# 80 steps/mm on a and b, 400 on z and z1.
STEPPERS = """
[stepper a]
carriages: carriage_x+y
step_pin: PF0
dir_pin: PF1
enable_pin: !PD7
microsteps: 16
rotation_distance: 40

[stepper b]
carriages: carriage_x-y
step_pin: PF6
dir_pin: PF7
enable_pin: !PF2
microsteps: 16
rotation_distance: 40

[stepper z]
carriages: carriage_z
step_pin: PL3
dir_pin: PL1
enable_pin: !PK0
microsteps: 16
rotation_distance: 8

[stepper z1]
carriages: carriage_z1
step_pin: PC0
dir_pin: PC1
enable_pin: !PC2
microsteps: 16
rotation_distance: 8
"""
EXTRUDER = """
[extruder]
step_pin: PA4
dir_pin: PA6
enable_pin: !PA2
microsteps: 16
rotation_distance: 33.5
nozzle_diameter: 0.400
filament_diameter: 1.750
heater_pin: PB4
sensor_type: EPCOS 100K B57560G104F
sensor_pin: PK5
control: watermark
min_temp: 0
max_temp: 250
"""


def make(tmp_path, kinematics="generic_cartesian", body=CARRIAGES + STEPPERS):
    head = HEAD % kinematics
    if kinematics == "none":      # no Z axis: Klipper refuses max_z_* there
        head = head.replace("max_z_velocity: 10\nmax_z_accel: 100\n", "")
    return Run(tmp_path, head + body + EXTRUDER)


def oid_of(run, name):
    return next(s.oid for s in run.printer.motion.steppers if s.name == name)


def test_config_order_of_oids(tmp_path):
    run = make(tmp_path)
    run.finish()
    config = [l for l in run.lines() if l.startswith(("config_endstop", "config_stepper"))]
    pins = [l.split()[2].split("=")[1] for l in config]
    assert pins == ["PE5", "PJ1", "PD3", "PF0", "PF6", "PL3", "PC0", "PD2", "PA4"]


def test_corexy_by_carriages(tmp_path):
    run = make(tmp_path)
    run.run("SET_KINEMATIC_POSITION X=100 Y=100 Z=10\nG1 X110 Y95 F3000\n")
    run.finish()
    assert run.errors() == []
    # a = x + y: +10 - 5 = +5 mm; b = x - y: +10 + 5 = +15 mm (80 steps/mm).
    assert steps_of(run, oid_of(run, "stepper a")) == 400
    assert steps_of(run, oid_of(run, "stepper b")) == 1200
    assert steps_of(run, oid_of(run, "stepper z")) == 0


@settings(max_examples=15, deadline=None)
@given(st.floats(5, 195), st.floats(5, 195), st.floats(1, 90))
def test_steppers_follow_their_coefficients(tmp_path_factory, x, y, z):
    run = make(tmp_path_factory.mktemp("g"))
    run.run("SET_KINEMATIC_POSITION X=100 Y=100 Z=50\nG1 X%.3f Y%.3f Z%.3f F6000\n"
            % (x, y, z))
    run.finish()
    expect = {"stepper a": (x - 100 + y - 100) * 80, "stepper b": (x - 100 - (y - 100)) * 80,
              "stepper z": (z - 50) * 400, "stepper z1": (z - 50) * 400}
    for name, value in expect.items():
        assert abs(steps_of(run, oid_of(run, name)) - value) <= 1.


def test_extra_carriage_homes_on_its_own_endstop(tmp_path):
    run = make(tmp_path)
    run.run("G28 Z\n")
    assert run.errors() == []
    lines = run.finish()
    endstop_oid = {l.split()[2].split("=")[1]: int(l.split()[1].split("=")[1])
                   for l in lines if l.startswith("config_endstop")}
    trsync_of = {e: e + 1 for e in endstop_oid.values()}
    stops = [tuple(int(f.split("=")[1]) for f in l.split()[1:3])
             for l in lines if l.startswith("stepper_stop_on_trigger")]
    z, z1 = oid_of(run, "stepper z"), oid_of(run, "stepper z1")
    # two homing moves (fast, then after the retract slow), each with two
    # endstops: z stops on PD3's trsync, z1 on PD2's.
    assert sorted(stops) == sorted([(z, trsync_of[endstop_oid["PD3"]]),
                                    (z1, trsync_of[endstop_oid["PD2"]])] * 2)
    assert run.printer.toolhead.kin.homed_axes() == "z"


def test_homing_x_stops_both_corexy_steppers(tmp_path):
    run = make(tmp_path)
    run.run("G28 X\n")
    stops = [l for l in run.finish() if l.startswith("stepper_stop_on_trigger")]
    stopped = {int(l.split()[1].split("=")[1]) for l in stops}
    assert stopped == {oid_of(run, "stepper a"), oid_of(run, "stepper b")}


@pytest.mark.parametrize("carriages, message", [
    ("carriage_x+nope", "Invalid 'nope' carriage referenced"),
    ("carriage_x+0.5*carriage_x", "Axis 'x' was referenced multiple times"),
    ("abc*carriage_x", "Invalid float 'abc'"),
])
def test_bad_carriages_expressions(tmp_path, carriages, message):
    body = CARRIAGES + STEPPERS.replace("carriages: carriage_x+y", "carriages: " + carriages)
    with pytest.raises(ConfigError, match=message):
        make(tmp_path, body=body)


def test_missing_axis_carriage(tmp_path):
    body = CARRIAGES.replace("[carriage y]", "[carriage other]\naxis: x") + STEPPERS
    with pytest.raises(ConfigError, match="multiple primary carriages"):
        make(tmp_path, body=body)


def test_kinematics_none(tmp_path):
    run = make(tmp_path, "none", body="")
    run.run("G28\nG1 X10 Y20 Z5 E1 F600\n")
    run.finish()
    assert run.errors() == []
    assert [s.name for s in run.printer.motion.steppers] == ["extruder"]
    assert steps_of(run, oid_of(run, "extruder")) > 0


DUAL_U = """
[dual_carriage carriage_u]
primary_carriage: carriage_x
safe_distance: 30
endstop_pin: ^PD1
position_endstop: 200
position_max: 200
homing_speed: 50

[stepper u]
carriages: carriage_u
step_pin: PG0
dir_pin: PG1
enable_pin: !PG2
microsteps: 16
rotation_distance: 40
"""


def test_generic_dual_carriage_copy_mode(tmp_path):
    """[dual_carriage carriage_u] on X: G28 X homes both carriages; in
    COPY mode stepper u moves exactly as the X part of stepper a."""
    body = CARRIAGES + STEPPERS + DUAL_U
    run = make(tmp_path, body=body)
    run.run("G28\nG1 X20 F6000\nSET_DUAL_CARRIAGE CARRIAGE=carriage_u\nG1 X150\n"
            "SET_DUAL_CARRIAGE CARRIAGE=carriage_x\nSET_DUAL_CARRIAGE CARRIAGE=carriage_u"
            " MODE=COPY\nG1 X50\n")
    assert run.errors() == []
    status = run.printer.objects["dual_carriage"].get_status()
    assert status["carriages"] == {"carriage_x": "PRIMARY", "carriage_u": "COPY"}
    assert "carriage_0" in status          # two carriages: indexes too
    # u parked at 150 while x sat at 20; COPY keeps that 130 mm gap, so
    # with x at 50 u is at 180.
    pos = run.printer.toolhead.get_position()
    dc = run.printer.objects["dual_carriage"]
    assert [c.axis_position(pos) for c in dc.carriages] == pytest.approx([50., 180.])


def test_axes_must_move_independently(tmp_path):
    """a = x + y and b = x + y cannot separate X from Y: det(M^T M) = 0."""
    body = CARRIAGES + STEPPERS.replace("carriages: carriage_x-y", "carriages: carriage_x+y")
    with pytest.raises(ConfigError, match="does not allow independent movements"):
        make(tmp_path, body=body)


def test_set_stepper_carriages(tmp_path):
    run = make(tmp_path)
    run.run("SET_KINEMATIC_POSITION X=100 Y=100 Z=10\n"
            "SET_STEPPER_CARRIAGES STEPPER=b CARRIAGES=carriage_x-0.5*y\nG1 X110 F3000\n")
    assert run.errors() == []
    run.run("SET_STEPPER_CARRIAGES STEPPER=b CARRIAGES=carriage_x\n")
    assert run.errors()[-1].endswith("cannot add or remove carriages that the stepper controls")
    run.run("SET_STEPPER_CARRIAGES STEPPER=b CARRIAGES=carriage_x+y\n")
    assert run.errors()[-1].endswith("does not allow independent movements of all printer axes.")
    run.run("SET_STEPPER_CARRIAGES STEPPER=q CARRIAGES=carriage_x\n")
    assert run.errors()[-1].endswith("Invalid STEPPER 'q' specified")
    run.run("SET_STEPPER_CARRIAGES STEPPER=b CARRIAGES=carriage_x-y\nG1 X100\n")
    run.finish()
    # b: +10 mm with the first coefficients, then x-y back by 10: net 0.
    assert steps_of(run, oid_of(run, "stepper b")) == 0
    assert steps_of(run, oid_of(run, "stepper a")) == 0
