"""Numbers at the edges (issue 12): every config option and G-code
parameter that is nan, infinite or absurd is refused in one line naming
its place, and a move, arc or dwell beyond klipsim's resource bounds
(host/bounds.py) is one G-code error, never a hang, a crash or a
silently wrong stream.

Each case is one of the failures an outside fuzzer found; the bundled
example printer (examples/printer.cfg, a CoreXY) is edited per case."""
import io
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from klipsim.chelper import motion
from klipsim.chelper.msgproto import load_profile
from klipsim.gcode.command import finite_float, parse_line
from klipsim.gcode.errors import GCodeError
from klipsim.host import bounds
from klipsim.host.configfile import ConfigError
from klipsim.host.mcu import MCUError
from klipsim.sim.compile.batch import compile_gcode

sys.path.insert(0, os.path.dirname(__file__))
from _compile_helpers import compile_files  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "printer.cfg"
BASE = EXAMPLE.read_text()
SHAPER = "\n[input_shaper]\nshaper_freq_x: 50\nshaper_freq_y: 50\n"


def edited(section, option, value, extra=""):
    """The example config with `option` of [section] set to value (added
    when absent)."""
    pattern = re.compile(r"(\[%s\][^\[]*?)^%s:.*$" % (re.escape(section), re.escape(option)),
                         re.M)
    if pattern.search(BASE):
        text = pattern.sub(lambda m: m.group(1) + "%s: %s" % (option, value), BASE, count=1)
    else:
        text = BASE.replace("[%s]\n" % section, "[%s]\n%s: %s\n" % (section, option, value), 1)
    return text + extra


def run(tmp_path, config_text, gcode="G28\nG1 X10 Y10 F3000\n"):
    """(stream text, [G-code error lines]); ConfigError propagates."""
    text, errors, _ = compile_files(tmp_path, config_text, gcode, load_profile("stm32f446"))
    return text, errors


def config_error(tmp_path, config_text):
    with pytest.raises((ConfigError, MCUError)) as info:
        run(tmp_path, config_text)
    return str(info.value)


# -- config options ---------------------------------------------------------
@pytest.mark.parametrize("section, option, value, line_of", [
    ("extruder", "pressure_advance_smooth_time", "nan", "pressure_advance_smooth_time"),
    ("printer", "max_accel", "nan", "max_accel"),
    ("extruder", "min_temp", "nan", "min_temp"),
    ("extruder", "pressure_advance", "nan", "pressure_advance"),
    ("printer", "max_velocity", "inf", "max_velocity"),
    ("stepper_x", "rotation_distance", "1e309", "rotation_distance"),
])
def test_non_finite_option_is_unparsable(tmp_path, section, option, value, line_of):
    text = edited(section, option, value)
    message = config_error(tmp_path, text)
    lineno = next(i for i, line in enumerate(text.split("\n"), 1)
                  if line.startswith(line_of + ":"))
    assert message == ("printer.cfg:%d: Unable to parse option '%s' in section '%s'"
                       " as a number: '%s'" % (lineno, option, section, value))


@pytest.mark.parametrize("section, option, value, expected", [
    ("stepper_x", "rotation_distance", "1e-300", "step distance 3.125e-304 is below"),
    ("extruder", "gear_ratio", "1:0", "Invalid gear_ratio '1:0': both gears must be above 0"),
    ("extruder", "gear_ratio", "0:1", "Invalid gear_ratio '0:1': both gears must be above 0"),
    ("extruder", "filament_diameter", "1e308",
     "Option 'filament_diameter' in section 'extruder' must be between -1e+15 and 1e+15"),
    ("stepper_x", "position_max", "1e308",
     "Option 'position_max' in section 'stepper_x' must be between -1e+15 and 1e+15"),
    ("stepper_x", "position_max", "1e12",
     "Option 'position_max' in section 'stepper_x' must have maximum of 1000000000.0"),
    ("stepper_x", "enable_pin", "255", "pin '255' is not a pin of MCU 'mcu'"),
    ("stepper_x", "step_pin", "255", "pin '255' is not a pin of MCU 'mcu'"),
    ("stepper_x", "enable_pin", "1:PF14", "unknown MCU '1'"),
    ("stepper_x", "step_pin", "^PF13",
     "Option 'step_pin' in section 'stepper_x': Pin '^PF13': pull-up/pull-down ('^')"
     " is not allowed here"),
])
def test_absurd_option_is_refused_at_its_line(tmp_path, section, option, value, expected):
    text = edited(section, option, value)
    message = config_error(tmp_path, text)
    lineno = next(i for i, line in enumerate(text.split("\n"), 1)
                  if line == "%s: %s" % (option, value))
    assert message.startswith("printer.cfg:%d: " % lineno), message
    assert expected in message


def test_microsteps_beyond_any_driver(tmp_path):
    """2^32 microsteps once tried to allocate 2.6 GiB; the step distance
    names the stepper's rotation_distance line (the options multiply)."""
    text = edited("stepper_x", "microsteps", "4294967296")
    message = config_error(tmp_path, text)
    lineno = text.split("\n").index("rotation_distance: 40") + 1
    assert message.startswith("printer.cfg:%d: [stepper_x] step distance 4.65661e-11"
                              " is below klipsim's bound of 1e-08" % lineno)


@pytest.mark.parametrize("extra, expected", [
    ("damping_ratio_x: 1\n", "Option 'damping_ratio_x' in section 'input_shaper' must be below 1.0"),
    ("shaper_freq_x: nan\n", "Unable to parse option 'shaper_freq_x'"),
    ("shaper_freq_x: 1e-300\n", "the mzv shaper would last 7.53778e+299 s, more than"
                                " klipsim's bound of 86400 s"),
])
def test_input_shaper_options(tmp_path, extra, expected):
    text = BASE + SHAPER + extra    # a later option overrides the earlier one
    assert expected in config_error(tmp_path, text)


def test_delta_radius_beyond_arm_length(tmp_path):
    # 1e309 is inf (unparsable); a finite radius beyond the arms has no
    # geometry (Klipper itself fails with a math domain error).
    from klipsim.golden import reference
    case = reference.case("delta_basic")
    text = Path(case.config).read_text()
    for value, expected in (("1e309", "Unable to parse option 'delta_radius'"),
                            ("1e14", "delta_radius 1e+14 must be below every arm_length")):
        cfg = tmp_path / "printer.cfg"
        cfg.write_text(re.sub(r"^delta_radius:.*$", "delta_radius: " + value, text, flags=re.M))
        src = tmp_path / "in.gcode"
        src.write_text("G28\n")
        from klipsim.chelper.msgproto import load_dictionary
        with pytest.raises(ConfigError) as info:
            compile_gcode(str(src), str(cfg), load_dictionary(case.dictionary), io.StringIO())
        assert expected in str(info.value)


# -- G-code parameters and resource bounds ------------------------------------
BIG = "1" + "0" * 30       # classic G-code splits "1e30" into P=1, E=30


@pytest.mark.parametrize("config_extra, gcode, expected", [
    ("", "SET_KINEMATIC_POSITION X=nan\n", "in.gcode:1: Unable to parse X=nan as a number"),
    ("", "SET_KINEMATIC_POSITION Z=-inf\n", "in.gcode:1: Unable to parse Z=-inf as a number"),
    ("", "SET_KINEMATIC_POSITION X=1e308\n",
     "in.gcode:1: X must be between -1e+15 and 1e+15 (klipsim's bound on any number)"),
    ("", "SET_KINEMATIC_POSITION X=1e12\n",
     "in.gcode:1: Position 1e+12 0 0 0 is beyond klipsim's bound of +-1e+09"),
    ("", "G28\nG92 X100000000000\nG1 X10\n",
     "in.gcode:3: Position -1e+11 0 0 0 is beyond klipsim's bound of +-1e+09"),
    ("", "G28\nSET_VELOCITY_LIMIT VELOCITY=1e-30\nG1 X10\n",
     "in.gcode:3: Move would take 1e+31 s, more than klipsim's bound of 86400 s"),
    ("", "G28\nG1 X50 Y50\nSET_VELOCITY_LIMIT VELOCITY=1e-30\nG2 X60 Y50 I5 J0\n",
     "in.gcode:4: Move would take"),
    ("", "SET_VELOCITY_LIMIT VELOCITY=1e-30\nG28\n", "in.gcode:2: Homing move would take"),
    ("", "G28\nG1 X50 Y50\nG2 X60 Y50 I1000000000000 J0\n",
     "in.gcode:3: Arc needs 1.25664e+13 segments, more than klipsim's bound of 1000000"),
    ("", "G28\nG4 P%s\n" % BIG[:15], "in.gcode:2: Dwell would take 1e+11 s, more than"
                                       " klipsim's bound of 86400 s"),
    ("", "G28\nG4 P%s\n" % BIG[:27], "in.gcode:2: P must be between -1e+15 and 1e+15"),
    ("\n[gcode_macro T9]\ngcode:\n  G4 P{10**30}\n", "G28\nT9\n",
     "in.gcode:2: macro T9:2: P must be between -1e+15 and 1e+15"),
    ("\n[gcode_macro T9]\ngcode:\n  G4 P{10**14}\n", "G28\nT9\n",
     "in.gcode:2: macro T9:2: Dwell would take 1e+11 s"),
    ("", "G28\nSET_PRESSURE_ADVANCE SMOOTH_TIME=nan\n",
     "in.gcode:2: Unable to parse SMOOTH_TIME=nan as a number"),
    (SHAPER, "G28\nSET_INPUT_SHAPER SHAPER_FREQ_X=nan\n",
     "in.gcode:2: Unable to parse SHAPER_FREQ_X=nan as a number"),
    (SHAPER, "G28\nSET_INPUT_SHAPER SHAPER_FREQ_X=1e-30\n", "in.gcode:2: shaper_freq_x 1e-30"),
    ("", "G28\nSET_VELOCITY_LIMIT ACCEL=1e300\n",
     "in.gcode:2: ACCEL must be between -1e+15 and 1e+15"),
    ("", "G28\nG1 X%s\n" % ("9" * 320), "in.gcode:2: Unable to parse move"),
    ("", "SET_EXTRUDER_ROTATION_DISTANCE EXTRUDER=extruder DISTANCE=1e-300\n",
     "in.gcode:1: DISTANCE=1e-300: step distance"),
])
def test_gcode_edge_is_one_error_line(tmp_path, config_extra, gcode, expected):
    _stream, errors = run(tmp_path, BASE + config_extra, gcode)
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_refused_homing_move_arms_no_endstop(tmp_path):
    stream, errors = run(tmp_path, BASE, "SET_VELOCITY_LIMIT VELOCITY=1e-30\nG28\n")
    assert len(errors) == 1 and "Homing move would take" in errors[0]
    assert "endstop_home" not in stream and "trsync_start" not in stream


def test_refused_shaper_change_keeps_the_old_shaper(tmp_path):
    stream_ok, _ = run(tmp_path, BASE + SHAPER, "G28\nG1 X100 Y50 F6000\n")
    stream, errors = run(tmp_path, BASE + SHAPER,
                         "G28\nSET_INPUT_SHAPER SHAPER_FREQ_X=1e-30\nG1 X100 Y50 F6000\n")
    assert len(errors) == 1
    assert stream == stream_ok


def test_numbers_must_be_finite():
    assert finite_float("1e3") == 1000.
    for text in ("nan", "NaN", "inf", "-Infinity", "1e309"):
        with pytest.raises(ValueError):
            finite_float(text)
    cmd = parse_line("SET_VELOCITY_LIMIT VELOCITY=nan")
    with pytest.raises(Exception, match="Unable to parse VELOCITY=nan as a number"):
        cmd.get_float("VELOCITY")


def test_bounds_are_beyond_real_printers():
    # A 2 mm lead screw, 0.9 degree motor, 256 microsteps, 5:1 gearing:
    assert 2. / (400 * 256 * 5) > 100 * bounds.MIN_STEP_DISTANCE
    # A full circle of 1 m radius at 0.01 mm resolution:
    assert 2 * math.pi * 1000. / 0.01 < bounds.MAX_ARC_SEGMENTS
    assert bounds.step_distance_problem(float("nan")) is not None
    assert not bounds.coordinate_ok(float("nan"))


# -- the C side never sees what would crash it ---------------------------------
def test_c_setters_refuse_non_finite_values():
    extruder = motion.extruder_stepper()
    with pytest.raises(motion.MotionError):
        extruder.set_pressure_advance(0.05, float("nan"))
    with pytest.raises(motion.MotionError):
        extruder.set_pressure_advance(float("inf"), 0.04)
    shaped = motion.input_shaper(motion.cartesian_stepper("x"))
    with pytest.raises(motion.MotionError):
        shaped.set_shaper("x", [1., 1.], [0., 1e300])
    with pytest.raises(motion.MotionError):
        motion.delta_stepper(float("nan"), 0., 0.)


def test_step_rate_bound_in_c():
    """10 mm in 1 ms at 1e-6 mm/step is 1e10 steps/s: refused after at
    most MAX_STEP_RATE * 1 ms + burst steps, not solved for minutes."""
    tq = motion.TrapQ()
    sk = motion.cartesian_stepper("x")
    sk.set_trapq(tq)
    sc = motion.StepCompress(oid=2, max_error_ticks=400)
    sc.set_time(0., 16e6)
    sk.set_stepcompress(sc, 1e-6)
    sk.set_position(0., 0., 0.)
    tq.append(0.25, 0., 0.001, 0., (0., 0., 0.), (1., 0., 0.), 10000., 10000., 0.)
    with pytest.raises(motion.MotionError, match="steps faster than 10000000 per second"):
        sk.generate_steps(0.3)


def test_step_rate_bound_is_a_gcode_error(tmp_path):
    """rotation_distance 0.0002 passes the step-distance bound (6.25e-8 mm)
    but homing at 50 mm/s would step 8e8 times a second: one G-code error
    naming the stepper, reported once per stepper, not an internal error."""
    text = edited("stepper_x", "rotation_distance", "0.0002")
    cfg, src = tmp_path / "printer.cfg", tmp_path / "in.gcode"
    cfg.write_text(text)
    src.write_text("G28 X\nG1 X10 F600\n")
    errors = []
    try:
        compile_gcode(str(src), str(cfg), load_profile("stm32f446"), io.StringIO(),
                      warn=errors.append)
    except GCodeError as e:      # the other CoreXY stepper, at the final flush
        errors.append(str(e))
    assert errors[0] == ("in.gcode:1: stepper_x: steps faster than 10000000 per second"
                         " (at step distance 6.25e-08)")
    assert all("steps faster than 10000000 per second" in e for e in errors)
    assert len([e for e in errors if "stepper_x" in e]) == 1


def test_absurd_speed_hits_the_step_rate_bound(tmp_path):
    """1e14 mm/s at 80 steps/mm: refused, not billions of steps solved."""
    with pytest.raises(GCodeError, match="stepper_x: steps faster than 10000000 per second"
                                         r" \(at step distance 0.0125\)"):
        run(tmp_path, BASE, "G28\nSET_VELOCITY_LIMIT VELOCITY=1e14 ACCEL=1e14\n"
                            "G1 X100 F6000000000000000\n")


def test_pressure_advance_nan_segfault_is_a_config_error(tmp_path):
    """The fuzzer's segfault, in a child process so a crash can not take
    the test run down: exit 1 with one line, not SIGSEGV."""
    cfg = tmp_path / "printer.cfg"
    cfg.write_text(edited("extruder", "pressure_advance_smooth_time", "nan"))
    src = tmp_path / "in.gcode"
    src.write_text("G28\nG1 X10 E1 F1200\n")
    proc = subprocess.run([sys.executable, "-m", "klipsim.cli", "compile", str(src),
                           "--config", str(cfg), "-o", str(tmp_path / "out.txt")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Unable to parse option 'pressure_advance_smooth_time'" in proc.stderr
