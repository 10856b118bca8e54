"""Heater control on the host, without a simulation: analog_in_state
decoding, the thermistor inverse, PID and watermark laws, set_pwm's
send/suppress/refresh rules (KLIPPER-FACTS 2.7) and the temperature
G-codes in compile mode (no waits, no output: Klipper's batch mode).

Expected values are worked out here from the documented rules, not read
back from the code under test."""
import math
import os
import sys

import pytest
from hypothesis import given, settings, strategies as st

from klipsim.host.heater_control import ControlPID, ControlWatermark
from klipsim.host.heaters import MAX_HEAT_TIME, REPORT_TIME
from klipsim.host.thermistor import SENSORS, make_thermistor

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402

GCODE_MOVES = ("SET_KINEMATIC_POSITION X=100 Y=100 Z=10\nG90\nM83\n"
               "G1 X120 Y100 F6000\nG1 X120 Y130 E2\nG1 X100 Y100 E2\n")


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path, base_config_text())


def recorded_pwm(heater):
    """Replace the heater pin's set_pwm by a recorder of (time, value)."""
    sent = []
    heater.pwm.set_pwm = lambda print_time, value: sent.append((print_time, value))
    return sent


# ---- thermistor -----------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(SENSORS)), temp=st.floats(-20., 350.),
       pullup=st.sampled_from([4700., 2200., 1000.]), inline=st.sampled_from([0., 150.]))
def test_calc_temp_inverts_calc_adc(name, temp, pullup, inline):
    thermistor = make_thermistor(name, pullup, inline)
    assert thermistor.calc_temp(thermistor.calc_adc(temp)) == pytest.approx(temp, abs=1e-6)


# ---- analog_in_state -> reading ---------------------------------------------
def test_analog_report_gives_temperature_and_read_time(run):
    heater = run.printer.heaters.lookup("extruder")
    mcu, adc = heater.adc.mcu, heater.adc
    recorded_pwm(heater)
    rest = int(REPORT_TIME * run.freq)
    start = adc.next_clock - rest                      # the first reading's start
    adc_max = mcu.get_constant("ADC_MAX")
    fraction = heater.thermistor.calc_adc(150.)
    total = round(fraction * adc_max) * 8               # 8 samples summed
    args = {"oid": adc.oid, "next_clock": (start + rest) & 0xffffffff,
            "values": bytes((total & 0xff, total >> 8))}
    assert mcu.handle_response("analog_in_state", args)
    # FACTS 2.7: read_time = sample start + 8 ms
    assert heater.last_temp_time == pytest.approx(start / run.freq + 0.008, abs=1e-12)
    assert heater.last_temp == pytest.approx(150., abs=0.5)   # 12-bit ADC resolution
    # the first reading sets the smoothed temperature outright
    assert heater.smoothed_temp == heater.last_temp


def test_report_clock_is_extended_past_32_bits(run):
    heater = run.printer.heaters.lookup("extruder")
    recorded_pwm(heater)
    adc, rest = heater.adc, heater.adc.rest_ticks
    adc.next_clock = (5 << 32) - rest // 2        # the expected report straddles a wrap
    wrapped = ((5 << 32) + rest // 2) & 0xffffffff
    total = 8 * 2000
    adc.mcu.handle_response("analog_in_state", {
        "oid": adc.oid, "next_clock": wrapped, "values": bytes((total & 0xff, total >> 8))})
    expected_start = (5 << 32) + rest // 2 - rest
    assert heater.last_temp_time == pytest.approx(expected_start / run.freq + 0.008)


def test_unsubscribed_response_is_not_handled(run):
    mcu = run.printer.hw.main_mcu
    assert not mcu.handle_response("analog_in_state", {"oid": 99, "next_clock": 0,
                                                       "values": b"\0\0"})


# ---- set_pwm rules ------------------------------------------------------------
def test_set_pwm_sends_suppresses_and_refreshes(run):
    heater = run.printer.heaters.lookup("extruder")
    sent = recorded_pwm(heater)
    heater.set_target(200.)
    heater.stats(0.)              # batch clock: estimated print time 0 -> alive until 5 s
    heater.set_pwm(1.0, 0.5)
    assert sent == [(1.0 + 0.3, 0.5)]                  # pwm_delay 0.300 s
    heater.set_pwm(1.3, 0.54)                          # < 5 % change: kept back
    heater.set_pwm(1.6, 0.56)                          # >= 5 %: sent
    assert sent[-1] == (pytest.approx(1.9), 0.56) and len(sent) == 2
    # refresh due at pwm_time + 3.0 - (3 * 0.3 + 0.001) = 1.9 + 2.099
    refresh = 1.9 + MAX_HEAT_TIME - (3 * REPORT_TIME + 0.001)
    heater.set_pwm(refresh - 0.01, 0.56)
    assert len(sent) == 2
    heater.set_pwm(refresh + 0.01, 0.56)
    assert len(sent) == 3 and sent[-1][1] == 0.56


def test_stalled_main_thread_forces_the_heater_off_and_off_needs_no_refresh(run):
    heater = run.printer.heaters.lookup("extruder")
    sent = recorded_pwm(heater)
    heater.set_target(200.)
    heater.stats(0.)                                   # verify until 5.0
    heater.set_pwm(4.9, 0.8)
    heater.set_pwm(5.1, 0.8)                           # main thread silent for > 5 s
    assert [v for _t, v in sent] == [0.8, 0.]
    for read_time in (5.4, 8.0, 20.0):                 # off: nothing more to send
        heater.set_pwm(read_time, 0.8)
    assert len(sent) == 2


def test_no_target_no_output(run):
    heater = run.printer.heaters.lookup("extruder")
    sent = recorded_pwm(heater)
    heater.stats(0.)
    for k in range(10):
        heater.temperature_callback(1. + .3 * k, 25.)
    assert sent == []


# ---- control laws -------------------------------------------------------------
def test_pid_terms_by_hand():
    # Kp 255 -> 1 per degree; Ki/Kd 0: duty = error, clamped to max_power
    pid = ControlPID(255., 0., 0., max_power=0.8, smooth_time=1.)
    assert pid.update(1., 199.7, 200.) == pytest.approx(0.3)
    assert pid.update(2., 150., 200.) == 0.8
    # derivative smoothed over smooth_time 2 s: a 1 C rise in 1 s from a
    # flat start reads as 0.5 C/s
    pid = ControlPID(0., 0., 255., max_power=1., smooth_time=2.)
    pid.update(10., 100., 0.)
    pid.prev_deriv = 0.
    pid.update(11., 101., 0.)
    assert pid.prev_deriv == pytest.approx(0.5)


def test_pid_integral_is_clamped_and_not_wound_up():
    # Ki 25.5 -> 0.1 per degree-second; the integral is capped at
    # max_power / Ki = 10 degree-seconds
    pid = ControlPID(0., 25.5, 0., max_power=1., smooth_time=1.)
    pid.update(0., 190., 200.)
    pid.update(1., 190., 200.)                         # integral 10: duty 1.0 exactly
    assert pid.prev_integ == pytest.approx(10.)
    pid.update(2., 190., 200.)
    assert pid.prev_integ == pytest.approx(10.)        # capped
    # Kp 255 saturates the output: the integral stays where it was
    pid = ControlPID(255., 25.5, 0., max_power=1., smooth_time=1.)
    pid.update(0., 190., 200.)
    pid.update(1., 190., 200.)
    assert pid.prev_integ == 0.


def test_pid_settles_on_a_first_order_plant():
    """Klipper's example extruder gains on a 3 C/s, 120 s plant read every
    0.3 s: within 2 C of the target after 200 s and stays there."""
    pid = ControlPID(22.2, 1.08, 114., max_power=1., smooth_time=1.)
    temp, duty, errors = 25., 0., []
    for k in range(2000):
        t = k * 0.3
        steady = 25. + 360. * duty
        temp = steady + (temp - steady) * math.exp(-0.3 / 120.)
        duty = pid.update(t, temp, 200.)
        if t > 200.:
            errors.append(abs(temp - 200.))
    assert max(errors) < 2.


def test_watermark_switches_at_target_plus_minus_delta():
    control = ControlWatermark(max_delta=2., max_power=0.6)
    temps = [50., 57., 58., 61., 62., 60., 58.1, 58., 59.]
    duties = [control.update(0., t, 60.) for t in temps]
    assert duties == [0.6, 0.6, 0.6, 0.6, 0., 0., 0., 0.6, 0.6]
    assert control.check_busy(57.9, 60.) and not control.check_busy(58., 60.)


def test_pid_busy_until_settled():
    pid = ControlPID(22.2, 1.08, 114., max_power=1., smooth_time=1.)
    pid.prev_deriv = 0.
    assert pid.check_busy(198.9, 200.)
    assert not pid.check_busy(199.1, 200.)
    pid.prev_deriv = 0.2
    assert pid.check_busy(200., 200.)


# ---- G-code in compile mode --------------------------------------------------
def test_waits_add_nothing_in_compile_mode(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = Run(tmp_path / "a", base_config_text())
    plain.run(GCODE_MOVES)
    heated = Run(tmp_path / "b", base_config_text())
    heated.run("M140 S60\nM190 S60\nM104 S200\nM109 S200\n"
               "TEMPERATURE_WAIT SENSOR=extruder MINIMUM=190\n"
               "SET_HEATER_TEMPERATURE HEATER=heater_bed TARGET=70\n" + GCODE_MOVES)
    assert heated.errors() == []
    assert heated.printer.heaters.lookup("extruder").target == 200.
    assert heated.printer.heaters.lookup("heater_bed").target == 70.
    assert heated.finish() == plain.finish()


def test_temperature_command_errors(run):
    run.run("TEMPERATURE_WAIT SENSOR=extruder\nTEMPERATURE_WAIT SENSOR=nope MINIMUM=1\n"
            "SET_HEATER_TEMPERATURE HEATER=extruder TARGET=400\nM104 T3 S200\nM104 T3 S0\n")
    errors = run.errors()
    assert len(errors) == 4, errors
    assert "missing MINIMUM or MAXIMUM" in errors[0]
    assert "Unknown sensor 'nope'" in errors[1]
    assert "out of range" in errors[2]
    assert "Extruder not configured" in errors[3]
    assert all(e.startswith("test.gcode:") for e in errors)
