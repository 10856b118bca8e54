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

from klipsim.golden import reference
from klipsim.golden.stepdiff import diff_files
from klipsim.host import extras

sys.path.insert(0, os.path.dirname(__file__))
from _reference_check import check_reference_case, compile_case  # noqa: E402
from _shared_corpus import requires_shared_reference  # noqa: E402

BYTE_IDENTICAL = {"manual_stepper_misc"}
TMC_MODELLED = "tmc2209" not in extras.UNMODELLED


@requires_shared_reference
@pytest.mark.parametrize("name", ["manual_stepper_misc"])
def test_kin_case_matches_klipper(name, tmp_path):
    report = check_reference_case(name, tmp_path, byte_identical=name in BYTE_IDENTICAL)
    assert report.equivalent


@requires_shared_reference
def test_generic_cartesian_matches_klipper(tmp_path):
    name = "generic_cartesian_kin"
    if TMC_MODELLED:
        check_reference_case(name, tmp_path, byte_identical=False)
        return
    case = reference.case(name)
    out_path, result, errors, dictionary = compile_case(case, tmp_path)
    assert result.errors == 0, errors[:3]
    report = diff_files(case.klipper_output, str(out_path), dictionary.clock_freq)
    assert report.equivalent, report.verdict()
    assert report.worst_us <= 25.0
    # The extra Z carriage moves exactly as the primary one (one Z move set).
    steps = {name: n for name, n in result.steps.items()}
    assert steps["stepper z"] == steps["stepper z1"] == 266280
