"""Several steppers per axis, probes, [z_tilt], [quad_gantry_level],
[safe_z_home]'s lift, TMC drivers: unit tests on the bundled
cartesian_homing printer (atmega2560) and the bundled stm32f446 profile.

Expected values are derived by hand from Klipper's documents: Z step
distance 8 mm / (200 x 16) = 0.0025 mm; TMC UART bit time one bit at
9000 baud on AVR (16 MHz / 9000 = 1777 ticks) and 40000 baud elsewhere;
TMC step pulse 100 ns (1 tick at 16 MHz, 18 at 180 MHz), on both edges
only where the MCU has STEPPER_STEP_BOTH_EDGE and no optimized unstep.
"""
import io
import os
import re
import sys

from hypothesis import given, settings, strategies as st

from klipsim.chelper.msgproto import load_dictionary
from klipsim.golden import reference
from klipsim.host.probe import calc_probe_z_average
from klipsim.host.z_tilt import coordinate_descent
from klipsim.sim.compile.batch import compile_gcode

sys.path.insert(0, os.path.dirname(__file__))
from _compile_helpers import compile_files  # noqa: E402

CASE = reference.case("cartesian_homing")
Z_STEP = 8. / (200 * 16)

MULTI_Z = """
[stepper_z1]
step_pin: PC1
dir_pin: !PC3
enable_pin: !PC7
microsteps: 16
rotation_distance: 8

[stepper_z2]
step_pin: PL6
dir_pin: PL7
enable_pin: !PL5
microsteps: 16
rotation_distance: 8
"""

PROBE = """
[probe]
pin: ^PD2
z_offset: 1.0
speed: 5
samples: 3
sample_retract_dist: 2
samples_result: median
"""


def base_config(probe_z=False):
    text = open(CASE.config).read()
    if probe_z:
        text = text.replace("endstop_pin: ^PD3\nposition_endstop: 0.5\nposition_max: 200",
                            "endstop_pin: probe:z_virtual_endstop\nposition_min: -2\n"
                            "position_max: 200")
        assert "probe:z_virtual_endstop" in text
    return text


def compile_text(tmp_path, config, gcode, dictionary=None, allow_warnings=False):
    text, messages, result = compile_files(
        tmp_path, config, gcode, load_dictionary(dictionary or CASE.dictionary))
    assert result.errors == 0, messages
    if not allow_warnings:
        assert not messages, messages
    return text


def oid_of(text, pin):
    return int(re.search(r"config_stepper oid=(\d+) step_pin=%s " % pin, text).group(1))


def step_blocks(text, oid):
    """Signed step counts of stepper `oid` between homing/probing moves
    (a block ends at each trsync_start or endstop_home stop)."""
    blocks, current, direction = [], 0, 1
    for line in text.splitlines():
        if line.startswith("trsync_start") or (line.startswith("endstop_home")
                                               and " clock=0 " in line):
            blocks.append(current)
            current = 0
        m = re.match(r"set_next_step_dir oid=(\d+) dir=(\d)", line)
        if m and int(m.group(1)) == oid:
            direction = 1 if m.group(2) == "1" else -1
        m = re.match(r"queue_step oid=(\d+) interval=\d+ count=(\d+)", line)
        if m and int(m.group(1)) == oid:
            current += direction * int(m.group(2))
    blocks.append(current)
    return blocks


def per_oid(text, oid):
    return [l for l in text.splitlines()
            if re.match(r"(queue_step|set_next_step_dir) oid=%d " % oid, l)]


# ---- several steppers per axis ----------------------------------------------------
@settings(max_examples=6, deadline=None)
@given(st.lists(st.floats(min_value=0., max_value=40.), min_size=1, max_size=5))
def test_multi_z_axis_moves_all_steppers_by_the_same_steps(tmp_path_factory, targets):
    tmp_path = tmp_path_factory.mktemp("multiz")
    gcode = "SET_KINEMATIC_POSITION X=100 Y=100 Z=0\n" + "".join(
        "G1 Z%.3f F600\n" % z for z in targets)
    text = compile_text(tmp_path, base_config() + MULTI_Z, gcode)
    z, z1, z2 = (oid_of(text, p) for p in ("PL3", "PC1", "PL6"))
    lines_z = [l.replace("oid=%d " % z, "oid=# ") for l in per_oid(text, z)]
    lines_z2 = [l.replace("oid=%d " % z2, "oid=# ") for l in per_oid(text, z2)]
    assert lines_z == lines_z2                       # same pins' sense: same stream
    flipped = [l.replace("oid=%d " % z1, "oid=# ") for l in per_oid(text, z1)]
    flipped = [re.sub(r"dir=(\d)", lambda m: "dir=%d" % (1 - int(m.group(1))), l)
               for l in flipped]
    assert flipped == lines_z                        # !dir_pin: directions inverted
    assert abs(sum(step_blocks(text, z)) - targets[-1] / Z_STEP) <= 1.


def test_extra_stepper_shares_the_rail_endstop(tmp_path):
    text = compile_text(tmp_path, base_config() + MULTI_Z, "G28 Z\n")
    z, z1, z2 = (oid_of(text, p) for p in ("PL3", "PC1", "PL6"))
    stops = re.findall(r"stepper_stop_on_trigger oid=(\d+) trsync_oid=(\d+)", text)
    assert [int(o) for o, _ in stops[:3]] == [z, z1, z2]
    assert len({t for _, t in stops}) == 1
    assert text.count("config_endstop") == 3      # x, y, z: one for the rail


# ---- probes -------------------------------------------------------------------------
def test_samples_result_median_and_average():
    positions = [[0., 0., 1.], [2., 0., 3.], [4., 0., 2.]]
    assert calc_probe_z_average(positions, "median") == [4., 0., 2.]
    assert calc_probe_z_average(positions, "average") == [2., 0., 2.]
    even = positions + [[6., 0., 10.]]
    assert calc_probe_z_average(even, "median") == [3., 0., 2.5]   # mean of z=2 and z=3


def test_probe_homes_z_and_probes_to_position_min(tmp_path):
    """G28 homes Z on the probe: the move runs to position_min (-2) from
    z_offset + 1.5 x (200 - 1) and Z is then z_offset (1.0); G1 Z10 lifts
    9 mm; PROBE drives to -2 (12 mm) and retracts 2 mm between its 3
    samples (0.0025 mm per step)."""
    config = base_config(probe_z=True) + PROBE
    text = compile_text(tmp_path, config, "G28\nG1 Z10 F600\nPROBE\n")
    z = oid_of(text, "PL3")
    blocks = step_blocks(text, z)
    first_home = -round((1.5 * (200 - 1.) + 1. + 2.) / Z_STEP)
    assert first_home in blocks
    # second homing move: homing_retract_dist 5 mm up, then 10 + 3 mm down
    assert blocks[-9:-7] == [round(5 / Z_STEP), -round(13 / Z_STEP)]
    # lift 1 -> 10 | probe to -2 | retract 2 | probe | retract | probe | (nothing)
    assert blocks[-7:] == [round(9 / Z_STEP), -round(12 / Z_STEP), 800, -800, 800, -800, 0]


def test_probe_accuracy_and_query_probe_take_samples(tmp_path):
    config = base_config(probe_z=True) + PROBE
    text = compile_text(tmp_path, config,
                        "G28\nG1 Z5 F600\nPROBE_ACCURACY SAMPLES=4\nQUERY_PROBE\n")
    assert text.count("trsync_start") == 3 * 2 + 4   # X, Y, Z twice each; 4 readings
    z = oid_of(text, "PL3")
    # each reading: one sample from 5 (then from 0) down to -2, retract 2 mm
    assert step_blocks(text, z)[-8:] == [-2800, 800, -800, 800, -800, 800, -800, 800]


# ---- z_tilt and quad_gantry_level ---------------------------------------------------
def test_coordinate_descent_recovers_a_plane():
    points = [(x, y, 0.01 * x - 0.02 * y + 1.5) for x, y in
              ((10, 10), (150, 20), (80, 180), (30, 120))]

    def error(p):
        return sum((z - x * p["a"] - y * p["b"] - p["c"]) ** 2 for x, y, z in points)
    fit = coordinate_descent(("a", "b", "c"), {"a": 0., "b": 0., "c": 0.}, error)
    assert abs(fit["a"] - 0.01) < 1e-4 and abs(fit["b"] + 0.02) < 1e-4
    assert abs(fit["c"] - 1.5) < 1e-2


Z_TILT = """
[z_tilt]
z_positions:
    -50, 100
    250, 100
points:
    20, 100
    180, 100
horizontal_move_z: 8
speed: 100
"""


def test_z_tilt_adjust_probes_each_point_once(tmp_path):
    """Every point reads the same height offline: zero adjustments, one
    pass; the two Z steppers make the same steps."""
    config = base_config(probe_z=True) + PROBE + MULTI_Z.split("[stepper_z2]")[0] + Z_TILT
    text = compile_text(tmp_path, config, "G28\nZ_TILT_ADJUST\nG1 Z5 F600\n",
                        allow_warnings=True)
    assert text.count("trsync_start") == 3 * 2 + 2 * 3   # G28; 2 points x 3 samples
    z, z1 = oid_of(text, "PL3"), oid_of(text, "PC1")
    assert step_blocks(text, z) == [-n for n in step_blocks(text, z1)]


# ---- safe_z_home ---------------------------------------------------------------------
def test_safe_z_home_lift_is_the_gcode_position(tmp_path):
    """After G28 the nozzle is lifted to z_hop (10); a following XY move
    must not drive Z back down (Klipper: manual moves update the G-code
    position)."""
    config = base_config(probe_z=True) + PROBE + (
        "\n[safe_z_home]\nhome_xy_position: 100, 100\nz_hop: 10\n")
    text = compile_text(tmp_path, config, "G28\nG1 X50 Y50 F3000\n")
    z = oid_of(text, "PL3")
    lift_before_each_g28 = round(10 / Z_STEP)
    blocks = step_blocks(text, z)
    assert blocks[0] == lift_before_each_g28
    assert blocks[-1] == round((10 - 1.) / Z_STEP)   # from z_offset up to z_hop, no return


# ---- TMC drivers ---------------------------------------------------------------------
TMC_UART = """
[tmc2209 stepper_x]
uart_pin: ^PD4
uart_address: 0
run_current: 0.8
diag_pin: ^PE5

[tmc2209 stepper_y]
uart_pin: ^PD4
uart_address: 1
run_current: 0.8
"""


def test_tmc2209_shared_uart_on_avr(tmp_path):
    config = base_config().replace("endstop_pin: ^PE5",
                                   "endstop_pin: tmc2209_stepper_x:virtual_endstop")
    text = compile_text(tmp_path, config + TMC_UART,
                        "G28 X\nSET_TMC_CURRENT STEPPER=stepper_x CURRENT=0.5\n"
                        "SET_TMC_FIELD STEPPER=stepper_y FIELD=sgthrs VALUE=80\n"
                        "DUMP_TMC STEPPER=stepper_x\nINIT_TMC STEPPER=stepper_x\n")
    assert re.findall(r"config_tmcuart .*", text) == [
        "config_tmcuart oid=0 rx_pin=PD4 pull_up=1 tx_pin=PD4 bit_time=1777"]
    assert "config_endstop oid=1 pin=PE5 pull_up=1" in text      # the diag pin
    # AVR: optimized unstep, so no step on both edges; 100 ns = 1 tick
    assert re.search(r"config_stepper oid=\d+ step_pin=PF0 dir_pin=PF1 invert_step=0 "
                     r"step_pulse_ticks=1\b", text)
    assert re.search(r"step_pin=PL3 dir_pin=PL1 invert_step=0 step_pulse_ticks=32\b", text)
    assert "tmcuart_send" not in text


def test_tmc_steps_on_both_edges_on_stm32(tmp_path):
    config = base_config().replace("serial: /dev/ttyACM0", "serial: /dev/ttyACM0")
    pins = {"PF0": "PA0", "PF1": "PA1", "!PD7": "!PA2", "^PE5": "^PA3", "PF6": "PA4",
            "!PF7": "!PA5", "!PF2": "!PA6", "^PJ1": "^PA7", "PL3": "PB0", "PL1": "PB1",
            "!PK0": "!PB2", "^PD3": "^PB3", "PA4": "PC0", "PA6": "PC1", "!PA2": "!PC2",
            "PB4": "PC4", "PK5": "PC5", "PH5": "PD0", "PK6": "PD1", "PH6": "PD2"}
    lines = []
    for line in config.splitlines():
        key, sep, value = line.partition(": ")
        lines.append(key + sep + pins.get(value, value))
    config = "\n".join(lines) + "\n[tmc2209 stepper_x]\nuart_pin: PE0\nrun_current: 0.5\n" \
        "\n[tmc2130 stepper_y]\ncs_pin: PE1\nrun_current: 0.5\n" \
        "\n[tmc5160 stepper_z]\ncs_pin: PE2\nspi_software_sclk_pin: PE3\n" \
        "spi_software_mosi_pin: PE4\nspi_software_miso_pin: PE5\nrun_current: 0.5\n"
    text = compile_text(tmp_path, config, "G28\n", dictionary="stm32f446")
    # 40000 baud at 180 MHz: 4500 ticks a bit; SPI at 4 MHz: 45 ticks a clock
    assert "config_tmcuart oid=0 rx_pin=PE0 pull_up=0 tx_pin=PE0 bit_time=4500" in text
    assert re.search(r"config_spi oid=\d+ pin=PE1 cs_active_high=0", text)
    assert re.search(r"spi_set_bus oid=\d+ spi_bus=\S+ mode=3 rate=4000000", text)
    assert re.search(r"spi_set_sw_bus oid=\d+ miso_pin=PE5 mosi_pin=PE4 sclk_pin=PE3 "
                     r"mode=3 pulse_ticks=45", text)
    for step_pin in ("PA0", "PA4", "PB0"):
        assert re.search(r"step_pin=%s dir_pin=\S+ invert_step=4294967295 "
                         r"step_pulse_ticks=18\b" % step_pin, text)
    assert re.search(r"step_pin=PC0 dir_pin=PC1 invert_step=0 step_pulse_ticks=360\b", text)


# ---- homing across MCUs ----------------------------------------------------------------
def test_endstop_on_another_mcu_gets_a_trsync_on_each(tmp_path):
    """X's endstop on a toolhead MCU (rp2040, 12 MHz), its stepper on the
    main MCU (16 MHz): each MCU gets a trsync (Klipper's multi-MCU homing),
    both with the 25 ms multi-MCU expiry and reports every 0.3 x 25 ms
    (120000 ticks at 16 MHz, 90000 at 12 MHz), the second MCU's reports
    half a period later; the stepper stops on its own MCU's trsync."""
    config = base_config().replace("endstop_pin: ^PE5", "endstop_pin: ^ebb:gpio6")
    config += "\n[mcu ebb]\ncanbus_uuid: 0123456789ab\n"
    cfg, src = tmp_path / "printer.cfg", tmp_path / "in.gcode"
    cfg.write_text(config)
    src.write_text("G28 X\n")
    main, ebb = io.StringIO(), io.StringIO()
    compile_gcode(str(src), str(cfg), load_dictionary(CASE.dictionary), main,
                  others={"ebb": (load_dictionary("rp2040"), ebb)})
    main, ebb = main.getvalue(), ebb.getvalue()
    x = oid_of(main, "PF0")
    stop = re.search(r"stepper_stop_on_trigger oid=%d trsync_oid=(\d+)" % x, main)
    trsync = int(stop.group(1))
    assert "config_trsync oid=%d" % trsync in main
    start = re.search(r"trsync_start oid=%d report_clock=(\d+) report_ticks=120000 "
                      r"expire_reason=4" % trsync, main)
    expire = re.search(r"trsync_set_timeout oid=%d clock=(\d+)" % trsync, main)
    clock = int(start.group(1)) - 60000
    assert int(expire.group(1)) == clock + 400000          # 25 ms at 16 MHz
    assert "config_endstop oid=0 pin=gpio6 pull_up=1" in ebb
    home = re.search(r"endstop_home oid=0 clock=(\d+) .* trsync_oid=1 trigger_reason=1", ebb)
    ebb_clock = int(home.group(1))
    assert "trsync_start oid=1 report_clock=%d report_ticks=90000" % ebb_clock in ebb
    assert "trsync_set_timeout oid=1 clock=%d" % (ebb_clock + 300000) in ebb
    assert abs(ebb_clock / 12e6 - clock / 16e6) < 1e-6    # the same print time
    assert "stepper_stop_on_trigger" not in ebb


def test_z_tilt_applied_until_motors_off(tmp_path):
    """printer.z_tilt.applied: false before, true after Z_TILT_ADJUST,
    false again after M84 (Klipper's ZAdjustStatus)."""
    config = base_config(probe_z=True) + PROBE + MULTI_Z.split("[stepper_z2]")[0] + Z_TILT
    config += ("\n[gcode_macro SHOW]\ngcode:\n"
               "  G1 X{1 + (printer.z_tilt.applied|int)} F3000\n")
    text = compile_text(tmp_path, config,
                        "G28\nG1 X0 F3000\nSHOW\nZ_TILT_ADJUST\nG1 X0 F3000\nSHOW\n"
                        "M84\nSET_KINEMATIC_POSITION X=0 Y=0 Z=10\nSHOW\n",
                        allow_warnings=True)
    x = oid_of(text, "PF0")
    step = 40. / (200 * 16)
    assert text.count("trsync_start") == 12
    # after the last probe: X back to 0, SHOW to X2 (applied), M84, X set
    # to 0, SHOW to X1 (not applied any more): 2 + 1 mm of positive moves
    total_up = 0
    direction = 1
    for line in text.split("endstop_home")[-1].splitlines():
        m = re.match(r"set_next_step_dir oid=%d dir=(\d)" % x, line)
        if m:
            direction = 1 if m.group(1) == "1" else -1
        m = re.match(r"queue_step oid=%d interval=\d+ count=(\d+)" % x, line)
        if m and direction > 0:
            total_up += int(m.group(1))
    assert total_up == round((2 + 1) / step)
