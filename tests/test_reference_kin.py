"""klipsim compile against Klipper's batch-mode output for the reference
cases of manual_stepper, dual_carriage and generic_cartesian (with the
G-code surface they use: SET_GCODE_OFFSET, GET_POSITION, M204 variants,
SET_PRINT_STATS_INFO, ...): step-equivalent, the same configuration
block, and byte-identical where listed.

generic_cartesian_kin's steppers have TMC2209 sections (config_tmcuart,
step-on-both-edges config_stepper), which another part of klipsim
models: until [tmc2209] is modelled only its steps are compared."""
import os
import sys

import pytest

from klipsim.host import extras

sys.path.insert(0, os.path.dirname(__file__))
from _reference_check import check_reference_case  # noqa: E402
from _shared_corpus import requires_shared_reference  # noqa: E402

BYTE_IDENTICAL = {"manual_stepper_misc", "idex_dual_carriage"}
TMC_MODELLED = "tmc2209" not in extras.UNMODELLED


@requires_shared_reference
@pytest.mark.parametrize("name", ["manual_stepper_misc", "idex_dual_carriage"])
def test_kin_case_matches_klipper(name, tmp_path):
    report = check_reference_case(name, tmp_path, byte_identical=name in BYTE_IDENTICAL)
    assert report.equivalent


@requires_shared_reference
def test_generic_cartesian_matches_klipper(tmp_path):
    report = check_reference_case("generic_cartesian_kin", tmp_path, byte_identical=False,
                                  config_block_same=TMC_MODELLED)
    assert report.equivalent
