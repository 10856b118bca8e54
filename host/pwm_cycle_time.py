"""[pwm_cycle_time NAME]: a soft-PWM output pin whose cycle time SET_PIN
may change (docs/Config_Reference.md [pwm_cycle_time], docs/G-Codes.md
SET_PIN ... CYCLE_TIME=).

Contract: `load_pwm_cycle_time(printer, section)`; get_status() gives
{'value': v}. Options: pin, cycle_time (default 0.100 s, at most 5 s),
scale, value, shutdown_value (0 or scale: a soft PWM's shutdown level is
on or off). The pin is configured like [output_pin] with pwm (config,
cycle, start value at est + 0.2 s). `SET_PIN PIN=NAME VALUE=v
[CYCLE_TIME=t]` is toolhead-synced like output_pin's; a new cycle time
first sends `set_digital_out_pwm_cycle`, then the value as a
`queue_digital_out` of the new cycle.
"""
from .output_pin import OutputPin, make_pwm_pin

MAX_SCHEDULE_TIME = 5.0


class PwmCyclePin(OutputPin):
    """Shares [output_pin]'s request plumbing and status; own options,
    value rule and SET_PIN."""
    is_pwm = True

    def __init__(self, printer, section):  # pylint: disable=super-init-not-called
        self.name = section.name.split()[-1]
        cycle_time = section.getfloat("cycle_time", 0.100, above=0., maxval=MAX_SCHEDULE_TIME)
        self.default_cycle_time = self.last_cycle_time = cycle_time
        self.scale = section.getfloat("scale", 1., above=0.)
        self.last_value = section.getfloat("value", 0., minval=0., maxval=self.scale) / self.scale
        shutdown = section.getfloat("shutdown_value", 0., minval=0.,
                                    maxval=self.scale) / self.scale
        if shutdown not in (0., 1.):
            raise section.error("shutdown value must be 0.0 or 1.0 on soft pwm",
                                "shutdown_value")
        mcu, self.pin = make_pwm_pin(printer.hw, section, "pin", cycle_time, False,
                                     self.last_value, shutdown)
        self._register(printer, mcu)

    def _apply(self, print_time, request):
        value, cycle_time = request
        if value == self.last_value and cycle_time == self.last_cycle_time:
            return "discard", 0.
        if cycle_time != self.last_cycle_time:
            self.pin.set_cycle_time(print_time, cycle_time)
        self.pin.set_pwm(print_time, value)
        self.last_value, self.last_cycle_time = value, cycle_time
        return None

    def cmd_SET_PIN(self, cmd):
        value = cmd.get_float("VALUE", minval=0., maxval=self.scale) / self.scale
        cycle_time = cmd.get_float("CYCLE_TIME", self.default_cycle_time, above=0.,
                                   maxval=MAX_SCHEDULE_TIME)
        self.requests.queue_gcode_request((value, cycle_time))


def load_pwm_cycle_time(printer, section):
    return PwmCyclePin(printer, section)
