"""[output_pin], [fan], [heater_fan], [controller_fan]: timing of SET_PIN
and M106/M107 derived from the motion (a lone move's trapezoid) and from
the documented queue rules (KLIPPER-FACTS.md 2.2: requests are timed at
the end of the queued moves, one pin is updated at most every 0.1 s,
requests due at once collapse into the last), plus Klipper's reference
lines per oid for the user_print_parts pins."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402

FREQ = 16000000                  # atmega2560
FAN_CYCLE_TICKS = 160000         # [fan] cycle_time 0.010 s
LIGHT_CYCLE_TICKS = 160000       # caselight cycle_time 0.010 s
START_TIME = 0.250               # first move after idle (BUFFER_TIME_START)
MAX_ACCEL = 3000.                # printer.cfg

EXTRA = """
[output_pin caselight]
pin: PH4
pwm: True
cycle_time: 0.010
value: 0

[output_pin beeper]
pin: PC0
value: 0
"""

HOME = "SET_KINEMATIC_POSITION X=100 Y=100 Z=5\n"


def config(fan_options="kick_start_time: 0.5\noff_below: 0.1\n", extra=EXTRA):
    text = base_config_text().replace("[fan]\npin: PH6\n", "[fan]\npin: PH6\n" + fan_options)
    assert fan_options in text
    return text + extra


def lone_move_time(distance, speed, accel=MAX_ACCEL):
    """Duration of a move from rest to rest (trapezoid or triangle)."""
    if speed * speed / accel >= distance:
        return 2. * (distance / accel) ** .5
    return 2. * speed / accel + (distance - speed * speed / accel) / speed


def clock(print_time):
    return int(print_time * FREQ)


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path, config())


def test_set_pin_timed_after_queued_moves(run):
    run.run(HOME + "G1 X200 F6000\nSET_PIN PIN=caselight VALUE=0.5\n")
    run.finish()
    oid = run.oid_of_pin("PH4")
    expected = clock(START_TIME + lone_move_time(100., 100.))
    # first line: the start-up value (0) queued at configuration
    assert run.outputs(oid)[1:] == [(expected, LIGHT_CYCLE_TICKS // 2)]


def test_updates_of_one_pin_are_spaced(run):
    run.run(HOME + "SET_PIN PIN=beeper VALUE=1\nG4 P50\nSET_PIN PIN=beeper VALUE=0\n"
            "G4 P300\nSET_PIN PIN=beeper VALUE=1\n")
    run.finish()
    (t1, v1), (t2, v2), (t3, v3) = run.outputs(run.oid_of_pin("PC0"))
    assert (v1, v2, v3) == (1, 0, 1)
    assert t1 == clock(START_TIME)
    assert t2 == clock(START_TIME + 0.100)        # not +0.050: 0.1 s spacing
    assert t3 == clock(START_TIME + 0.050 + 0.300)


def test_requests_due_together_collapse(run):
    run.run(HOME + "SET_PIN PIN=caselight VALUE=0.2\nSET_PIN PIN=caselight VALUE=0.7\n"
            "SET_PIN PIN=beeper VALUE=0\n")         # unchanged value: nothing sent
    run.finish()
    assert run.outputs(run.oid_of_pin("PH4"))[1:] == [
        (clock(START_TIME), int(0.7 * LIGHT_CYCLE_TICKS + 0.5))]
    assert run.outputs(run.oid_of_pin("PC0")) == []


def test_fan_kick_start_and_off_below(run):
    # M400 between the moves: each starts and ends at rest.
    run.run(HOME + "M106 S20\nG1 X110 F6000\nM400\nM106 S128\nG1 X200 F6000\nM400\nM107\n")
    run.finish()
    oid = run.oid_of_pin("PH6")
    t1 = START_TIME + lone_move_time(10., 100.)
    t2 = t1 + lone_move_time(90., 100.)
    assert run.outputs(oid)[1:] == [
        (clock(t1), FAN_CYCLE_TICKS),                              # kick: full power
        (clock(t1 + 0.5), int(128. / 255. * FAN_CYCLE_TICKS + 0.5)),
        (clock(t2), 0)]
    # S20 is below off_below (0.1 of 255): no line at START_TIME
    status = run.printer.objects["fan"].get_status()
    assert status["speed"] == 0.


def test_fan_off_at_end_of_run(run):
    run.run(HOME + "M106 S255\nG1 X200 F6000\n")
    run.finish()
    oid = run.oid_of_pin("PH6")
    assert run.end_time >= START_TIME + lone_move_time(100., 100.)
    assert run.outputs(oid)[1:] == [(clock(START_TIME), FAN_CYCLE_TICKS),
                                    (clock(run.end_time), 0)]


def test_fan_change_waits_for_kick_start(run):
    """Started from off, the fan runs at full power for kick_start_time
    (0.5 s here); the next update waits until the kick is over, and by
    then the M107 has been overridden by the later M106 S100."""
    run.run(HOME + "M106 S255\nG4 P10\nM107\nG4 P10\nM106 S100\n")
    run.finish()
    oid = run.oid_of_pin("PH6")
    assert run.outputs(oid)[1:] == [
        (clock(START_TIME), FAN_CYCLE_TICKS),
        (clock(START_TIME + 0.5), int(100. / 255. * FAN_CYCLE_TICKS + 0.5)),
        (clock(max(run.end_time, START_TIME + 0.5 + 0.1)), 0)]   # 0.1 s spacing


def test_heater_fan_timer_and_end(tmp_path):
    extra = "\n[heater_fan hotend_fan]\npin: PC1\nheater: extruder\n"
    run = Run(tmp_path, config(extra=extra))
    run.run(HOME + "M104 S200\nG1 X110 F6000\n")
    run.finish()
    lines = run.lines()
    oid = run.oid_of_pin("PC1")
    config_line = [l for l in lines if l.startswith("config_digital_out oid=%d " % oid)][0]
    assert "default_value=1" in config_line          # shutdown_speed 1 by default
    # the timer's request: estimated print time 0 offline -> clock 0;
    # off at the exit print time
    assert run.outputs(oid)[1:] == [(0, FAN_CYCLE_TICKS), (clock(run.end_time), 0)]


def test_controller_fan_sends_nothing_offline(tmp_path):
    """Its first check is 0.1 s of reactor time after start, which a batch
    run never reaches (Klipper's sensors_misc output has no line for its
    controller_fan after the start-up value)."""
    extra = "\n[controller_fan board]\npin: PC1\nidle_speed: 0.5\n"
    run = Run(tmp_path, config(extra=extra))
    run.run("M104 S200\n")           # a heater target would make it active
    run.finish()
    assert run.outputs(run.oid_of_pin("PC1"))[1:] == []


def test_controller_fan_idle_until_active():
    """The check itself: on while a heater has a target, then idle_speed."""
    from klipsim.host.heater_fan import ControllerFan
    fan = ControllerFan.__new__(ControllerFan)
    speeds = []
    fan.fan = type("F", (), {"set_speed": lambda self, v: speeds.append(v)})()
    fan.fan_speed, fan.idle_speed, fan.idle_timeout = 1., 0.5, 2
    fan.last_speed, fan.last_on = 0., 2
    heater = type("H", (), {"target": 200.})()
    fan.heaters, fan.enable_lines = [heater], []
    fan._check(0.)
    heater.target = 0.
    for _ in range(3):
        fan._check(0.)
    assert speeds == [1., 0.5, 0.]


def test_hardware_pwm_output_pin(tmp_path):
    extra = "\n[output_pin led]\npin: PB5\npwm: True\nhardware_pwm: True\ncycle_time: 0.002\n" \
            "value: 0.25\nshutdown_value: 0\n"
    run = Run(tmp_path, config(extra=extra))
    run.run(HOME + "SET_PIN PIN=led VALUE=0.5\n")
    lines = run.finish()
    pwm_max = run.dictionary.config["PWM_MAX"]
    oid = run.oid_of_pin("PB5")
    config_line = [l for l in lines if l.startswith("config_pwm_out")][0]
    assert config_line == ("config_pwm_out oid=%d pin=PB5 cycle_ticks=%d value=%d"
                           " default_value=0 max_duration=0"
                           % (oid, 0.002 * FREQ, int(0.25 * pwm_max)))
    assert run.outputs(oid, "queue_pwm_out") == [
        (clock(0.2), int(0.25 * pwm_max + 0.5)),      # start-up value at est + 0.2 s
        (clock(START_TIME), int(0.5 * pwm_max + 0.5))]


def test_output_pin_status_for_macros(run):
    run.run(HOME + "SET_PIN PIN=caselight VALUE=0.3\n")
    run.finish()
    assert run.printer.objects["output_pin caselight"].get_status() == {"value": 0.3}


PIN_COMMANDS = ("config_digital_out", "set_digital_out_pwm_cycle", "queue_digital_out")


def test_user_print_parts_pin_lines_match_klipper(tmp_path, monkeypatch):
    """Klipper's run of user_print_parts (PRINT_START/PRINT_END macros with
    SET_PIN, BEEP loops, FAN_RAMP, M106/M107 from the slicer, a heater_fan):
    the part fan, hotend fan, case light and beeper get exactly Klipper's
    queue_digital_out lines, per oid. PRINT_END reads
    printer.toolhead.position.z and axis_maximum, which Printer.status()
    does not give yet: they are added here from the case's printer.cfg."""
    import collections
    from klipsim.chelper.msgproto import load_dictionary
    from klipsim.golden import reference
    from klipsim.host import printer as printer_module
    from klipsim.sim.compile.batch import compile_gcode

    coord = collections.namedtuple("Coord", "x y z e")
    plain_status = printer_module.Printer.status

    def status_with_coords(self):
        status = plain_status(self)
        toolhead = status["toolhead"]
        toolhead["position"] = coord(*toolhead["position"])
        toolhead.setdefault("axis_maximum", coord(235., 235., 220., 0.))   # printer.cfg
        toolhead.setdefault("axis_minimum", coord(0., 0., -2., 0.))
        return status
    monkeypatch.setattr(printer_module.Printer, "status", status_with_coords)

    case = reference.case("user_print_parts")
    out_path = tmp_path / "out.txt"
    errors = []
    with open(out_path, "w") as out:
        compile_gcode(case.gcode, case.config, load_dictionary(case.dictionary), out,
                      warn=errors.append)
    assert not [e for e in errors if "macro" in e], errors[:3]

    def pin_lines(path, oids):
        with reference.open_text(str(path)) as f:
            return [l.rstrip("\n") for l in f
                    if l.split()[0] in PIN_COMMANDS and int(l.split()[1][4:]) in oids]
    oids = {12, 13, 14, 15}       # fan PA8, heater_fan PE5, caselight PD12, beeper PE8
    for oid in sorted(oids):
        ours = pin_lines(out_path, {oid})
        assert ours == pin_lines(case.klipper_output, {oid}), oid
        assert len(ours) >= 4     # config, (cycle,) start-up value, updates


def test_fan_generic_set_fan_speed(tmp_path):
    extra = "\n[fan_generic exhaust]\npin: PC1\nkick_start_time: 0\n"
    run = Run(tmp_path, config(extra=extra))
    run.run(HOME + "G1 X200 F6000\nSET_FAN_SPEED FAN=exhaust SPEED=0.25\n")
    run.finish()
    t_set = START_TIME + lone_move_time(100., 100.)
    assert run.outputs(run.oid_of_pin("PC1"))[1:] == [
        (clock(t_set), FAN_CYCLE_TICKS // 4),
        (clock(max(run.end_time, t_set + 0.1)), 0)]     # off at exit, 0.1 s spacing
    assert run.printer.status()["fan_generic exhaust"]["speed"] == 0.


def test_static_digital_output_config_commands(tmp_path):
    extra = "\n[static_digital_output leds]\npins: PC1, !PL5\n"
    run = Run(tmp_path, config(extra=extra))
    lines = run.finish()
    assert lines[1:3] == ["set_digital_out pin=PC1 value=1", "set_digital_out pin=PL5 value=0"]
    assert lines[0].startswith("allocate_oids")


def test_fan_tachometer_configures_a_counter(tmp_path):
    """tachometer_pin: config_counter (oid taken at creation) and its
    first query at the whole second after est + 1.5 s plus oid * 10 ms,
    polling every tachometer_poll_interval, reporting every second."""
    run = Run(tmp_path, config(fan_options="tachometer_pin: ^PC1\n", extra=""))
    lines = run.finish()
    config_line = [l for l in lines if l.startswith("config_counter")][0]
    oid = int(config_line.split("oid=")[1].split()[0])
    assert config_line == "config_counter oid=%d pin=PC1 pull_up=1" % oid
    query = [l for l in lines if l.startswith("query_counter")][0]
    assert query == ("query_counter oid=%d clock=%d poll_ticks=%d sample_ticks=%d"
                     % (oid, FREQ * 1 + int(oid * .01 * FREQ), int(0.0015 * FREQ), FREQ))
    assert run.printer.status()["fan"]["rpm"] is None


def test_led_set_led_timing_and_changed_channels(tmp_path):
    extra = ("\n[led status]\nred_pin: PC1\ngreen_pin: PL5\ninitial_GREEN: 0.5\n")
    run = Run(tmp_path, config(extra=extra))
    run.run(HOME + "G1 X200 F6000\nSET_LED LED=status RED=1 GREEN=0.5\n"
            "SET_LED LED=status RED=1 GREEN=0.5\nM400\nSET_LED LED=status GREEN=1 TRANSMIT=0\n"
            "SET_LED LED=status GREEN=0.25 SYNC=0\n")
    run.finish()
    red, green = run.oid_of_pin("PC1"), run.oid_of_pin("PL5")
    t_set = START_TIME + lone_move_time(100., 100.)
    # the unsynced update (est 0 + 0.1 s offline) waits until 0.1 s after
    # the LED's previous update; unspecified colours are 0
    assert run.outputs(red) == [(clock(0.2), 0), (clock(t_set), FAN_CYCLE_TICKS),
                                (clock(t_set + 0.1), 0)]
    # green: start-up 0.5, unchanged at t_set (nothing sent), then 0.25
    assert run.outputs(green) == [(clock(0.2), FAN_CYCLE_TICKS // 2),
                                  (clock(t_set + 0.1), FAN_CYCLE_TICKS // 4)]
    assert run.printer.status()["led status"] == {"color_data": [(0., 0.25, 0., 0.)]}


def test_neopixel_config_and_changed_bytes(tmp_path):
    """A chain of 7 GRB LEDs: 21 bytes; the initial colour sends every
    byte in runs of at most 16 grouped from the end (5 + 16); a SET_LED of
    LED 2 sends only its changed bytes, merged with gaps up to 5 bytes;
    no neopixel_send in file output. The oid is taken at load time, so
    the endstops and steppers loaded later get the following ones."""
    extra = ("\n[neopixel strip]\npin: PC1\nchain_count: 7\ninitial_RED: 0.5\n")
    text = config(extra="")
    text = text.replace("[stepper_x]", extra + "\n[stepper_x]", 1)
    run = Run(tmp_path, text)
    run.run(HOME + "SET_LED LED=strip RED=0.5 GREEN=1 BLUE=0.2 INDEX=2 SYNC=0\n"
            "SET_LED LED=strip RED=0.5 INDEX=3 TRANSMIT=0\n")
    lines = run.finish()
    config_line = [l for l in lines if l.startswith("config_neopixel")][0]
    oid = int(config_line.split("oid=")[1].split()[0])
    assert config_line == ("config_neopixel oid=%d pin=PC1 data_size=21 bit_max_ticks=%d"
                           " reset_min_ticks=%d" % (oid, 4e-6 * FREQ, 50e-6 * FREQ))
    endstop_oids = [int(l.split("oid=")[1].split()[0]) for l in lines
                    if l.startswith("config_endstop")]
    assert oid < min(endstop_oids)
    half = int(0.5 * 255 + .5)
    grb = bytes([0, half, 0])
    updates = [l for l in lines if l.startswith("neopixel_update")]
    assert updates == [
        "neopixel_update oid=%d pos=0 data=%r" % (oid, (grb * 7)[:5]),
        "neopixel_update oid=%d pos=5 data=%r" % (oid, (grb * 7)[5:]),
        # LED 2 is bytes 3..5 (G R B): G and B change, R stays
        "neopixel_update oid=%d pos=3 data=%r" % (oid, bytes([255, half, 51]))]
    assert not any(l.startswith("neopixel_send") for l in lines)
    assert run.printer.status()["neopixel strip"]["color_data"][1] == (0.5, 1., 0.2, 0.)
