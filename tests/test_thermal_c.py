"""The heaters' plants integrated in C (firmware/simulator/thermal_sim.c)
against sim/mcus/thermal.py's HeaterPlant and the Python settle it
replaced (kept below as the reference model): the same doubles, bit for
bit, on random parameters, pin writes (inverted pins, PWM duties, other
pins' writes dropped) and update points."""
import os
import sys
from collections import deque

from hypothesis import given, settings, strategies as st

from klipsim.firmware.simulator._fwsim import ffi, lib
from klipsim.host.thermistor import make_thermistor
from klipsim.sim.mcus.thermal import HeaterPlant, PlantKind, Thermals

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import FREQ, configured  # noqa: E402

THERMISTOR = make_thermistor("EPCOS 100K B57560G104F")
KIND = st.builds(PlantKind, rate=st.floats(0.1, 10.), tau=st.floats(5., 900.))


def _plant(kind, invert, heater_pin=3, sensor_pin=5, freq=FREQ):
    return HeaterPlant("h%d" % heater_pin, kind, heater_pin, invert, sensor_pin, THERMISTOR,
                       4095, freq)


def _c_plant(plant):
    c = ffi.new("struct fw_plant *")
    c.heater_pin, c.invert = plant.heater_pin, plant.invert
    c.gain, c.tau, c.freq = plant.kind.gain, plant.kind.tau, plant.freq
    c.temp = c.max_temp = plant.temp
    return c


def _same(plant, c):
    assert (c.temp, c.max_temp, c.power, c.clock) == \
        (plant.temp, plant.max_temp, plant.power, plant.clock)


OPS = st.lists(st.tuples(st.booleans(), st.integers(-10**6, 10**9),
                         st.sampled_from([0, 1, 200, 255])), max_size=40)


@settings(max_examples=300, deadline=None)
@given(KIND, st.booleans(), st.sampled_from([16_000_000, 180_000_000, 10**6 + 7]), OPS)
def test_plant_step_matches_the_python_plant(kind, invert, freq, ops):
    plant = _plant(kind, invert, freq=freq)
    c = _c_plant(plant)
    clock = 0
    for write, delta, level in ops:
        clock = max(0, clock + delta)      # (a step back in time does nothing)
        if write:
            plant.pin_level(clock, level)
            lib.fw_plant_pin_level(c, clock, level)
        else:
            plant.step_to(clock)
            lib.fw_plant_step_to(c, clock)
        _same(plant, c)


class ReferenceThermals:
    """Thermals.settle as it was in Python: the heater pins' writes onto a
    deque, those up to the point applied in order, every plant stepped."""

    def __init__(self, firmware, plants):
        self.fw, self.plants = firmware, plants
        self.by_heater_pin = {p.heater_pin: p for p in plants}
        self._pins = sorted(self.by_heater_pin)
        self._pending = deque(firmware.take_gpio_rows(self._pins))
        firmware.record_gpio_only(self._pins)

    def settle(self, point):
        self._pending.extend(self.fw.take_gpio_rows(self._pins))
        while self._pending and self._pending[0][0] <= point:
            clock, pin, value = self._pending.popleft()
            self.by_heater_pin[pin].pin_level(clock, value)
        for plant in self.plants:
            plant.step_to(point)


PINS = ("PA2", "PA3", "PA4")        # two heaters, a pin nobody heats
WRITES = st.lists(st.tuples(st.integers(0, 3 * 10**8), st.sampled_from(PINS),
                            st.sampled_from([0, 1, 255])), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(KIND, KIND, st.booleans(), WRITES, st.lists(st.integers(0, 4 * 10**8), max_size=8))
def test_settle_matches_the_python_settle(kind_a, kind_b, invert, writes, points):
    def build():
        fw = configured()
        fw.send("set_digital_out pin=PA4 value=1")      # (before the plants: kept, dropped)
        return fw, [_plant(kind_a, invert, fw.pin("PA2"), fw.pin("PA0")),
                    _plant(kind_b, False, fw.pin("PA3"), fw.pin("PA1"))]
    fw, plants = build()
    ref_fw, ref_plants = build()
    thermals, reference = Thermals(fw, plants), ReferenceThermals(ref_fw, ref_plants)
    events = sorted(writes) + [(p, None, None) for p in points]
    for clock, pin, value in sorted(events, key=lambda e: e[0]):
        for f in (fw, ref_fw):
            f.run_until(max(clock, f.now))
            if pin is not None:
                f.send("set_digital_out pin=%s value=%d" % (pin, value))
        if pin is None and thermals.mark(fw.now):
            thermals.settle()
            reference.settle(fw.now)
            for plant, ref in zip(plants, ref_plants):
                assert (plant.temp, plant.max_temp, plant.power, plant.clock) == \
                    (ref.temp, ref.max_temp, ref.power, ref.clock)
