"""Fans: the PWM fan object shared by [fan], [heater_fan] and
[controller_fan], and the part-cooling [fan] with M106/M107
(docs/Config_Reference.md [fan], docs/G-Codes.md M106/M107).

Contract: `Fan(printer, section, default_shutdown_speed=0.)` with
`set_speed(value, print_time=None)` (applied at once: timers, end of run),
`set_speed_from_command(value)` (toolhead-synced: M106/M107),
`request_restart(print_time)` (end of run: off at print_time) and
`get_status()`; `load_fan(printer, section)` builds [fan] and registers
M106 S<0..255> / M107.

Speed rules (Klipper's fan behaviour): a requested speed below off_below
is 0; speeds are scaled by max_power; an unchanged speed sends nothing.
Starting from off (or jumping up by more than half) with kick_start_time
set runs the fan at max_power first and sets the requested speed
kick_start_time later (at least 0.1 s later: one pin is updated at most
every 0.1 s, host/request_queue.py). An enable_pin is switched on with
the first non-zero speed and off with speed 0.
"""
from .output_pin import MAX_NOMINAL_DURATION, make_digital_pin, make_pwm_pin
from .pulse_counter import PulseCounter
from .request_queue import RequestQueue

FAN_CYCLE_TIME = 0.010          # fan.py default cycle_time
TACHOMETER_SAMPLE_TIME = 1.0    # fan.py: the tachometer reports once a second


class Fan:
    def __init__(self, printer, section, default_shutdown_speed=0.):
        self.max_power = section.getfloat("max_power", 1., above=0., maxval=1.)
        self.kick_start_time = section.getfloat("kick_start_time", 0.1, minval=0.)
        self.off_below = section.getfloat("off_below", 0., minval=0., maxval=1.)
        cycle_time = section.getfloat("cycle_time", FAN_CYCLE_TIME, above=0.,
                                      maxval=MAX_NOMINAL_DURATION)
        hardware_pwm = section.getboolean("hardware_pwm", False)
        shutdown_speed = section.getfloat("shutdown_speed", default_shutdown_speed,
                                          minval=0., maxval=1.)
        mcu, self.pwm = make_pwm_pin(printer.hw, section, "pin", cycle_time, hardware_pwm,
                                     0., max(0., min(self.max_power, shutdown_speed)))
        self.enable_pin = None
        if section.get("enable_pin", None) is not None:
            _, self.enable_pin = make_digital_pin(printer.hw, section, "enable_pin")
        self.tachometer = _make_tachometer(printer.hw, section)
        self.last_fan_value = 0.     # what the pin is driven at
        self.last_req_value = 0.     # what was asked for (status)
        self.requests = RequestQueue(mcu, printer.motion, printer.reactor, self._apply_speed)

    def connect(self, printer):
        self.requests.connect(printer.toolhead)

    def get_status(self):
        return {"speed": self.last_req_value, "rpm": None}

    def set_speed(self, value, print_time=None):
        self.requests.send_async_request(value, print_time)

    def set_speed_from_command(self, value):
        self.requests.queue_gcode_request(value)

    def request_restart(self, print_time):
        """End of run (Klipper's gcode:request_restart): fan off."""
        self.requests.drain()
        self.set_speed(0., print_time)

    def _apply_speed(self, print_time, value):
        if value < self.off_below:
            value = 0.
        value = max(0., min(self.max_power, value * self.max_power))
        if value == self.last_fan_value:
            return "discard", 0.
        if self.enable_pin is not None:
            if value > 0. and self.last_fan_value == 0.:
                self.enable_pin.set_digital(print_time, 1)
            elif value == 0. and self.last_fan_value > 0.:
                self.enable_pin.set_digital(print_time, 0)
        if value and self.kick_start_time and (
                not self.last_fan_value or value - self.last_fan_value > .5):
            # Full power first; the same request comes back for `value`.
            self.last_req_value = value
            self.last_fan_value = self.max_power
            self.pwm.set_pwm(print_time, self.max_power)
            return "repeat", print_time + self.kick_start_time
        self.last_fan_value = self.last_req_value = value
        self.pwm.set_pwm(print_time, value)
        return None


def _make_tachometer(hw, section):
    """tachometer_pin: a pulse counter sampled every second (fan.py
    FanTachometer: tachometer_ppr 2, poll interval 1.5 ms by default)."""
    if section.get("tachometer_pin", None) is None:
        return None
    section.getint("tachometer_ppr", 2, minval=1)
    poll_time = section.getfloat("tachometer_poll_interval", 0.0015, above=0.)
    spec = section.getpin("tachometer_pin", can_pullup=True)
    mcu = hw.lookup(spec.chip, section, "tachometer_pin")
    mcu.check_pin(spec.pin, section.location("tachometer_pin"))
    return PulseCounter(mcu, spec.pin, spec.pullup, TACHOMETER_SAMPLE_TIME, poll_time)


class FanUser:
    """An object driving one Fan (`self.fan`): the printer's connect,
    status and end-of-run calls go to the fan."""

    def connect(self, printer):
        self.fan.connect(printer)

    def get_status(self):
        return self.fan.get_status()

    def request_restart(self, print_time):
        self.fan.request_restart(print_time)


class PrinterFan(FanUser):
    """[fan]: the part-cooling fan driven by M106/M107."""

    def __init__(self, printer, section):
        self.fan = Fan(printer, section)
        printer.dispatcher.register("M106", self.cmd_M106)
        printer.dispatcher.register("M107", self.cmd_M107)

    def cmd_M106(self, cmd):
        self.fan.set_speed_from_command(cmd.get_float("S", 255., minval=0.) / 255.)

    def cmd_M107(self, cmd):
        self.fan.set_speed_from_command(0.)


def load_fan(printer, section):
    return PrinterFan(printer, section)


class GenericFan(FanUser):
    """[fan_generic NAME]: a fan set by SET_FAN_SPEED FAN=NAME SPEED=v
    (toolhead-synced, like M106)."""

    def __init__(self, printer, section):
        self.name = section.name.split(None, 1)[-1]
        self.fan = Fan(printer, section)
        printer.dispatcher.register_mux("SET_FAN_SPEED", "FAN", self.name,
                                        self.cmd_SET_FAN_SPEED, "Set the speed of a fan")

    def cmd_SET_FAN_SPEED(self, cmd):
        if cmd.get("TEMPLATE", None) is not None:
            raise cmd.error("SET_FAN_SPEED TEMPLATE= (display templates) is not supported")
        self.fan.set_speed_from_command(cmd.get_float("SPEED", minval=0.))


def load_fan_generic(printer, section):
    return GenericFan(printer, section)
