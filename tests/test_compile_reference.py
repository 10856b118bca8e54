"""klipsim compile against the real Klipper's batch-mode output.

For every reference case whose features are implemented, compile the
case's input with its printer.cfg and data dictionary, then compare with
Klipper's klipper.txt through klipsim.golden.stepdiff: the same step count
and direction for every stepper and every step within 25 us (Klipper's
MAX_STEPCOMPRESS_ERROR; two valid compressions of the same ideal step
times are at most that far apart). Also checked: the configuration block
(allocate_oids .. finalize_config, which carries a CRC of the config) is
identical text, and the run reports no G-code errors.
"""
import os
import sys

import pytest

from klipsim.golden import reference

sys.path.insert(0, os.path.dirname(__file__))
from _reference_check import check_reference_case, compile_case  # noqa: E402

CORE_CASES = [
    "cartesian_arcs",
    "cartesian_basic",
    "cartesian_homing",
    "cartesian_speeds",
    "corexy_basic",
    "corexy_zigzag",
    "corexz_basic",
    "delta_arcs",
    "delta_basic",
    "deltesian_arcs",
    "hybrid_corexy_arcs",
    "hybrid_corexz_basic",
    "multi_extruder_tools",
    "pa_basic",
    "pa_zigzag",
    "polar_basic",
    "retract_exclude",
    "shaper_basic",
    "rotary_delta_arcs",
    "winch_basic",
]
PRINT_CASES = ["cartesian_print_cube", "corexy_print_cylinder", "corexy_print_long",
               "shaper_print_cube", "user_print_parts"]
# Cases whose text output is byte-identical to Klipper's (the long-term
# target for all): any change to them is a regression.
NOT_IDENTICAL = {"corexy_zigzag", "pa_zigzag", "shaper_print_cube", "user_print_parts"}


@pytest.mark.parametrize("name", CORE_CASES + PRINT_CASES)
def test_step_equivalent_to_klipper(name, tmp_path):
    check_reference_case(name, tmp_path, byte_identical=name not in NOT_IDENTICAL)


def test_step_totals_match_meta(tmp_path):
    """Per-stepper step totals equal those Klipper's run recorded."""
    case = reference.case("corexy_basic")
    _, result, _, _ = compile_case(case, tmp_path)
    expected = {name: info["total_steps"] for name, info in case.meta["steppers"].items()}
    assert result.steps == expected


def test_deterministic_bytes(tmp_path):
    case = reference.case("cartesian_basic")
    outputs = []
    for run in ("first", "second"):
        folder = tmp_path / run
        folder.mkdir()
        outputs.append(compile_case(case, folder)[0].read_bytes())
    assert outputs[0] == outputs[1]


def test_print_time_matches_klipper_exit_time(tmp_path):
    """Klipper logs the print time when batch input ends (meta.json)."""
    case = reference.case("cartesian_basic")
    _, result, _, _ = compile_case(case, tmp_path)
    assert round(result.print_time, 3) == case.meta["klippy_exit_print_time_s"]
