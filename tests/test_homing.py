"""G28 and [homing_override] (the reference case cartesian_homing is in
test_compile_reference.py)."""
import os
import sys

from klipsim.chelper.msgproto import load_dictionary
from klipsim.golden import reference

sys.path.insert(0, os.path.dirname(__file__))
from _compile_helpers import compile_files, compile_text  # noqa: E402

CASE = reference.case("cartesian_homing")
OVERRIDE = """
[homing_override]
axes: xyz
gcode:
  G28 Y
  G28 X
  {% if params.Z is defined or 'X' not in params %}
  G28 Z
  {% endif %}
"""


def test_override_runs_its_template_instead_of_g28(tmp_path):
    overridden = compile_text(tmp_path, "G28\nG1 X10 Y10 F3000\n", OVERRIDE)
    by_hand = compile_text(tmp_path, "G28 Y\nG28 X\nG28 Z\nG1 X10 Y10 F3000\n")
    assert overridden == by_hand


def test_override_sees_g28_params(tmp_path):
    overridden = compile_text(tmp_path, "G28 X\n", OVERRIDE)
    by_hand = compile_text(tmp_path, "G28 Y\nG28 X\n")
    assert overridden == by_hand


def test_homing_emits_trsync_and_endstop_commands_per_axis(tmp_path):
    text = compile_text(tmp_path, "G28 X\n")
    arms = [l for l in text.splitlines() if l.startswith("endstop_home") and "clock=0 " not in l]
    # first pass and second (slower) pass on the X endstop
    assert len(arms) == 2 and all("oid=0 " in l for l in arms)
    assert "rest_ticks=8000" in arms[1]   # 25 mm/s second pass, 0.0125 mm steps, 16 MHz


SAFE_Z = """
[safe_z_home]
home_xy_position: 100, 100
speed: 50
"""


def test_safe_z_home_homes_z_at_the_safe_position(tmp_path):
    safe = compile_text(tmp_path, "G28\n", SAFE_Z)
    by_hand = compile_text(tmp_path, "G28 X\nG28 Y\nG90\nG1 X100 Y100 F3000\nG28 Z\n")
    assert safe == by_hand


def test_unmodelled_sections_warn_with_their_place(tmp_path):
    _, warnings, _ = compile_files(tmp_path, open(CASE.config).read()
                                   + "\n[adxl345]\ncs_pin: PA1\n", "G28 X\n",
                                   load_dictionary(CASE.dictionary))
    assert any(w.startswith("printer.cfg:") and "[adxl345]" in w
               and "not modelled" in w for w in warnings), warnings

