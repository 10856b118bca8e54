"""[exclude_object]: Klipper's retract_exclude reference is reproduced,
and on hand-written G-code an excluded object's moves never reach the
toolhead (no extrusion, no travel into it), the toolhead goes straight
from the last printed point to the next printed object, and the status
lists objects, exclusions and the current object."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402

from klipsim.chelper.msgproto import load_dictionary  # noqa: E402
from klipsim.golden import reference  # noqa: E402
from klipsim.golden.stepdiff import diff_files  # noqa: E402
from klipsim.sim.compile.batch import compile_gcode  # noqa: E402


def square(name, x0, y0, size=10., e_per_side=0.4):
    """G-code of one labelled square perimeter, drawn as 8 half sides
    (8 extruding moves: more than the 5 Klipper lets pass while it learns
    the extruder state after the first EXCLUDE_OBJECT)."""
    corners = [(x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0)]
    lines = ["EXCLUDE_OBJECT_START NAME=%s" % name, "G1 X%.3f Y%.3f F6000" % (x0, y0)]
    px, py = x0, y0
    for cx, cy in corners:
        mx, my = (px + cx) / 2., (py + cy) / 2.
        lines.append("G1 X%.3f Y%.3f E%.4f F1800" % (mx, my, e_per_side / 2))
        lines.append("G1 X%.3f Y%.3f E%.4f F1800" % (cx, cy, e_per_side / 2))
        px, py = cx, cy
    lines.append("EXCLUDE_OBJECT_END NAME=%s" % name)
    return "\n".join(lines) + "\n"


HEADER = ("SET_KINEMATIC_POSITION X=100 Y=100 Z=5\nG90\nM83\n"
          "EXCLUDE_OBJECT_DEFINE NAME=part_b CENTER=105,65 POLYGON=[[100,60],[110,60],[110,70],[100,70]]\n"
          "EXCLUDE_OBJECT_DEFINE NAME=part_a CENTER=65,65 POLYGON=[[60,60],[70,60],[70,70],[60,70]]\n"
          "G1 Z0.2 F600\n")


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path, base_config_text())


def inside(move, x0, x1, y0, y1):
    return x0 <= move[0] <= x1 and y0 <= move[1] <= y1


def test_excluded_object_gets_no_moves(run):
    gcode = HEADER + "EXCLUDE_OBJECT NAME=part_b\n"
    for layer in range(3):
        gcode += "G1 Z%.2f F600\n" % (0.2 * (layer + 1))
        gcode += square("part_a", 60, 60) + square("part_b", 100, 60)
    run.run(gcode)
    assert run.errors() == []
    moves = run.moves
    assert not any(inside(m, 99., 111., 59., 71.) for m in moves)
    # Only part_a's extrusion reaches the extruder: 3 layers x 8 x 0.2 mm.
    extruded = moves[-1][3] - moves[0][3]
    assert extruded == pytest.approx(3 * 8 * 0.2, abs=1e-9)
    # After part_a of one layer the toolhead goes to the next layer's Z,
    # then straight to part_a's start: the skipped part_b leaves no trace.
    after_first_layer = [m for m in moves if m[2] == pytest.approx(0.4)]
    assert after_first_layer[0][:2] == pytest.approx((60., 60.))   # Z move at A's end
    assert after_first_layer[1][:2] == pytest.approx((60., 60.))   # travel to A's start


def test_nothing_excluded_prints_everything(run):
    run.run(HEADER + square("part_a", 60, 60) + square("part_b", 100, 60))
    assert any(inside(m, 99., 111., 59., 71.) for m in run.moves)
    assert run.moves[-1][3] - run.moves[0][3] == pytest.approx(2 * 8 * 0.2, abs=1e-9)


def test_exclude_current_mid_object(run):
    """EXCLUDE_OBJECT CURRENT=1 skips the rest of the current object."""
    # Exclude something first so part_a's moves teach the E state.
    warmup = "EXCLUDE_OBJECT NAME=part_c\n" + square("part_a", 60, 60)
    partial = square("part_b", 100, 60).splitlines()
    gcode = HEADER + warmup + "\n".join(partial[:4]) + "\nEXCLUDE_OBJECT CURRENT=1\n" \
        + "\n".join(partial[4:]) + "\n" + square("part_a", 60, 60)
    run.run(gcode)
    status = run.printer.objects["exclude_object"].get_status()
    assert status["excluded_objects"] == ["PART_B", "PART_C"]
    reached_b = [m for m in run.moves if inside(m, 99., 111., 59., 71.)]
    # travel to B's start plus the two extruding moves before the exclusion
    assert len(reached_b) == 3
    extruded = run.moves[-1][3] - run.moves[0][3]
    assert extruded == pytest.approx(2 * 8 * 0.2 + 2 * 0.2, abs=1e-9)


def test_first_extrusions_after_exclusion_still_print(run):
    """Klipper's transform lets the first 5 E-changing moves after it is
    installed through, even inside an excluded object."""
    run.run(HEADER + "EXCLUDE_OBJECT NAME=part_b\n" + square("part_b", 100, 60))
    reached_b = [m for m in run.moves if inside(m, 99., 111., 59., 71.)]
    assert len(reached_b) == 1 + 5       # the travel and 5 extruding moves
    assert run.moves[-1][3] - run.moves[0][3] == pytest.approx(5 * 0.2, abs=1e-9)


def test_status_objects_sorted_and_current(run):
    run.run(HEADER + "EXCLUDE_OBJECT_START NAME=new_one\n")
    status = run.printer.objects["exclude_object"].get_status()
    assert [o["name"] for o in status["objects"]] == ["NEW_ONE", "PART_A", "PART_B"]
    assert status["objects"][1]["center"] == [65, 65]
    assert status["objects"][1]["polygon"][2] == [70, 70]
    assert status["current_object"] == "NEW_ONE"
    run.run("EXCLUDE_OBJECT_END\nEXCLUDE_OBJECT_DEFINE RESET=1\n")
    status = run.printer.objects["exclude_object"].get_status()
    assert status == {"objects": [], "excluded_objects": [], "current_object": None}


def test_retract_exclude_reference(tmp_path):
    """Klipper's own run of the retract_exclude case: same steps (every
    step within 25 us) and the same non-step lines per oid."""
    case = reference.case("retract_exclude")
    dictionary = load_dictionary(case.dictionary)
    out_path = tmp_path / "out.txt"
    errors = []
    with open(out_path, "w") as out:
        result = compile_gcode(case.gcode, case.config, dictionary, out, warn=errors.append)
    assert result.errors == 0, errors[:3]
    report = diff_files(case.klipper_output, str(out_path), dictionary.clock_freq)
    assert report.equivalent, report.verdict()
    assert report.other.differing == 0
