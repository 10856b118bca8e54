"""klipsim compile against Klipper's batch-mode output for the reference
cases of manual_stepper, dual_carriage and generic_cartesian (with the
G-code surface they use: SET_GCODE_OFFSET, GET_POSITION, M204 variants,
SET_PRINT_STATS_INFO, ...; generic_cartesian_kin also needs TMC2209 UART
and step-on-both-edges): step-equivalent, the same configuration block,
and byte-identical text."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _reference_check import check_reference_case  # noqa: E402
from _shared_corpus import requires_shared_reference  # noqa: E402

CASES = ["manual_stepper_misc", "idex_dual_carriage", "generic_cartesian_kin"]


@requires_shared_reference
@pytest.mark.parametrize("name", CASES)
def test_kin_case_matches_klipper(name, tmp_path):
    report = check_reference_case(name, tmp_path, byte_identical=True)
    assert report.equivalent and report.worst_us == 0.0
