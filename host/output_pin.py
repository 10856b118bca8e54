"""[output_pin NAME]: a digital or PWM output set by SET_PIN PIN=NAME
VALUE=v (docs/Config_Reference.md [output_pin], docs/G-Codes.md SET_PIN).

Contract: `load_output_pin(printer, section)`; `get_status()` gives
{'value': v} (the last value sent, as a fraction of `scale`). Also
`make_pwm_pin(...)` / `make_digital_pin(...)`, shared with the fans.

Options: pin, pwm (default False), cycle_time (PWM, default 0.100 s),
hardware_pwm (PWM, needs config_pwm_out in the MCU's dictionary), scale
(PWM, default 1), value and shutdown_value (0..scale, default 0).

SET_PIN is toolhead-synced: the value is timed at the end of the moves
queued before it and sent through a RequestQueue (host/request_queue.py),
so updates of one pin are at least 0.1 s apart and a value equal to the
current one sends nothing. A digital pin accepts only 0 and 1.
"""
from .configfile import ConfigError
from .hw_pwm import HardwarePwm
from .mcu import DigitalOut, SoftPwm
from .request_queue import RequestQueue

MAX_NOMINAL_DURATION = 3.0   # mcu.py: longest PWM cycle / max_duration


def _mcu_and_pin(hw, section, option):
    spec = section.getpin(option, can_invert=True)
    mcu = hw.lookup(spec.chip, section, option)
    mcu.check_pin(spec.pin, section.location(option))
    return mcu, spec


def _chip_of(hw, section, option):
    """The pin chip ([multi_pin], [sx1509]...) named by the option, or None."""
    spec = section.getpin(option, can_invert=True)
    chip = hw.pin_chips.get(spec.chip)
    return (chip, spec) if chip is not None else (None, spec)


def make_pwm_pin(hw, section, option, cycle_time, hardware_pwm,
                 start_value=0., shutdown_value=0., max_duration=0.):
    """A soft- or hardware-PWM pin object for `option` of `section`."""
    chip, spec = _chip_of(hw, section, option)
    if chip is not None:
        return chip.setup_pwm(hw, spec, section, option, cycle_time, hardware_pwm,
                              start_value, shutdown_value, max_duration)
    mcu, spec = _mcu_and_pin(hw, section, option)
    if hardware_pwm:
        return mcu, HardwarePwm(mcu, spec.pin, spec.invert, cycle_time, start_value,
                                shutdown_value, where=section.location(option))
    return mcu, SoftPwm(mcu, spec.pin, spec.invert, cycle_time, start_value,
                        shutdown_value, max_duration)


def make_digital_pin(hw, section, option, start_value=0, shutdown_value=0):
    chip, spec = _chip_of(hw, section, option)
    if chip is not None:
        return chip.setup_digital(hw, spec, section, option, start_value, shutdown_value)
    mcu, spec = _mcu_and_pin(hw, section, option)
    return mcu, DigitalOut(mcu, spec.pin, spec.invert, start_value, shutdown_value)


class OutputPin:
    def __init__(self, printer, section):
        self.name = section.name.split(None, 1)[1] if " " in section.name else ""
        if not self.name:
            raise ConfigError("Section '%s' needs a name ([output_pin NAME])"
                              % (section.name,), section.location())
        self.is_pwm = section.getboolean("pwm", False)
        self.scale = 1.
        if self.is_pwm:
            cycle_time = section.getfloat("cycle_time", 0.100, above=0.,
                                          maxval=MAX_NOMINAL_DURATION)
            hardware_pwm = section.getboolean("hardware_pwm", False)
            self.scale = section.getfloat("scale", 1., above=0.)
        self.last_value = section.getfloat("value", 0., minval=0., maxval=self.scale) / self.scale
        self.shutdown_value = section.getfloat(
            "shutdown_value", 0., minval=0., maxval=self.scale) / self.scale
        if self.is_pwm:
            mcu, self.pin = make_pwm_pin(printer.hw, section, "pin", cycle_time,
                                         hardware_pwm, self.last_value, self.shutdown_value)
        else:
            # A digital pin is on for any non-zero value (as in Klipper).
            mcu, self.pin = make_digital_pin(printer.hw, section, "pin",
                                             int(bool(self.last_value)),
                                             int(bool(self.shutdown_value)))
        self._register(printer, mcu)

    def _register(self, printer, mcu):
        """Requests through a RequestQueue; SET_PIN PIN=<name>."""
        self.requests = RequestQueue(mcu, printer.motion, printer.reactor, self._apply)
        printer.dispatcher.register_mux("SET_PIN", "PIN", self.name, self.cmd_SET_PIN,
                                        "Set the value of an output pin")

    def connect(self, printer):
        self.requests.connect(printer.toolhead)

    def get_status(self):
        return {"value": self.last_value}

    def request_restart(self, print_time):
        """End of run: send what is still waiting (nothing flushes later)."""
        self.requests.drain()

    def _apply(self, print_time, value):
        if value == self.last_value:
            return "discard", 0.
        self.last_value = value
        if self.is_pwm:
            self.pin.set_pwm(print_time, value)
        else:
            self.pin.set_digital(print_time, value)
        return None

    def cmd_SET_PIN(self, cmd):
        if cmd.get("TEMPLATE", None) is not None:
            raise cmd.error("SET_PIN TEMPLATE= (display templates) is not supported")
        value = cmd.get_float("VALUE", minval=0., maxval=self.scale) / self.scale
        if not self.is_pwm and value not in (0., 1.):
            raise cmd.error("Invalid pin value")
        self.requests.queue_gcode_request(value)


def load_output_pin(printer, section):
    return OutputPin(printer, section)
