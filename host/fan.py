"""Part-cooling fan ([fan]): M106/M107 set a soft-PWM duty at the print
time of the toolhead's last queued move (toolhead-synced), with Klipper's
kick start (full power for kick_start_time when starting from off) and
off_below threshold (docs/Config_Reference.md [fan])."""
from .mcu import SoftPwm
from .pins import parse_pin

FAN_CYCLE_TIME = 0.010   # fan.py default cycle_time


class Fan:
    def __init__(self, section, hw):
        self.max_power = section.getfloat("max_power", 1., above=0., maxval=1.)
        self.kick_start_time = section.getfloat("kick_start_time", 0.1, minval=0.)
        self.off_below = section.getfloat("off_below", 0., minval=0., maxval=1.)
        cycle_time = section.getfloat("cycle_time", FAN_CYCLE_TIME, above=0.)
        section.getboolean("hardware_pwm", False)
        shutdown_speed = section.getfloat("shutdown_speed", 0., minval=0., maxval=1.)
        pin = parse_pin(section.get("pin"), can_invert=True)
        mcu = hw.lookup(pin.chip, section, "pin")
        mcu.check_pin(pin.pin, section.location("pin"))
        self.pwm = SoftPwm(mcu, pin.pin, pin.invert, cycle_time,
                           shutdown_value=max(0., min(self.max_power, shutdown_speed)))
        self.last_value = 0.

    def connect(self, printer):
        self.toolhead = printer.toolhead

    def cmd_M106(self, cmd):
        value = cmd.get_float("S", 255., minval=0.) / 255.
        self.toolhead.register_lookahead_callback(
            lambda print_time: self.set_speed(print_time, value))

    def cmd_M107(self, cmd):
        self.toolhead.register_lookahead_callback(
            lambda print_time: self.set_speed(print_time, 0.))

    def get_status(self):
        return {"speed": self.last_value}

    def set_speed(self, print_time, value):
        if value < self.off_below:
            value = 0.
        value = max(0., min(self.max_power, value * self.max_power))
        if value == self.last_value:
            return
        if value and value < self.max_power and self.kick_start_time and (
                not self.last_value or value - self.last_value > .5):
            self.pwm.set_pwm(print_time, self.max_power)
            print_time += self.kick_start_time
        self.pwm.set_pwm(print_time, value)
        self.last_value = value


def load_fan(printer, section):
    """[fan]: the part-cooling fan driven by M106/M107."""
    fan = Fan(section, printer.hw)
    printer.dispatcher.register("M106", fan.cmd_M106)
    printer.dispatcher.register("M107", fan.cmd_M107)
    return fan
