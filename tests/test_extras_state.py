"""SAVE_GCODE_STATE / RESTORE_GCODE_STATE (with MOVE=1), PAUSE/RESUME,
and the message commands (M117, M73, SET_DISPLAY_TEXT, M118, RESPOND),
checked against docs/G-Codes.md: a restored state brings back the
coordinate modes, G92 offsets and feed rate, keeps the extruder where it
is (the E coordinate reads as when saved), and MOVE=1 moves back to the
saved XYZ at MOVE_SPEED; RESUME moves back to where PAUSE was given at
VELOCITY (default recover_velocity)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402

EXTRA = "\n[pause_resume]\nrecover_velocity: 40\n\n[display_status]\n\n[respond]\n"
HOME = "SET_KINEMATIC_POSITION X=100 Y=100 Z=5\n"


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path, base_config_text() + EXTRA)


def test_restore_brings_back_modes_offsets_and_speed(run):
    run.run(HOME + "G90\nM82\nG1 X110 E0.2 F1200\nSAVE_GCODE_STATE NAME=a\n"
            "G91\nM83\nG92 X0\nG1 X5 E0.3 F3000\nRESTORE_GCODE_STATE NAME=a\n"
            "G1 X120 E0.4\n")
    assert run.errors() == []
    last, before = run.moves[-1], run.moves[-2]
    assert last[0] == pytest.approx(120.)            # G90 and no G92 offset again
    assert last[3] - before[3] == pytest.approx(0.2)  # absolute E: 0.4 - 0.2
    assert last[4] == pytest.approx(1200. / 60.)      # saved feed rate
    status = run.printer.status()["gcode_move"]
    assert status["absolute_coordinates"] and status["absolute_extrude"]


def test_restore_move_returns_to_saved_position(run):
    run.run(HOME + "G1 X110 Y105 Z6 F6000\nSAVE_GCODE_STATE NAME=p\n"
            "G1 X150 Y150 Z8\nG1 E0.5 F600\n"
            "RESTORE_GCODE_STATE NAME=p MOVE=1 MOVE_SPEED=75\n")
    last, before = run.moves[-1], run.moves[-2]
    assert last[:3] == pytest.approx((110., 105., 6.))
    assert last[3] == pytest.approx(before[3])       # the extruder does not move
    assert last[4] == pytest.approx(75.)


def test_pause_resume_moves_back_at_recover_velocity(run):
    run.run(HOME + "G1 X110 F6000\nPAUSE\nG1 X150 Y120 F6000\nRESUME\n")
    last = run.moves[-1]
    assert last[:3] == pytest.approx((110., 100., 5.))
    assert last[4] == pytest.approx(40.)
    assert run.printer.objects["pause_resume"].get_status() == {"is_paused": False}
    run.run("PAUSE\nPAUSE\n")
    info = [t for kind, t in run.messages if kind == "info"]
    assert info[-1] == "Print already paused"
    assert run.printer.objects["pause_resume"].get_status() == {"is_paused": True}
    moves_before = len(run.moves)
    run.run("CANCEL_PRINT\nRESUME\n")       # not paused any more: no move back
    assert len(run.moves) == moves_before


def test_display_and_respond_messages(run, tmp_path):
    run.run("M117 Hello there\nM73 P42\n")
    display = run.printer.objects["display_status"]
    assert display.get_status() == {"progress": 0.42, "message": "Hello there"}
    run.run('SET_DISPLAY_TEXT MSG="Layer 2"\nM118 ping\nRESPOND TYPE=error MSG="bad thing"\n'
            "SET_DISPLAY_TEXT\n")
    assert display.get_status()["message"] is None
    info = [t for kind, t in run.messages if kind == "info"]
    assert "display: Layer 2" in info
    assert "echo: ping" in info
    assert "!! bad thing" in info
    assert run.errors() == [] and run.dispatcher.warnings == 0
    # nothing reaches the MCU: the stream equals that of an empty input
    quiet_dir = tmp_path / "quiet"
    quiet_dir.mkdir()
    quiet = Run(quiet_dir, base_config_text() + EXTRA)
    assert run.finish() == quiet.finish()
