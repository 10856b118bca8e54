"""[firmware_retraction]: G10/G11 amounts and speeds, derived from the
config values and the documented rules (docs/G-Codes.md): G10 retracts
retract_length at retract_speed, G11 unretracts retract_length +
unretract_extra_length at unretract_speed, a repeated G10/G11 does
nothing, SET_RETRACTION changes the values and forgets the retracted
state, M221 scales the E move (it is an ordinary G1 E move), and the
feed rate is sent as an integer mm/min (Klipper's "F%d" of speed*60)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402

RETRACT_LENGTH = 0.8            # printer.cfg of the reference case
RETRACT_SPEED = 35.
UNRETRACT_LENGTH = 0.8 + 0.05
UNRETRACT_SPEED = 25.

START = "SET_KINEMATIC_POSITION X=100 Y=100 Z=5\nG90\nM83\nG1 X110 E1 F1200\n"


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path, base_config_text())


def e_only_moves(run):
    """(delta E, speed) of the moves that change only E."""
    found = []
    previous = None
    for move in run.moves:
        if previous is not None and move[:3] == previous[:3] and move[3] != previous[3]:
            found.append((move[3] - previous[3], move[4]))
        previous = move
    return found


def test_g10_g11_amounts_and_speeds(run):
    run.run(START + "G10\nG10\nG1 X120 F6000\nG11\nG11\nG1 X130 E1 F1200\n")
    moves = e_only_moves(run)
    assert len(moves) == 2          # the repeated G10 and G11 do nothing
    (d1, v1), (d2, v2) = moves
    assert d1 == pytest.approx(-RETRACT_LENGTH, abs=1e-9)
    assert v1 == pytest.approx(RETRACT_SPEED)
    assert d2 == pytest.approx(UNRETRACT_LENGTH, abs=1e-9)
    assert v2 == pytest.approx(UNRETRACT_SPEED)
    assert run.errors() == []


def test_gcode_state_restored_after_retraction(run):
    """Absolute E stays in G-code coordinates, the feed rate and G90 come
    back: G1 E1.5 after E0.5 + G10 + G11 extrudes exactly 1 mm at F1200."""
    run.run("SET_KINEMATIC_POSITION X=100 Y=100 Z=5\nG90\nM82\nG1 X110 E0.5 F1200\n"
            "G10\nG11\nG1 X120 E1.5\n")
    assert run.errors() == []
    last, before = run.moves[-1], run.moves[-2]
    assert last[3] - before[3] == pytest.approx(1.0, abs=1e-9)
    assert last[4] == pytest.approx(1200. / 60.)
    assert last[0] == pytest.approx(120.)     # absolute X, not relative


def test_set_retraction_and_extrude_factor(run):
    # 33.3333 mm/s * 60 = 1999.998 mm/min, sent as F1999.
    run.run(START + "G10\nSET_RETRACTION RETRACT_LENGTH=1.5 RETRACT_SPEED=33.3333"
            " UNRETRACT_EXTRA_LENGTH=0 UNRETRACT_SPEED=30\n"
            "G10\nM221 S50\nG11\n")
    moves = e_only_moves(run)
    assert len(moves) == 3          # SET_RETRACTION forgot the first G10
    (_, _), (d2, v2), (d3, v3) = moves
    assert d2 == pytest.approx(-1.5, abs=1e-9)
    assert v2 == pytest.approx(1999. / 60.)
    assert d3 == pytest.approx(1.5 * 0.5, abs=1e-9)
    assert v3 == pytest.approx(30.)


def test_get_retraction_reports_values(run):
    run.run("SET_RETRACTION RETRACT_LENGTH=2 RETRACT_SPEED=40\nGET_RETRACTION\n")
    info = [t for kind, t in run.messages if kind == "info"]
    assert info[-1] == ("RETRACT_LENGTH=2.00000 RETRACT_SPEED=40.00000"
                        " UNRETRACT_EXTRA_LENGTH=0.05000 UNRETRACT_SPEED=25.00000")
    assert run.printer.objects["firmware_retraction"].get_status()["retract_length"] == 2.


def test_extruder_steps_follow_retraction(run):
    """The MCU stream: net extruder steps = (1 - 0.8 + 0.85 + 1) mm of E
    times steps per mm (16 microsteps * 200 / rotation_distance 33.5)."""
    run.run(START + "G10\nG1 X120 F6000\nG11\nG1 X130 E1 F1200\n")
    lines = run.finish()
    steps_per_mm = 16 * 200 / 33.5
    oid = None
    for line in lines:
        if line.startswith("config_stepper") and "step_pin=PA4" in line:
            oid = int(line.split("oid=")[1].split()[0])
    net, direction = 0, 1
    for line in lines:
        if (" oid=%d " % oid) not in line + " ":
            continue
        if line.startswith("set_next_step_dir"):
            direction = 1 if line.endswith("dir=1") else -1
        elif line.startswith("queue_step"):
            net += direction * int(line.split("count=")[1].split()[0])
    assert abs(net - (1 - 0.8 + 0.85 + 1) * steps_per_mm) <= 1
