"""Klipper's G-code surface (docs/G-Codes.md) as batch mode runs it:
SET_GCODE_OFFSET, GET_POSITION, M114, M204, M18/M84, TURN_OFF_HEATERS,
SET_PRINT_STATS_INFO, repeated warnings, macro object names."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402

from klipsim.gcode.reader import read_lines  # noqa: E402

HOME = "SET_KINEMATIC_POSITION X=100 Y=100 Z=5\n"
EXTRA = """
[virtual_sdcard]
path: ~/gcodes

[gcode_macro Park_Head]
gcode:
  G1 X10
"""


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path, base_config_text() + EXTRA)


def infos(run):
    return [t for kind, t in run.messages if kind == "info"]


def test_set_gcode_offset_shifts_coordinates_and_moves(run):
    run.run(HOME + "G1 X100 Y100 Z1 F600\nSET_GCODE_OFFSET Z=0.1 MOVE=1\n")
    assert run.moves[-1][:3] == pytest.approx((100., 100., 1.1))
    assert run.moves[-1][4] == pytest.approx(10.)          # the last F
    run.run("G1 Z2\nSET_GCODE_OFFSET Z_ADJUST=-0.05 MOVE=1 MOVE_SPEED=5\n")
    assert run.moves[-2][2] == pytest.approx(2.1)
    assert run.moves[-1][2] == pytest.approx(2.05) and run.moves[-1][4] == 5.
    moves = len(run.moves)
    run.run("SET_GCODE_OFFSET X=2\n")                     # no MOVE: nothing moves
    assert len(run.moves) == moves
    run.run("G1 X50\n")
    assert run.moves[-1][0] == pytest.approx(52.)
    run.run("G92 X10\n")      # a G92 offset is not a gcode offset
    status = run.printer.status()["gcode_move"]
    assert tuple(status["homing_origin"])[:3] == pytest.approx((2., 0., 0.05))
    assert status["gcode_position"][0] == pytest.approx(10.)


def test_homing_applies_the_gcode_offset(run):
    run.run("SET_GCODE_OFFSET Z=0.3\nG28 Z\nG1 Z5 F600\n")
    assert run.errors() == []
    assert run.moves[-1][2] == pytest.approx(5.3)


def test_get_position_and_m114(run):
    run.run(HOME + "M221 S50\nG1 X110 E2 F600\nSET_GCODE_OFFSET Y=1\nGET_POSITION\nM114\n")
    text = infos(run)
    report, m114 = text[-2], text[-1]
    lines = report.split("\n")
    assert [l.split(":")[0] for l in lines] == [
        "mcu", "stepper", "kinematic", "toolhead", "gcode", "gcode base", "gcode homing"]
    assert "gcode homing: X:0.000000 Y:1.000000 Z:0.000000" in report
    assert "toolhead: X:110.000000 Y:100.000000 Z:5.000000 E:1.000000" in report
    # The steppers report what step generation has reached (as in Klipper,
    # GET_POSITION does not flush); 80 steps/mm on X (the cartesian
    # reference printer): the MCU count is the stepper position x 80.
    mcu = dict(w.split(":") for w in lines[0].split()[1:])
    stepper = dict(w.split(":") for w in lines[1].split()[1:])
    assert int(mcu["stepper_x"]) == round(float(stepper["stepper_x"]) * 80)
    # M114: G-code coordinates, E as written (2, not 2 x 50 %).
    assert m114 == "X:110.000 Y:99.000 Z:5.000 E:2.000"


def test_m204(run):
    limits = run.printer.toolhead.limits
    run.run("M204 P1000 T2000\n")
    assert limits.max_accel == 1000.
    run.run("M204 S1500\n")
    assert limits.max_accel == 1500.
    run.run("M204 P800\nM204 P800\nM204 T5\n")
    assert limits.max_accel == 1500. and run.errors() == []
    warnings = [t for kind, t in run.messages if kind == "warning"]
    assert warnings[-3:] == ['test.gcode:1: Invalid M204 command "M204 P800"',
                             'test.gcode:2: Invalid M204 command "M204 P800"',
                             'test.gcode:3: Invalid M204 command "M204 T5"']
    assert run.dispatcher.warnings == 3


def test_unknown_commands_are_warnings_not_errors(run):
    run.run("M201 X1000\nM201 X2000\nM205 X8\nM201 Y3\n")
    warnings = [t for kind, t in run.messages if kind == "warning"]
    assert warnings == ['test.gcode:1: Unknown command: "M201"',
                        'test.gcode:2: Unknown command: "M201"',
                        'test.gcode:3: Unknown command: "M205"',
                        'test.gcode:4: Unknown command: "M201"']
    assert run.dispatcher.errors == 0 and run.dispatcher.warnings == 4


def test_m84_waits_only_when_a_motor_was_on(run):
    toolhead = run.printer.toolhead
    run.dispatcher.run_commands(read_lines(HOME + "M84\n"))
    idle = toolhead.get_last_move_time()
    run.dispatcher.run_commands(read_lines("M84\n"))     # nothing on: no wait
    assert toolhead.get_last_move_time() == pytest.approx(idle)
    run.dispatcher.run_commands(read_lines(HOME + "G1 X110 F6000\nM400\n"))
    moved = toolhead.get_last_move_time()
    run.dispatcher.run_commands(read_lines("M84\n"))     # 0.1 s before and after
    assert toolhead.get_last_move_time() >= moved + 0.2 - 1e-9


def test_turn_off_heaters(run):
    run.run("M104 S200\nM140 S60\nTURN_OFF_HEATERS\n")
    assert all(h.target == 0. for h in run.printer.heaters.heaters.values())


def test_set_print_stats_info(run):
    stats = run.printer.objects["print_stats"]
    run.run("SET_PRINT_STATS_INFO CURRENT_LAYER=3\n")      # no total yet: ignored
    assert stats.get_status()["info"] == {"total_layer": None, "current_layer": None}
    run.run("SET_PRINT_STATS_INFO TOTAL_LAYER=10 CURRENT_LAYER=1\n")
    assert stats.get_status()["info"] == {"total_layer": 10, "current_layer": 1}
    run.run("SET_PRINT_STATS_INFO CURRENT_LAYER=12\n")     # capped at the total
    assert stats.get_status()["info"]["current_layer"] == 10
    run.run("SET_PRINT_STATS_INFO TOTAL_LAYER=0\n")
    assert stats.get_status()["info"] == {"total_layer": None, "current_layer": None}


def test_macro_object_keeps_its_case(run):
    status = run.printer.macros.printer()
    assert "gcode_macro Park_Head" in status
    assert "gcode_macro PARK_HEAD" not in status
    assert run.dispatcher.has("PARK_HEAD")


def test_checksum_lines_run(run):
    run.run(HOME + "N10 G1 X120 F6000*99\n")
    assert run.errors() == [] and run.moves[-1][0] == pytest.approx(120.)


def test_arc_extrusion_with_m221_is_even(run):
    """An arc after M221 S50 in absolute E: every segment extrudes the same
    (the arc starts from the G-code E, unscaled, as Klipper's does); the
    whole arc extrudes (4 - 2) x 50 % = 1 mm."""
    run.run(HOME + "M82\nM221 S50\nG1 X110 E2 F1200\n")
    before = len(run.moves)
    run.run("G2 X120 Y100 I5 J0 E4\n")
    assert run.errors() == []
    e = [m[3] for m in run.moves[before - 1:]]
    arc = [b - a for a, b in zip(e, e[1:])]
    assert len(arc) > 5
    assert min(arc) > 0. and max(arc) - min(arc) < 1e-9
    assert e[-1] - e[0] == pytest.approx(1.)


def test_set_idle_timeout(run):
    run.run("SET_IDLE_TIMEOUT TIMEOUT=120\n")
    assert infos(run)[-1] == "idle_timeout: Timeout set to 120.00 s"
    run.run("SET_IDLE_TIMEOUT\n")          # no value: keeps and reports it
    assert infos(run)[-1] == "idle_timeout: Timeout set to 120.00 s"
    run.run("SET_IDLE_TIMEOUT TIMEOUT=0\n")
    assert run.errors()[-1].endswith("TIMEOUT must be above 0.0")


def test_idle_timeout_from_config(tmp_path):
    text = base_config_text() + EXTRA + "\n[idle_timeout]\ntimeout: 900\n"
    run = Run(tmp_path, text)
    run.run("SET_IDLE_TIMEOUT\n")
    assert infos(run)[-1] == "idle_timeout: Timeout set to 900.00 s"
