"""Where a probing move leaves the toolhead.

Klipper's probing_move sets the toolhead to the kinematic position of the
steppers' step counts (homing.py: calc_toolhead_pos over the commanded
stepper positions plus the steps taken), so X and Y come off the step grid
too, not from the requested coordinates. Expected values by hand: X step
distance 40 / (200 x 16) = 0.0125 mm on the cartesian_homing printer; a
move to X 10.008 (800.64 steps from the homed 0) takes 801 steps, so the
steppers stand at X 10.0125 after the probe.
"""
import os
import sys

from klipsim.host.kinematics.corexy import corexy_to_cartesian as corexy_forward

sys.path.insert(0, os.path.dirname(__file__))
from test_probe_tmc import PROBE, base_config, compile_text, oid_of, step_blocks  # noqa: E402

# Moves X to 30 when the toolhead is at `expected` after PROBE, else to 40.
CHECK = """
[gcode_macro CHECK_X]
gcode:
    {% if (printer.toolhead.position.x - params.EXPECT|float)|abs < 0.000001 %}
        G1 X30 F3000
    {% else %}
        G1 X40 F3000
    {% endif %}
"""


def x_blocks(tmp_path, gcode):
    config = base_config(probe_z=True) + PROBE + CHECK
    text = compile_text(tmp_path, config, gcode)
    return step_blocks(text, oid_of(text, "PF0"))


def test_probe_leaves_x_on_the_step_grid(tmp_path):
    blocks = x_blocks(tmp_path, "G28\nG1 Z5 F600\nG1 X10.008 F3000\nPROBE\n"
                                "CHECK_X EXPECT=10.0125\n")
    # 10.008 -> 801 steps before the probe; 10.0125 -> 30: 1599 steps after
    assert blocks[-7] == 801      # then 3 samples: trsync and stop blocks
    assert blocks[-1] == round((30 - 10.0125) / 0.0125)


def test_probe_on_the_grid_keeps_x(tmp_path):
    """X 10.0 is a whole number of steps: the halt position is X 10."""
    blocks = x_blocks(tmp_path, "G28\nG1 Z5 F600\nG1 X10 F3000\nPROBE\nCHECK_X EXPECT=10\n")
    assert blocks[-1] == 1600


def test_corexy_forward_inverts_the_motor_mapping():
    """a = x + y, b = x - y (docs/Kinematics.md)."""
    x, y, z = 174.99375, 125.225, -5.0
    assert corexy_forward([x + y, x - y, z]) == [x, y, z]
