"""[manual_stepper]: MANUAL_STEPPER against docs/G-Codes.md and hand
calculations of Klipper's move rule (a symmetric trapezoid, as FORCE_MOVE
computes it: accel_t = v / a, peak sqrt(d * a) when d * a < v^2)."""
import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402

from klipsim.gcode.reader import read_lines  # noqa: E402
from klipsim.host.manual_stepper import calc_move_time  # noqa: E402

# 200 full steps x 16 microsteps over 32 mm: 100 steps per mm.
BELT = """
[manual_stepper belt]
step_pin: PC0
dir_pin: PC1
enable_pin: !PC2
microsteps: 16
rotation_distance: 32
velocity: 20
accel: 200
"""
HOME = "SET_KINEMATIC_POSITION X=100 Y=100 Z=5\n"


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path, base_config_text() + BELT)


def belt(run):
    return run.printer.objects["manual_stepper belt"]


def steps_of(run, oid):
    total = 0
    direction = 1
    for line in run.lines():
        fields = dict(f.split("=", 1) for f in line.split()[1:])
        if fields.get("oid") != str(oid):
            continue
        if line.startswith("set_next_step_dir"):
            direction = 1 if fields["dir"] == "1" else -1
        elif line.startswith("queue_step"):
            total += direction * int(fields["count"])
    return total


def test_calc_move_time_by_hand():
    # 50 mm at 25 mm/s, 500 mm/s^2: 0.05 s to accelerate over 0.625 mm,
    # as long to brake: 48.75 mm cruise = 1.95 s.
    assert calc_move_time(50., 25., 500.) == pytest.approx((1., .05, 1.95, 25.))
    # 1 mm at 100 mm/s, 100 mm/s^2 never reaches 100: peak sqrt(100) = 10.
    axis_r, accel_t, cruise_t, v = calc_move_time(-1., 100., 100.)
    assert (axis_r, v, accel_t) == (-1., pytest.approx(10.), pytest.approx(.1))
    assert cruise_t == pytest.approx(0.)
    # No acceleration: constant speed.
    assert calc_move_time(10., 5., 0.) == (1., 0., 2., 5.)


def test_move_steps_and_timing(run):
    run.run(HOME + "MANUAL_STEPPER STEPPER=belt ENABLE=1\n"
            "MANUAL_STEPPER STEPPER=belt SET_POSITION=0\n"
            "MANUAL_STEPPER STEPPER=belt MOVE=50 SPEED=25 ACCEL=500\n")
    assert run.errors() == []
    m = belt(run)
    # SYNC=1: the toolhead waited for the move's end (2.05 s long).
    assert m.commanded_pos == 50.
    start = m.next_cmd_time - 2.05
    assert run.printer.toolhead.get_last_move_time() == pytest.approx(m.next_cmd_time)
    run.finish()
    assert steps_of(run, m.stepper.oid) == 5000
    assert start >= 0.


def test_sync0_lets_the_toolhead_go_on(run):
    # No reactor timers between the commands (the batch flush timer would
    # itself move print time on: Klipper's batch-mode stall).
    run.dispatcher.run_commands(read_lines(
        HOME + "MANUAL_STEPPER STEPPER=belt SET_POSITION=0\n"
        "MANUAL_STEPPER STEPPER=belt MOVE=100 SPEED=10 ACCEL=0 SYNC=0\n"))
    m = belt(run)
    toolhead = run.printer.toolhead
    assert m.next_cmd_time - toolhead.get_last_move_time() == pytest.approx(10.)
    run.dispatcher.run_commands(read_lines("MANUAL_STEPPER STEPPER=belt SYNC=1\n"))
    assert toolhead.get_last_move_time() == pytest.approx(m.next_cmd_time)


def test_endstop_and_stepper_name_errors(run):
    run.run("MANUAL_STEPPER STEPPER=belt MOVE=5 STOP_ON_ENDSTOP=1\n")
    assert run.errors()[-1].endswith("No endstop for this manual stepper")
    run.run("MANUAL_STEPPER STEPPER=nope MOVE=5\n")
    assert "is not valid for STEPPER" in run.errors()[-1]


def test_position_limits(tmp_path):
    run = Run(tmp_path, base_config_text() + BELT + "position_min: 0\nposition_max: 10\n")
    run.run("MANUAL_STEPPER STEPPER=belt MOVE=11\n")
    assert run.errors()[-1].endswith("Move out of range")
    run.run("MANUAL_STEPPER STEPPER=belt MOVE=10\n")
    assert len(run.errors()) == 1


def test_gcode_axis_moves_in_the_toolhead_queue(run):
    run.run(HOME + "MANUAL_STEPPER STEPPER=belt SET_POSITION=0\n"
            "MANUAL_STEPPER STEPPER=belt GCODE_AXIS=A\n"
            "G1 A30 F1200\nG1 X120 A60 F3000\n")
    assert run.errors() == []
    toolhead = run.printer.toolhead
    assert toolhead.get_position()[4] == 60.
    run.run("MANUAL_STEPPER STEPPER=belt MOVE=1\n")
    assert run.errors()[-1].endswith("Must unregister from gcode axis first")
    run.run("MANUAL_STEPPER STEPPER=belt GCODE_AXIS=B\n")
    assert run.errors()[-1].endswith("Must unregister axis first")
    run.run("MANUAL_STEPPER STEPPER=belt GCODE_AXIS=\nG1 A10\n")
    assert len(toolhead.get_position()) == 4
    assert belt(run).commanded_pos == 60.
    run.finish()
    assert steps_of(run, belt(run).stepper.oid) == 6000


def test_gcode_axis_alone_uses_the_stepper_accel(run):
    """An A-only move is not kinematic: its acceleration is the
    manual stepper's `accel` (200), so 30 mm at 20 mm/s takes
    0.1 s + 1.4 s + 0.1 s."""
    run.run(HOME + "MANUAL_STEPPER STEPPER=belt SET_POSITION=0\n"
            "MANUAL_STEPPER STEPPER=belt GCODE_AXIS=A\nM400\n")
    toolhead = run.printer.toolhead
    before = toolhead.get_last_move_time()
    run.run("G1 A30 F1200\nM400\n")
    assert toolhead.get_last_move_time() - before == pytest.approx(1.6)


def test_invalid_axis_names(run):
    for name in ("X", "E", "AB", "1"):
        run.run("MANUAL_STEPPER STEPPER=belt GCODE_AXIS=%s\n" % name)
        assert run.errors()[-1].endswith("Not a valid GCODE_AXIS")
    assert math.isfinite(belt(run).commanded_pos)


def test_stop_on_endstop_homing_move(tmp_path):
    """With an endstop the move is a homing move: the endstop is armed
    (trsync + endstop_home) and, offline, counts as hit at the move's
    end, so the whole 10 mm (1000 steps) is stepped."""
    run = Run(tmp_path, base_config_text() + BELT + "endstop_pin: ^PD2\n")
    run.run(HOME + "MANUAL_STEPPER STEPPER=belt SET_POSITION=0\n"
            "MANUAL_STEPPER STEPPER=belt MOVE=-10 SPEED=5 STOP_ON_ENDSTOP=1\n")
    assert run.errors() == []
    assert belt(run).commanded_pos == -10.
    lines = run.finish()
    assert sum(l.startswith("trsync_start") for l in lines) == 1
    assert sum(l.startswith("endstop_home") for l in lines) == 2
    assert steps_of(run, belt(run).stepper.oid) == -1000
