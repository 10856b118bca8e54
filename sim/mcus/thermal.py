"""The simulated world's heaters: a thermal plant per heater, heated by
the heater pin as the firmware drives it, read back through the heater's
thermistor by the firmware's ADC.

Contract: `Thermals(firmware, plants)` with one `HeaterPlant` per heater
(`plants_for(printer, mcu, firmware)` builds them from the host's
heaters on that MCU: pins, inversion, thermistor curve with its pullup
and inline resistor).
`update(clock)` is an update point (the MCU node's poll grid points and
block arrivals, the Linux MCU's runs; the firmware has run at least to
`clock`): once UPDATE_PERIOD of MCU time has passed since the last one,
each plant integrates exactly (the pin level is constant between
events) over the heater pin writes up to `clock` (later ones wait for a
later point), and each sensor pin's ADC value is set from the plant's
temperature at `clock`. The ADC value is thus at most UPDATE_PERIOD
plus one poll interval (5 ms) old when sampled: < 0.1 C at the fastest
heating rate below, under one ADC step. `next_due` is the clock from
which the next update point does anything, so a node can replay the
points only when the firmware is about to sample (same points, same
arithmetic). GPIO events of other pins are dropped (nobody else reads
them in simulate mode). Everything is deterministic: integer MCU clocks,
a closed-form step per interval.

Model (assumptions, not measurements): a first-order lumped body,
    dT/dt = (AMBIENT + gain * power - T) / tau,
power 1 while the pin is at its "on" level (the inverse level for an
inverted pin), else 0. AMBIENT is 25 C. Figures chosen to match typical
printers' heat-up (not any specific one):
- hotend ([extruder*], [heater_generic]): 3.0 C/s at full power from
  ambient, tau 120 s (gain 360 C: ~85 s from 25 to 210 C at full power);
- bed ([heater_bed]): 0.8 C/s from ambient, tau 250 s (gain 200 C:
  ~50 s from 25 to 60 C).
A heater whose max_temp is within REACH_MARGIN (50 C) of that full-power
steady state gets a larger gain (and tau = gain / rate, same heating
rate): real heaters are sized to reach their max_temp, and an unreachable
target would make M109 wait forever (verify_heater is not modelled).
No sensor lag, no heat lost to the filament or the part-cooling fan.
"""
import math
from dataclasses import dataclass

from ...firmware.simulator._fwsim import ffi as _ffi, lib as _lib
from ...host.thermistor import Thermistor

AMBIENT_TEMP = 25.
UPDATE_PERIOD = 0.020      # s of MCU time between plant updates
REACH_MARGIN = 50.         # C: full-power steady state above max_temp, at least


@dataclass(frozen=True)
class PlantKind:
    rate: float        # C/s at full power, at ambient temperature
    tau: float         # s, time constant

    @property
    def gain(self):
        return self.rate * self.tau      # steady state above ambient at full power

    def reaching(self, max_temp):
        """This kind, able to exceed max_temp by REACH_MARGIN at full power."""
        gain = max(self.gain, max_temp + REACH_MARGIN - AMBIENT_TEMP)
        return PlantKind(self.rate, gain / self.rate)


HOTEND = PlantKind(rate=3.0, tau=120.)
BED = PlantKind(rate=0.8, tau=250.)


class HeaterPlant:
    """One heater's body temperature, integrated from the pin's levels.
    Thermals integrates in C (firmware/simulator/thermal_sim.c, the same
    arithmetic) and mirrors the state here; step_to and pin_level are its
    reference model (tests/test_thermal_c.py)."""

    def __init__(self, name, kind, heater_pin, invert, sensor_pin, thermistor,
                 adc_max, clock_freq):
        self.name = name
        self.kind = kind
        self.heater_pin = heater_pin       # firmware pin numbers
        self.invert = int(bool(invert))
        self.sensor_pin = sensor_pin
        self.thermistor = thermistor
        self.adc_max = adc_max
        self.freq = float(clock_freq)
        self.temp = AMBIENT_TEMP
        self.power = 0
        self.clock = 0
        self.max_temp = AMBIENT_TEMP       # hottest it got (for tests and reports)

    def step_to(self, clock):
        """Integrate up to `clock` at the current power (exact solution)."""
        if clock <= self.clock:
            return
        dt = (clock - self.clock) / self.freq
        steady = AMBIENT_TEMP + self.kind.gain * self.power
        self.temp = steady + (self.temp - steady) * math.exp(-dt / self.kind.tau)
        self.max_temp = max(self.max_temp, self.temp)
        self.clock = clock

    def pin_level(self, clock, level):
        self.step_to(clock)
        self.power = int(level) ^ self.invert

    def adc_value(self):
        """One ADC sample at the present temperature."""
        value = int(self.thermistor.calc_adc(self.temp) * self.adc_max + 0.5)
        return max(0, min(self.adc_max, value))


class Thermals:
    def __init__(self, firmware, plants):
        self.fw = firmware
        self.plants = list(plants)
        self.by_heater_pin = {p.heater_pin: p for p in self.plants}
        self._pins = sorted(self.by_heater_pin)
        self.period = int(UPDATE_PERIOD * firmware.clock_freq)   # ticks
        # the plants' integration in C (firmware/simulator/thermal_sim.c),
        # with the heater pin writes after the last update point and the
        # update chain's state (next_due, point, version, settled: read
        # and moved by the MCU node's C events too): the HeaterPlants
        # mirror the plants after each settle()
        self._c = _c_thermal(firmware, self.plants, self.period)
        # set by an MCU node that updates the plants only when the
        # firmware needs them (sim/mcu_node.py): brings them up to date
        self.before_read = None
        # the heater pins' writes so far, then the firmware records no others
        self._take_events()
        firmware.record_gpio_only(self._pins)

    # the clock from which the next update() does anything
    next_due = property(lambda self: self._c.next_due)
    # counts changes of point, next_due and settled
    version = property(lambda self: self._c.version)

    @property
    def point(self):
        """The last update point (MCU clock), None before the first."""
        c = self._c
        return c.point if c.has_point else None

    @property
    def sensor_pins(self):
        return {p.sensor_pin for p in self.plants}

    def update(self, now=None):
        """An update point at `now` (default: the firmware's clock),
        integrated at once: mark(now), then settle()."""
        if now is None:
            now = self.fw.now
        if self.mark(now):
            self.settle()

    def mark(self, now):
        """An update point at MCU clock `now`: once UPDATE_PERIOD has
        passed since the last one, `now` is the point the ADC values must
        stand for (settle() brings the plants there when a sample needs
        them). True when it was due."""
        return bool(_lib.fw_thermal_mark(self._c, now))

    def settle(self):
        """Bring the plants to the last update point in closed form (exact
        exponential between the heater pin's writes up to it; later writes
        wait for a later point) and set the ADC inputs they drive (in C
        for thermistors)."""
        c = self._c
        if _lib.fw_thermal_settle_point(c):
            self.mirror_plants()
            if c.py_adc:
                for plant in self.plants:
                    self.fw.set_adc(plant.sensor_pin, plant.adc_value())

    def mirror_plants(self):
        """The HeaterPlants' state from C (after a settle)."""
        c = self._c
        for k, plant in enumerate(self.plants):
            state = c.plants[k]
            plant.temp, plant.max_temp = state.temp, state.max_temp
            plant.power, plant.clock = state.power, state.clock

    def _take_events(self):
        """The heater pins' writes the firmware recorded, in clock order,
        onto the pending queue (other pins' writes are dropped)."""
        _lib.fw_thermal_take_events(self._c)

    def temperatures(self):
        """Each plant's temperature at the last update point."""
        if self.before_read is not None:
            self.before_read()
        if self.point is not None:
            self.settle()
            self.mirror_plants()    # (the node's C events settle without Python)
        return {p.name: p.temp for p in self.plants}


def _c_thermal(firmware, plants, period):
    """The C side of Thermals: a struct fw_plant per HeaterPlant, from
    its parameters and present state (a Thermistor sensor's ADC value is
    computed in C too), and the update chain's start."""
    c = _ffi.gc(_lib.fw_thermal_new(firmware._mcu, len(plants)), _lib.fw_thermal_free)
    c.period = period
    for k, plant in enumerate(plants):
        state = c.plants[k]
        state.heater_pin, state.sensor_pin = plant.heater_pin, plant.sensor_pin
        state.invert = plant.invert
        state.gain, state.tau, state.freq = plant.kind.gain, plant.kind.tau, plant.freq
        state.temp, state.max_temp = plant.temp, plant.max_temp
        state.power, state.clock = plant.power, plant.clock
        th = plant.thermistor
        if type(th) is Thermistor:        # (a subclass may compute otherwise)
            state.c_adc = 1
            state.c1, state.c2, state.c3 = th.c1, th.c2, th.c3
            state.pullup, state.inline_resistor = th.pullup, th.inline_resistor
            state.adc_max = plant.adc_max
        else:
            c.py_adc = 1
    return c


def plants_for(printer, mcu, firmware):
    """A plant per host heater whose pin and sensor are on `mcu` (the
    host's MCU object that `firmware` plays), from its configuration."""
    adc_max = int(firmware.dictionary.constant("ADC_MAX", 4095))
    plants = []
    for name, heater in sorted(printer.heaters.heaters.items()):
        pwm, adc = heater.pwm, heater.adc
        if adc is None:
            continue      # read over SPI: the simulated chip reads a fixed value
        if pwm.mcu is not mcu or adc.mcu is not mcu:
            continue      # (a heater split over two MCUs is not modelled)
        kind = (BED if heater.section_name == "heater_bed" else HOTEND).reaching(heater.max_temp)
        plants.append(HeaterPlant(
            name, kind, firmware.pin(pwm.mcu.resolve_pin(pwm.pin)), pwm.invert,
            firmware.pin(adc.mcu.resolve_pin(adc.pin)), heater.thermistor,
            adc_max, firmware.clock_freq))
    return plants
