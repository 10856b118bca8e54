"""voron_probe_homing against Klipper's batch output: four Z steppers,
TMC2209 UART drivers (config_tmcuart, step on both edges with a 100 ns
pulse: invert_step=-1, 52 ticks at 520 MHz), sensorless X/Y homing on the
diag pins, Z homed on the probe through safe_z_home (z_hop before every
G28 while Z is unhomed), QUAD_GANTRY_LEVEL (4 points x 3 samples, zero
adjustments: one pass), SET_TMC_CURRENT/SET_TMC_FIELD/DUMP_TMC.
"""
import os
import sys

from klipsim.golden import reference

sys.path.insert(0, os.path.dirname(__file__))
from _reference_check import check_reference_case, compile_case  # noqa: E402
from _shared_corpus import requires_shared_reference  # noqa: E402


@requires_shared_reference
def test_voron_probe_homing_is_byte_identical(tmp_path):
    report = check_reference_case("voron_probe_homing", tmp_path, byte_identical=True)
    assert report.worst_us == 0.0


@requires_shared_reference
def test_voron_probe_homing_homing_blocks_match(tmp_path):
    """Same homing/probing commands as Klipper, in the same order per oid:
    18 trsync_start (G28 X, G28 Y, 2 x G28 Z, 12 probe samples), 68
    stepper_stop_on_trigger (2 per XY homing move, 4 Z steppers per
    probe move)."""
    case = reference.case("voron_probe_homing")
    out_path, result, errors, _ = compile_case(case, tmp_path)
    kinds = ("trsync_start", "stepper_stop_on_trigger", "trsync_set_timeout",
             "endstop_home", "config_tmcuart")

    def lines(path):
        with reference.open_text(str(path)) as f:
            return [l.rstrip("\n") for l in f if l.startswith(kinds)]
    ours, klippers = lines(out_path), lines(case.klipper_output)
    assert sum(l.startswith("trsync_start") for l in klippers) == 18
    assert sorted(ours) == sorted(klippers)


@requires_shared_reference
def test_trident_z_tilt_mesh_is_byte_identical(tmp_path):
    """Three Z steppers, [probe] (2 samples, average), Z_TILT_ADJUST (3
    points: zero adjustments, no adjusting moves, one pass), G28 Z on a
    physical endstop, then the bed mesh (host/bed_mesh.py)."""
    report = check_reference_case("trident_zTilt_mesh", tmp_path, byte_identical=True)
    assert report.worst_us == 0.0


@requires_shared_reference
def test_generic_cartesian_tmc_uart_is_byte_identical(tmp_path):
    """Four TMC2209 on one shared UART (uart_address 0-3: one
    config_tmcuart, bit_time 300 at 12 MHz), step on both edges with a
    1-tick pulse on the rp2040; z1 without a TMC section keeps 2 us."""
    check_reference_case("generic_cartesian_kin", tmp_path, byte_identical=True)


@requires_shared_reference
def test_slicer_orca_klipper_is_step_equivalent(tmp_path):
    """The voron printer printing a sliced file: PRINT_START's G28, QGL,
    G28 Z and BED_MESH_CALIBRATE ADAPTIVE=1 (probe positions after each
    probing move come from the steps taken, as Klipper's), TMC first
    enables waiting for the moves at the 4096-byte read boundaries."""
    report = check_reference_case("slicer_orca_klipper", tmp_path, byte_identical=False)
    assert report.worst_us < 25.0     # measured 24.4 us
