"""Timer-driven fans: [heater_fan NAME] (on while a heater is hot or has a
target) and [controller_fan NAME] (on while steppers are enabled or a
heater has a target, then idle_speed for idle_timeout seconds)
(docs/Config_Reference.md [heater_fan], [controller_fan]).

Contract: `load_heater_fan(printer, section)`,
`load_controller_fan(printer, section)`; both objects have get_status()
and request_restart(print_time) (fan off at the end of the run).

Both check their inputs from a reactor timer, once a second, and set the
fan with an immediate (not toolhead-synced) request, timed at the MCU's
estimated print time + 0.1 s. In an offline run that estimate is 0, so
the command carries clock=0, as in Klipper's batch outputs, and since the
reactor's time stands still the timer runs only once: the first time the
reactor gets control (after the first block of input). A controller_fan's
first check is 0.1 s after start, so offline it never runs. Klipper's batch
run does the same as long as it finishes within about a second of wall
time (its timer first fires 0.1 s after start, then every second).
Heaters never read a temperature offline (their temperature stays 0):
only targets count there; in simulate mode a hot heater keeps its fan on.
"""
from .configfile import ConfigError
from .fan import Fan, FanUser

CHECK_INTERVAL = 1.0        # heater_fan.py / controller_fan.py timer period
PIN_MIN_TIME = 0.100        # controller_fan.py: first check this long after start


class HeaterFan(FanUser):
    def __init__(self, printer, section):
        self.printer = printer
        self.heater_names = [n.strip() for n in section.getlist("heater", ["extruder"])]
        self.heater_temp = section.getfloat("heater_temp", 50.)
        self.fan_speed = section.getfloat("fan_speed", 1., minval=0., maxval=1.)
        self.section = section
        self.fan = Fan(printer, section, default_shutdown_speed=1.)
        self.last_speed = 0.
        self.heaters = []

    def connect(self, printer):
        super().connect(printer)
        self.heaters = _lookup_heaters(printer, self.heater_names, self.section)
        reactor = printer.reactor
        reactor.register_timer(self._check, reactor.NOW)

    def _check(self, eventtime):
        speed = 0.
        for heater in self.heaters:
            if heater.target or heater.get_temp(eventtime) > self.heater_temp:
                speed = self.fan_speed
        if speed != self.last_speed:
            self.last_speed = speed
            self.fan.set_speed(speed)
        return eventtime + CHECK_INTERVAL


class ControllerFan(FanUser):
    def __init__(self, printer, section):
        self.printer = printer
        self.stepper_names = section.getlist("stepper", None)
        self.heater_names = [n.strip() for n in section.getlist("heater", ["extruder"])]
        self.fan_speed = section.getfloat("fan_speed", 1., minval=0., maxval=1.)
        self.idle_speed = section.getfloat("idle_speed", self.fan_speed, minval=0., maxval=1.)
        self.idle_timeout = section.getint("idle_timeout", 30, minval=0)
        self.section = section
        self.fan = Fan(printer, section)
        self.last_speed = 0.
        self.last_on = self.idle_timeout
        self.heaters = []
        self.enable_lines = []

    def connect(self, printer):
        super().connect(printer)
        self.heaters = _lookup_heaters(printer, self.heater_names, self.section)
        enable = printer.hw.stepper_enable
        names = self.stepper_names
        if names is None:
            names = list(enable.by_stepper)
        for name in names:
            name = name.strip()
            if name not in enable.by_stepper:
                raise _config_error(self.section, "stepper",
                                    "One or more of these steppers are unknown: %s"
                                    % (", ".join(names),))
            self.enable_lines.append(enable.by_stepper[name])

    def ready(self, printer):
        """Klipper starts the check at klippy:ready, once the MCUs are
        configured (Printer.connect). Unlike heater_fan, the first check waits PIN_MIN_TIME of reactor
        time, which an offline run never reaches: Klipper's batch runs
        send nothing for a controller_fan (reference sensors_misc)."""
        reactor = printer.reactor
        reactor.register_timer(self._check, reactor.monotonic() + PIN_MIN_TIME)

    def _check(self, eventtime):
        active = any(line.is_enabled for line in self.enable_lines)
        active = active or any(heater.target for heater in self.heaters)
        speed = 0.
        if active:
            self.last_on = 0
            speed = self.fan_speed
        elif self.last_on < self.idle_timeout:
            speed = self.idle_speed
            self.last_on += 1
        if speed != self.last_speed:
            self.last_speed = speed
            self.fan.set_speed(speed)
        return eventtime + CHECK_INTERVAL


def _lookup_heaters(printer, names, section):
    heaters = []
    for name in names:
        heater = printer.heaters.lookup(name)
        if heater is None:
            raise _config_error(section, "heater", "Unknown heater '%s'" % (name,))
        heaters.append(heater)
    return heaters


def _config_error(section, option, message):
    where = section.location(option) if section.has_option(option) else section.location()
    return ConfigError(message, where)


def load_heater_fan(printer, section):
    return HeaterFan(printer, section)


def load_controller_fan(printer, section):
    return ControllerFan(printer, section)
