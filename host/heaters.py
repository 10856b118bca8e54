"""Heaters ([extruder] heater part, [heater_bed], [heater_generic]): a
temperature sensor (host/temperature_sensors.py), a control law (host/heater_control.py) and a soft-PWM heater
pin; and the temperature G-codes.

Contract:
- `Heater(section, hw)` configures the sensor's periodic query and the
  heater pin (3 s max_duration watchdog). Every sensor report calls
  `temperature_callback(read_time, temp)` on the thread that reads MCU
  responses (Klipper: serialhdl, KLIPPER-FACTS 1): smoothing, control,
  and maybe a queue_digital_out from there. `stats(eventtime)` is the
  main thread's 1 s stats call; `get_temp(eventtime)` and `check_busy()`
  are what the waits read.
- `Heaters(reactor, can_wait)` holds the heaters; `TemperatureCommands`
  registers M104/M109/M140/M190, SET_HEATER_TEMPERATURE,
  TURN_OFF_HEATERS and TEMPERATURE_WAIT.

Rules (KLIPPER-FACTS 2.7, written from those facts):
- read_time = the reading's start + SAMPLE_COUNT * SAMPLE_TIME (8 ms);
  smoothed temperature moves towards each reading by the time since the
  previous one over smooth_time (at most all the way);
- set_pwm: duty 0 while the target is 0 or the main thread has not run
  its stats for MAX_MAINTHREAD_TIME (5 s); a change smaller than 5 % of
  max_power is not sent unless the heater is on and the refresh time
  (pwm_time + MAX_HEAT_TIME - (3 * pwm_delay + 0.001)) has come; an off
  heater needs no refresh (off is the pin's default state, which the
  MCU's max_duration does not watch); the update acts at read_time +
  pwm_delay (REPORT_TIME, 0.300 s).
- waits (M109, M190, TEMPERATURE_WAIT) poll once a second with
  reactor.pause, flushing the look-ahead each time, only when the host
  talks to a live MCU (`can_wait`, the link's can_pause): in compile
  mode, as in Klipper's batch mode, there are no readings and nothing
  waits, so heaters never switch on and temperature commands add nothing
  to the stream.
Not modelled: verify_heater ("not heating at expected rate") and the
min_extrude_temp check (a cold extrusion is allowed, as in batch mode).
The host code runs atomically in the simulation, so Klipper's lock
between the serialhdl and main threads has no counterpart here.
"""
from .heater_control import make_control
from .adc_temperature import REPORT_TIME
from .output_pin import make_pwm_pin

MAX_HEAT_TIME = 3.0      # heaters.py: heater pin max_duration
PWM_CYCLE_TIME = 0.100   # heaters.py default pwm_cycle_time
PWM_DELAY = REPORT_TIME  # an update acts this long after its reading
MAX_MAINTHREAD_TIME = 5.0
QUELL_STALE_TIME = 7.0   # get_temp reads 0 when the last reading is older
PWM_CHANGE_MIN = 0.05    # of max_power: smaller changes wait for the refresh
WAIT_POLL_TIME = 1.0     # temperature waits look once a second


class Heater:
    def __init__(self, section, hw):
        self.section_name = section.name
        self.name = section.name.split()[-1]
        self._read_sensor(section, hw)
        self._read_control(section)
        section.get("heater_pin")
        cycle = section.getfloat("pwm_cycle_time", PWM_CYCLE_TIME, above=0., maxval=REPORT_TIME)
        _, self.pwm = make_pwm_pin(hw, section, "heater_pin", cycle, False,
                                   max_duration=MAX_HEAT_TIME)
        self.target = 0.
        self.min_extrude_temp = section.getfloat(
            "min_extrude_temp", 170., minval=self.min_temp, maxval=self.max_temp)
        self.last_temp = self.smoothed_temp = 0.
        self.last_temp_time = 0.
        self.last_pwm_value = 0.
        self.next_pwm_time = 0.
        self.verify_mainthread_time = -999.   # until the first stats call

    def _read_sensor(self, section, hw):
        """The sensor (host/temperature_sensors.py) is built before the
        heater pin, as Klipper orders their configuration."""
        self.sensor = hw.sensor_types.make(section)
        self.min_temp = section.getfloat("min_temp", minval=-273.15)
        self.max_temp = section.getfloat("max_temp", above=self.min_temp)
        self.sensor.setup_minmax(self.min_temp, self.max_temp)
        self.sensor.setup_callback(self.temperature_callback)
        # An ADC sensor's input and curve (the simulated plant reads them).
        self.adc = getattr(self.sensor, "adc", None)
        self.thermistor = getattr(self.sensor, "converter", None)

    def _read_control(self, section):
        self.max_power = section.getfloat("max_power", 1., above=0., maxval=1.)
        self.smooth_time = section.getfloat("smooth_time", 1., above=0.)
        self.control = make_control(section, self.max_power, self.smooth_time)

    def set_target(self, temp):
        if temp and (temp < self.min_temp or temp > self.max_temp):
            raise ValueError("Requested temperature (%.1f) out of range (%.1f:%.1f)"
                             % (temp, self.min_temp, self.max_temp))
        self.target = temp

    # ---- the response thread ---------------------------------------------------
    def temperature_callback(self, read_time, temp):
        time_diff = read_time - self.last_temp_time
        self.last_temp, self.last_temp_time = temp, read_time
        self.set_pwm(read_time, self.control.update(read_time, temp, self.target))
        self.smoothed_temp += (temp - self.smoothed_temp) * min(time_diff / self.smooth_time, 1.)

    def set_pwm(self, read_time, value):
        if self.target <= 0. or read_time > self.verify_mainthread_time:
            value = 0.
        small = abs(value - self.last_pwm_value) < PWM_CHANGE_MIN * self.max_power
        if small and (read_time < self.next_pwm_time or not self.last_pwm_value):
            return
        pwm_time = read_time + PWM_DELAY
        self.next_pwm_time = pwm_time + MAX_HEAT_TIME - (3. * PWM_DELAY + 0.001)
        self.last_pwm_value = value
        self.pwm.set_pwm(pwm_time, value)

    # ---- the main thread ---------------------------------------------------------
    def stats(self, eventtime):
        """The 1 s stats call: proves the main thread is alive."""
        est = self.pwm.mcu.estimated_print_time(eventtime)
        self.verify_mainthread_time = est + MAX_MAINTHREAD_TIME

    def get_temp(self, eventtime):
        est = self.pwm.mcu.estimated_print_time(eventtime)
        if self.last_temp_time < est - QUELL_STALE_TIME:
            return 0.
        return self.smoothed_temp

    def check_busy(self):
        return self.control.check_busy(self.smoothed_temp, self.target)


class Heaters:
    """The printer's heaters and the temperature waits."""

    def __init__(self, reactor=None, can_wait=False):
        self.heaters = {}
        self.reactor = reactor
        self.can_wait = can_wait     # a live MCU sends readings to wait for
        self.toolhead = None         # set once the toolhead exists

    def add(self, heater):
        self.heaters[heater.name] = heater
        return heater

    def lookup(self, name):
        """By short name ("extruder", "chamber") or section name
        ("heater_generic chamber")."""
        heater = self.heaters.get(name)
        if heater is None:
            heater = next((h for h in self.heaters.values() if h.section_name == name), None)
        return heater

    def stats(self, eventtime):
        for heater in self.heaters.values():
            heater.stats(eventtime)

    def _wait(self, still_waiting):
        """Pause the G-code until still_waiting(eventtime) is false."""
        if not self.can_wait:
            return
        eventtime = self.reactor.monotonic()
        while still_waiting(eventtime):
            self.toolhead.get_last_move_time()     # queued moves run meanwhile
            eventtime = self.reactor.pause(eventtime + WAIT_POLL_TIME)

    def set_temperature(self, heater, temp, wait=False):
        heater.set_target(temp)
        if wait and temp:
            self._wait(lambda eventtime: heater.check_busy())

    def wait_for_range(self, heater, minimum, maximum):
        self._wait(lambda eventtime: not minimum <= heater.get_temp(eventtime) <= maximum)


class TemperatureCommands:
    """M104/M109 (extruder), M140/M190 (bed), SET_HEATER_TEMPERATURE,
    TEMPERATURE_WAIT (docs/G-Codes.md)."""

    def __init__(self, printer, dispatcher):
        self.printer = printer
        self.heaters = printer.heaters
        d = dispatcher
        d.register("M104", lambda cmd: self.cmd_extruder_temp(cmd, False))
        d.register("M109", lambda cmd: self.cmd_extruder_temp(cmd, True))
        d.register("M140", lambda cmd: self.cmd_bed_temp(cmd, False))
        d.register("M190", lambda cmd: self.cmd_bed_temp(cmd, True))
        d.register("SET_HEATER_TEMPERATURE", self.cmd_SET_HEATER_TEMPERATURE)
        d.register("TEMPERATURE_WAIT", self.cmd_TEMPERATURE_WAIT)
        d.register("TURN_OFF_HEATERS", self.cmd_TURN_OFF_HEATERS)

    def _set(self, cmd, heater, temp, wait):
        try:
            self.heaters.set_temperature(heater, temp, wait)
        except ValueError as e:
            raise cmd.error(str(e))

    def cmd_extruder_temp(self, cmd, wait):
        """T selects an extruder by index; without it, the active one."""
        temp = cmd.get_float("S", 0.)
        index = cmd.get_int("T", None, minval=0)
        extruders = self.printer.extruders
        if index is None:
            extruder = self.printer.toolhead.extruder
        elif index < len(extruders):
            extruder = extruders[index]
        else:
            if temp <= 0.:
                return
            raise cmd.error("Extruder not configured")
        self._set(cmd, extruder.heater, temp, wait)

    def cmd_bed_temp(self, cmd, wait):
        heater = self.heaters.lookup("heater_bed")
        if heater is None:
            return
        self._set(cmd, heater, cmd.get_float("S", 0.), wait)

    def _heater(self, cmd, key):
        name = cmd.get(key)
        heater = self.heaters.lookup(name)
        if heater is None:
            raise cmd.error("Unknown %s '%s'" % ("sensor" if key == "SENSOR" else "heater", name))
        return heater

    def cmd_SET_HEATER_TEMPERATURE(self, cmd):
        heater = self._heater(cmd, "HEATER")
        self._set(cmd, heater, cmd.get_float("TARGET", 0.), False)

    def cmd_TURN_OFF_HEATERS(self, cmd):
        """Every heater's target to 0 (no MCU output of its own)."""
        for heater in self.heaters.heaters.values():
            self._set(cmd, heater, 0., False)

    def cmd_TEMPERATURE_WAIT(self, cmd):
        heater = self._heater(cmd, "SENSOR")
        if not cmd.has("MINIMUM") and not cmd.has("MAXIMUM"):
            raise cmd.error("Error on 'TEMPERATURE_WAIT': missing MINIMUM or MAXIMUM.")
        minimum = cmd.get_float("MINIMUM", float("-inf"))
        maximum = cmd.get_float("MAXIMUM", float("inf"))
        self.heaters.wait_for_range(heater, minimum, maximum)


def load_heater(printer, section):
    """[heater_bed] / [heater_generic NAME] (gcode_id: its M105 label)."""
    heater = Heater(section, printer.hw)
    section.get("gcode_id", None)
    return printer.heaters.add(heater)
