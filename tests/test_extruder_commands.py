"""Extruder commands beyond the reference cases' coverage."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _compile_helpers import compile_text  # noqa: E402


def test_negative_rotation_distance_reverses_the_extruder(tmp_path):
    """The same extrusion with DISTANCE=-33.5 steps the extruder the other
    way: same step times, opposite direction bits."""
    moves = "SET_KINEMATIC_POSITION X=100 Y=100 Z=5\nM83\nG1 E5 F600\n"
    forward = compile_text(tmp_path, moves)
    backward = compile_text(tmp_path, moves.replace(
        "M83", "M83\nSET_EXTRUDER_ROTATION_DISTANCE EXTRUDER=extruder DISTANCE=-33.5"))
    fwd = [l for l in forward.splitlines() if "oid=9 " in l and l.startswith(("queue_step", "set_next"))]
    bwd = [l for l in backward.splitlines() if "oid=9 " in l and l.startswith(("queue_step", "set_next"))]
    assert [l for l in fwd if l.startswith("queue_step")] == [l for l in bwd if l.startswith("queue_step")]
    dirs = lambda lines: [l.split("dir=")[1] for l in lines if l.startswith("set_next")]
    assert dirs(fwd) and [1 - int(d) for d in dirs(fwd)] == [int(d) for d in dirs(bwd)]
