"""The simulated heaters' thermal plants (sim/mcus/thermal.py): the first-order
model's closed form, pin inversion, and the ADC value through the
heater's thermistor curve."""
import math

import pytest

from klipsim.host.thermistor import make_thermistor
from klipsim.sim.mcus.thermal import AMBIENT_TEMP, BED, HOTEND, HeaterPlant

FREQ = 16_000_000
ADC_MAX = 1023


def plant(kind=HOTEND, invert=False):
    return HeaterPlant("extruder", kind, heater_pin=3, invert=invert, sensor_pin=5,
                       thermistor=make_thermistor("EPCOS 100K B57560G104F"),
                       adc_max=ADC_MAX, clock_freq=FREQ)


def test_full_power_step_response_is_the_first_order_solution():
    p = plant()
    p.pin_level(0, 1)
    p.step_to(60 * FREQ)
    gain, tau = HOTEND.rate * HOTEND.tau, HOTEND.tau
    assert p.temp == pytest.approx(AMBIENT_TEMP + gain * (1. - math.exp(-60. / tau)), rel=1e-12)
    # the initial slope is the documented heating rate
    q = plant()
    q.pin_level(0, 1)
    q.step_to(FREQ // 100)
    assert (q.temp - AMBIENT_TEMP) / 0.01 == pytest.approx(HOTEND.rate, rel=1e-3)


def test_integration_does_not_depend_on_the_update_steps():
    coarse, fine = plant(BED), plant(BED)
    for p in (coarse, fine):
        p.pin_level(0, 1)
    coarse.step_to(10 * FREQ)
    for k in range(1, 1001):
        fine.step_to(k * FREQ // 100)
    assert fine.temp == pytest.approx(coarse.temp, rel=1e-12)


def test_half_duty_pwm_settles_halfway():
    p = plant()
    cycle = FREQ // 10
    for k in range(20000):                # 2000 s of 50 % duty, 0.1 s cycle
        p.pin_level(k * cycle, 1)
        p.pin_level(k * cycle + cycle // 2, 0)
    p.step_to(20000 * cycle)
    assert p.temp == pytest.approx(AMBIENT_TEMP + 0.5 * HOTEND.rate * HOTEND.tau, abs=0.5)


def test_inverted_pin_heats_at_level_zero():
    p = plant(invert=True)
    p.pin_level(0, 0)
    p.step_to(FREQ)
    assert p.temp > AMBIENT_TEMP + 0.9 * HOTEND.rate
    p.pin_level(FREQ, 1)
    hot = p.temp
    p.step_to(2 * FREQ)
    assert p.temp < hot


def test_adc_value_reads_back_the_temperature():
    p = plant()
    p.pin_level(0, 1)
    p.step_to(40 * FREQ)
    fraction = p.adc_value() / ADC_MAX
    assert p.thermistor.calc_temp(fraction) == pytest.approx(p.temp, abs=0.5)


def test_every_allowed_target_is_reachable():
    assert HOTEND.reaching(250.) == HOTEND          # 25 + 360 C is well above 300
    hot = HOTEND.reaching(450.)
    assert hot.rate == HOTEND.rate
    assert AMBIENT_TEMP + hot.gain == pytest.approx(450. + 50.)
