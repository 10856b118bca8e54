"""G28 on a cable winch: Klipper's winch kinematics has no homing move; it
declares the homed axes to be at 0. So G28 makes no step, and the next
move is planned from 0,0,0 (a move back to where SET_KINEMATIC_POSITION
put the toolhead steps again)."""
import io

from klipsim.chelper.msgproto import load_dictionary
from klipsim.golden import reference
from klipsim.sim.compile.batch import compile_gcode

CASE = reference.case("winch_basic")


def compile_steps(tmp_path, gcode):
    src = tmp_path / "in.gcode"
    src.write_text(gcode)
    errors = []
    result = compile_gcode(str(src), CASE.config, load_dictionary(CASE.dictionary),
                           io.StringIO(), warn=errors.append)
    assert result.errors == 0, errors
    return result.steps


def test_g28_makes_no_step(tmp_path):
    steps = compile_steps(tmp_path, "SET_KINEMATIC_POSITION X=10 Y=5 Z=3\nG28\n")
    assert sum(n for name, n in steps.items() if name.startswith("stepper_")) == 0


def test_g28_sets_the_position_to_zero(tmp_path):
    # After G28 the toolhead is at 0,0,0: moving to 0,0,0 makes no step,
    # moving to 10,5,3 makes as many steps as the move 0,0,0 -> 10,5,3.
    home_then_origin = compile_steps(tmp_path, "SET_KINEMATIC_POSITION X=10 Y=5 Z=3\n"
                                     "G28\nG1 X0 Y0 Z0 F600\n")
    assert sum(home_then_origin.get("stepper_" + s, 0) for s in "abcd") == 0
    home_then_move = compile_steps(tmp_path, "SET_KINEMATIC_POSITION X=10 Y=5 Z=3\n"
                                   "G28\nG1 X10 Y5 Z3 F600\n")
    plain_move = compile_steps(tmp_path, "SET_KINEMATIC_POSITION X=0 Y=0 Z=0\n"
                               "G1 X10 Y5 Z3 F600\n")
    assert home_then_move == plain_move
