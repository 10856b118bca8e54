"""FORCE_MOVE, SET_STEPPER_ENABLE, QUERY_ENDSTOPS / M119 against
docs/G-Codes.md: FORCE_MOVE steps exactly DISTANCE x steps/mm and leaves
the kinematic position alone; QUERY_ENDSTOPS reports every endstop (open:
nothing drives the pins offline)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402
from test_manual_stepper import steps_of  # noqa: E402

HOME = "SET_KINEMATIC_POSITION X=100 Y=100 Z=5\n"


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path, base_config_text())


def oid(run, name):
    return next(s.oid for s in run.printer.motion.steppers if s.name == name)


def infos(run):
    return [t for kind, t in run.messages if kind == "info"]


def test_force_move_steps(run):
    # stepper_x: 80 steps/mm (rotation_distance 40, 16 microsteps).
    run.run(HOME + "FORCE_MOVE STEPPER=stepper_x DISTANCE=-12.5 VELOCITY=20 ACCEL=500\n")
    assert run.errors() == []
    assert run.printer.toolhead.get_position()[:3] == [100., 100., 5.]
    run.finish()
    assert steps_of(run, oid(run, "stepper_x")) == -1000
    assert steps_of(run, oid(run, "stepper_y")) == 0


def test_force_move_then_moves_follow_the_kinematics(run):
    """The kinematic position is unchanged, so the next move drives the
    stepper from where the kinematics thinks it is."""
    run.run(HOME + "FORCE_MOVE STEPPER=stepper_x DISTANCE=5 VELOCITY=20\nG1 X110 F6000\n")
    run.finish()
    assert steps_of(run, oid(run, "stepper_x")) == 400 + 800


def test_force_move_needs_enable_force_move(tmp_path):
    text = base_config_text().replace("enable_force_move: True", "enable_force_move: False")
    run = Run(tmp_path, text)
    run.run("FORCE_MOVE STEPPER=stepper_x DISTANCE=1 VELOCITY=1\n")
    # Not registered: only a warning (its wording is the dispatcher's), no steps.
    assert run.errors() == []
    assert "FORCE_MOVE" in [t for k, t in run.messages if k == "warning"][-1]
    run.finish()
    assert steps_of(run, oid(run, "stepper_x")) == 0


def test_force_move_errors(run):
    run.run("FORCE_MOVE STEPPER=stepper_q DISTANCE=1 VELOCITY=1\n")
    assert run.errors()[-1].endswith("Unknown stepper stepper_q")
    run.run("FORCE_MOVE STEPPER=stepper_x DISTANCE=1 VELOCITY=0\n")
    assert run.errors()[-1].endswith("VELOCITY must be above 0.0")


def test_set_stepper_enable(run):
    run.run(HOME + "G1 X110 F6000\nSET_STEPPER_ENABLE STEPPER=stepper_x ENABLE=0\n")
    line = run.printer.hw.stepper_enable.by_stepper["stepper_x"]
    assert not line.is_enabled
    assert run.printer.hw.stepper_enable.by_stepper["stepper_y"].is_enabled is False
    run.run("SET_STEPPER_ENABLE STEPPER=stepper_x ENABLE=1\n")
    assert line.is_enabled
    run.run("SET_STEPPER_ENABLE STEPPER=nope\n")
    assert infos(run)[-1] == 'SET_STEPPER_ENABLE: Invalid stepper "nope"'


def test_query_endstops(run):
    run.run("QUERY_ENDSTOPS\nM119\n")
    assert infos(run)[-2:] == ["x:open y:open z:open"] * 2
