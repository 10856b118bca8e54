"""[dual_carriage] (IDEX) against docs/G-Codes.md SET_DUAL_CARRIAGE and
hand calculations: COPY moves both carriages by equal steps, MIRROR by
opposite steps; switching the PRIMARY carriage puts the toolhead where
the new carriage is; travel limits keep safe_distance; Klipper's error
messages."""
import os
import sys

import pytest
from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402
from test_manual_stepper import steps_of  # noqa: E402

# stepper_x of the base printer: 0..200, endstop at 0, 80 steps/mm.
# Carriage 1: 40..250, endstop at 250 (homes the other way).
DUAL = """
[dual_carriage]
axis: x
safe_distance: 40
step_pin: PC0
dir_pin: PC1
enable_pin: !PC2
microsteps: 16
rotation_distance: 40
endstop_pin: ^PD2
position_endstop: 250
position_min: 40
position_max: 250
homing_speed: 50
"""


def make(tmp_path):
    return Run(tmp_path, base_config_text() + DUAL)


def oid(run, name):
    return next(s.oid for s in run.printer.motion.steppers if s.name == name)


def x_of(run):
    return run.printer.toolhead.get_position()[0]


def test_homing_homes_both_then_carriage_0_is_primary(tmp_path):
    run = make(tmp_path)
    run.run("G28 X\n")
    assert run.errors() == []
    status = run.printer.objects["dual_carriage"].get_status()
    assert status["carriage_0"] == "PRIMARY" and status["carriage_1"] == "INACTIVE"
    assert x_of(run) == 0.
    # Carriage 0 at 0, carriage 1 parked at 250: X may go up to
    # 250 - 40 (safe distance) = 210, capped by stepper_x's 200.
    assert run.printer.toolhead.kin.axis_limits.limits[0] == (0., 200.)
    lines = run.finish()
    homes = [l for l in lines if l.startswith("trsync_start")]
    assert len(homes) == 4             # two homing moves per carriage


def test_switching_primary_moves_the_toolhead_to_the_carriage(tmp_path):
    run = make(tmp_path)
    run.run("G28 X\nG1 X20 F6000\nSET_DUAL_CARRIAGE CARRIAGE=1\n")
    assert x_of(run) == 250.
    # Carriage 0 parked at 20: carriage 1 keeps 40 away, down to 60.
    assert run.printer.toolhead.kin.axis_limits.limits[0] == (60., 250.)
    run.run("G1 X59\n")
    assert "Move out of range" in run.errors()[-1]
    run.run("SET_DUAL_CARRIAGE CARRIAGE=0\n")
    assert x_of(run) == 20.


def net_steps(tmp_path, mode, final_move):
    run = make(tmp_path)
    run.run("G28 X\nSET_DUAL_CARRIAGE CARRIAGE=1\nG1 X180 F6000\n"
            "SET_DUAL_CARRIAGE CARRIAGE=0\nG1 X50\n"
            "SET_DUAL_CARRIAGE CARRIAGE=1 MODE=%s\n%s" % (mode, final_move))
    assert run.errors() == []
    run.finish()
    return steps_of(run, oid(run, "stepper_x")), steps_of(run, oid(run, "dual_carriage"))


@settings(max_examples=8, deadline=None)
@given(st.floats(-30., 30.), st.sampled_from(["COPY", "MIRROR"]))
def test_copy_and_mirror_steps(tmp_path_factory, dx, mode):
    """The same run with and without one more X move: carriage 0 moves by
    dx x 80 steps, carriage 1 by the same (COPY) or the opposite (MIRROR)."""
    before = net_steps(tmp_path_factory.mktemp("a"), mode, "")
    after = net_steps(tmp_path_factory.mktemp("b"), mode, "G1 X%.3f\n" % (50. + dx))
    moved = (after[0] - before[0], after[1] - before[1])
    assert abs(moved[0] - round(dx * 80)) <= 1
    assert moved[1] == (1 if mode == "COPY" else -1) * moved[0]


def test_mode_errors(tmp_path):
    run = make(tmp_path)
    run.run("SET_DUAL_CARRIAGE CARRIAGE=1 MODE=COPY\n")
    assert run.errors()[-1].endswith("Axis X must be homed prior to enabling mode=COPY")
    run.run("G28 X\nSET_DUAL_CARRIAGE CARRIAGE=1\nSET_DUAL_CARRIAGE CARRIAGE=1 MODE=COPY\n")
    assert run.errors()[-1].endswith("Must activate another carriage as PRIMARY first")
    run.run("SET_DUAL_CARRIAGE CARRIAGE=2\n")
    assert run.errors()[-1].endswith("Invalid CARRIAGE=2 index")
    run.run("SET_DUAL_CARRIAGE CARRIAGE=0 MODE=SIDEWAYS\n")
    assert run.errors()[-1].endswith("Invalid mode=SIDEWAYS specified")
    run.run("SET_DUAL_CARRIAGE CARRIAGE=1 MODE=INACTIVE\n")
    assert run.errors()[-1].endswith("Cannot deactivate the only active carriage for axis X")
    run.run("SET_DUAL_CARRIAGE\n")
    assert run.errors()[-1].endswith("CARRIAGE must be specified")


def test_mirror_limits(tmp_path):
    """Carriage 0 at 0, carriage 1 at 250 mirrored: they meet in the
    middle less half the safe distance each: (250 - 40) / 2 = 105."""
    run = make(tmp_path)
    run.run("G28 X\nSET_DUAL_CARRIAGE CARRIAGE=1 MODE=MIRROR\n")
    assert run.printer.toolhead.kin.axis_limits.limits[0] == pytest.approx((0., 105.))


def test_save_and_restore_state(tmp_path):
    run = make(tmp_path)
    run.run("G28 X\nG1 X30 F6000\nSAVE_DUAL_CARRIAGE_STATE NAME=a\n"
            "SET_DUAL_CARRIAGE CARRIAGE=1\nG1 X200\nSET_DUAL_CARRIAGE CARRIAGE=0\nG1 X10\n"
            "RESTORE_DUAL_CARRIAGE_STATE NAME=a\n")
    assert run.errors() == []
    dc = run.printer.objects["dual_carriage"]
    status = dc.get_status()
    assert (status["carriage_0"], status["carriage_1"]) == ("PRIMARY", "INACTIVE")
    pos = run.printer.toolhead.get_position()
    assert [c.axis_position(pos) for c in dc.carriages] == pytest.approx([30., 250.])
    run.run("RESTORE_DUAL_CARRIAGE_STATE NAME=b\n")
    assert run.errors()[-1].endswith("Unknown DUAL_CARRIAGE state: b")
