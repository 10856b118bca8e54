"""The heaters' plants integrated in C (firmware/simulator/thermal_sim.c)
against sim/mcus/thermal.py's HeaterPlant and the Python settle it
replaced (kept below as the reference model): the same doubles, bit for
bit, on random parameters, pin writes (inverted pins, PWM duties, other
pins' writes dropped) and update points; the thermistor's ADC value
against host/thermistor.py; and the plants' update chain on the MCU
node's poll grid (fw_node.c) against the Python node it replaced
(ReferenceNode)."""
import math
import os
import sys
from collections import deque

from hypothesis import given, settings, strategies as st

from klipsim.firmware.simulator._fwsim import ffi, lib
from klipsim.firmware.simulator.mcu import PollGrid
from klipsim.host.thermistor import SENSORS, make_thermistor
from klipsim.sim.link.clocksync import McuClock
from klipsim.sim.mcus.thermal import UPDATE_PERIOD, HeaterPlant, PlantKind, Thermals

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


# ---- the sensor's ADC value (fw_plant_adc_value) ----------------------------

@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(SENSORS)), st.floats(470., 10_000.), st.floats(0., 1000.),
       st.sampled_from([1023, 4095, 8191]), st.floats(-100., 500.))
def test_adc_value_matches_the_python_thermistor(sensor, pullup, inline, adc_max, temp):
    thermistor = make_thermistor(sensor, pullup=pullup, inline_resistor=inline)
    plant = HeaterPlant("h", PlantKind(3., 120.), 3, False, 5, thermistor, adc_max, FREQ)
    plant.temp = temp
    c = ffi.new("struct fw_plant *")
    c.c1, c.c2, c.c3 = thermistor.c1, thermistor.c2, thermistor.c3
    c.pullup, c.inline_resistor, c.adc_max, c.temp = pullup, inline, adc_max, temp
    assert lib.fw_plant_adc_value(c) == plant.adc_value()


# ---- the update chain on the poll grid (fw_node.c) --------------------------

class ReferenceNode:
    """McuNode's plant bookkeeping as it was in Python (_replay_grid,
    _next_grid_point, _set_valid_until, _plants_at_run_end, _on_stop's
    sample) with Thermals' counters (mark, mark_chain, settle's version):
    the reference model of fw_node_replay_grid, fw_node_set_valid_until,
    fw_node_run_end and fw_node_on_sample."""

    def __init__(self, clock, grid0, poll, period, first):
        self.clock, self.grid0, self.poll, self.period = clock, grid0, poll, period
        self.grid = PollGrid(clock, grid0, poll, period)
        self.next_due, self.point, self.version, self.settled_at = 0, None, 0, None
        self.valid_until = self.valid_version = None
        self.grid_point = (None, None)
        self.mark(first)                 # set_thermals: update()
        self.settle()
        self.set_valid_until()           # start()

    def mark(self, now):
        if now < self.next_due:
            return
        self.next_due, self.point, self.version = now + self.period, now, self.version + 1

    def settle(self):
        if self.settled_at != self.point:
            self.settled_at, self.version = self.point, self.version + 1

    def next_grid_point(self):
        due = self.next_due
        cached, point = self.grid_point
        if cached != due:
            k = (self.clock.time_ns(due) - 1 - self.grid0) // self.poll + 1
            point = self.clock.clock(self.grid0 + max(k, 1) * self.poll)
            self.grid_point = (due, point)
        return point

    def replay_grid(self, upto):
        if self.next_grid_point() > upto:
            return
        count, last, due, after = self.grid.replay(self.next_due, upto)
        self.next_due, self.point, self.version = last + self.period, last, self.version + count
        self.grid_point = (due, after)

    def set_valid_until(self):
        self.valid_version = self.version
        until = self.next_grid_point() if self.settled_at == self.point else self.point
        self.valid_until = until

    def run_end(self, now):
        if now >= self.next_due:
            self.replay_grid(now)
            self.mark(now)
        if self.version != self.valid_version:
            self.set_valid_until()

    def on_sample(self, now):
        self.replay_grid(now - 1)
        self.settle()
        self.set_valid_until()


class CNode:
    """The same through fw_node.c's functions (a node struct with a
    firmware and a thermal struct without plants)."""

    def __init__(self, clock, grid0, poll, period, first):
        self.fw = configured()
        self.fw.run_until(first)
        self.t = ffi.gc(lib.fw_thermal_new(self.fw._mcu, 0), lib.fw_thermal_free)
        self.t.period = period
        self.n = ffi.gc(lib.fw_node_new(), lib.fw_node_free)
        n = self.n
        n.fw, n.thermal = self.fw._mcu, self.t
        n.grid.offset, n.grid.num = clock.offset, clock.freq * (10 ** 9 + clock.drift_ppb)
        n.grid.grid0, n.grid.poll, n.grid.period = grid0, poll, period
        lib.fw_thermal_mark(self.t, first)
        lib.fw_thermal_settle_point(self.t)
        n.grid_known = 1
        lib.fw_node_set_valid_until(n)

    def run_end(self, now):
        lib.fw_node_run_end(self.n, now)

    def on_sample(self, now):
        self.fw.run_until(max(now, self.fw.now))
        lib.fw_node_on_sample(self.n)

    def settle(self):
        lib.fw_thermal_settle_point(self.t)

    def state(self):
        t, n = self.t, self.n
        return (t.next_due, t.point if t.has_point else None, t.version,
                lib.fw_thermal_settled(t), n.valid_until, n.valid_version)


def _state(ref):
    return (ref.next_due, ref.point, ref.version, ref.settled_at == ref.point,
            ref.valid_until, ref.valid_version)


OPS_CHAIN = st.lists(st.tuples(st.sampled_from(["run_end", "sample", "read"]),
                               st.integers(0, 20 * 10 ** 6)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([16_000_000, 180_000_000]), st.integers(0, 10 ** 7),
       st.integers(-100_000, 100_000), st.integers(0, 10 ** 8),
       st.sampled_from([1_000_000, 2_000_000, 5_000_000]), OPS_CHAIN)
def test_update_chain_matches_the_python_node(freq, offset, drift, grid0, poll, ops):
    clock = McuClock(freq, offset, drift)
    period = int(UPDATE_PERIOD * freq)
    first = clock.clock(grid0)
    ref, c = ReferenceNode(clock, grid0, poll, period, first), \
        CNode(clock, grid0, poll, period, first)
    assert c.state() == _state(ref)
    now = first
    for op, delta in ops:
        now += delta
        if op == "run_end":
            ref.run_end(now)
            c.run_end(now)
        elif op == "sample":
            c.on_sample(now)
            ref.on_sample(c.fw.now)
        else:                             # a read of the temperatures settles
            ref.settle()
            c.settle()
        assert c.state() == _state(ref)


def test_temperatures_after_a_settle_in_c():
    """The MCU node's C events settle the plants without Python
    (fw_node_on_sample -> fw_thermal_settle_point): temperatures() then
    reports the plants where C brought them, not the last Python mirror.
    By hand: full power from clock 0 for one tau, temp = steady - (steady
    - ambient) / e."""
    fw = configured()
    kind = PlantKind(rate=3.0, tau=1.)
    plant = _plant(kind, False, fw.pin("PA2"), fw.pin("PA0"))
    thermals = Thermals(fw, [plant])
    fw.send("set_digital_out pin=PA2 value=1")
    tau = int(FREQ * kind.tau)
    fw.run_until(tau)
    assert thermals.mark(tau)
    assert lib.fw_thermal_settle_point(thermals._c) == 1     # (as C's sample stop)
    steady = 25. + kind.gain
    expect = steady - (steady - 25.) * math.exp(-1.)
    assert abs(thermals.temperatures()[plant.name] - expect) < 1e-9
