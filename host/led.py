"""[led NAME]: an LED driven by up to four PWM pins (red_pin, green_pin,
blue_pin, white_pin), set by SET_LED LED=NAME RED= GREEN= BLUE= WHITE=
(docs/Config_Reference.md [led], docs/G-Codes.md SET_LED).

Contract: `load_led(printer, section)`; `get_status()` gives
{'color_data': [(r, g, b, w)]} as macros read it.

Klipper's timing, restated: with SYNC=1 (default) the colour is applied
at the end of the queued moves (a look-ahead callback); SYNC=0 applies it
at the estimated print time + 0.1 s (0.1 s offline). Only channels whose
value changed are sent, and updates are at least 0.1 s apart. TRANSMIT=0
only records the colour, the next transmitting SET_LED sends it. Each pin
starts at its initial_<COLOR> value (default 0) and shuts down to 0.
"""
from .configfile import ConfigError
from .output_pin import MAX_NOMINAL_DURATION, make_pwm_pin
from .request_queue import MIN_SCHEDULE_TIME

COLORS = ("red", "green", "blue", "white")


class PwmLed:
    def __init__(self, printer, section):
        self.printer = printer
        self.name = section.name.split()[-1]
        cycle_time = section.getfloat("cycle_time", 0.010, above=0., maxval=MAX_NOMINAL_DURATION)
        hardware_pwm = section.getboolean("hardware_pwm", False)
        initial = tuple(section.getfloat("initial_" + c.upper(), 0., minval=0., maxval=1.)
                        for c in COLORS)
        self.pins = []          # (channel index, pin object)
        self.mcu = None
        for index, color in enumerate(COLORS):
            if section.get(color + "_pin", None) is None:
                continue
            mcu, pin = make_pwm_pin(printer.hw, section, color + "_pin", cycle_time,
                                    hardware_pwm, initial[index], 0.)
            self.mcu = self.mcu or mcu
            self.pins.append((index, pin))
        if not self.pins:
            raise ConfigError("No LED pin definitions found in '%s'" % (section.name,),
                              section.location())
        self.color = initial            # the colour asked for
        self.sent_color = initial       # the colour the pins show
        self.need_transmit = False
        self.last_print_time = 0.
        self.toolhead = None
        printer.dispatcher.register_mux("SET_LED", "LED", self.name, self.cmd_SET_LED,
                                        "Set the color of an LED")

    def connect(self, printer):
        self.toolhead = printer.toolhead

    def get_status(self):
        return {"color_data": [self.color]}

    def cmd_SET_LED(self, cmd):
        color = tuple(cmd.get_float(c.upper(), 0., minval=0., maxval=1.) for c in COLORS)
        cmd.get_int("INDEX", None, minval=1, maxval=1)
        transmit = cmd.get_int("TRANSMIT", 1)
        sync = cmd.get_int("SYNC", 1)

        def apply(print_time):
            if color != self.color:
                self.color = color
                self.need_transmit = True
            if transmit:
                self._transmit(print_time)
        if sync:
            self.toolhead.register_lookahead_callback(apply)
        else:
            apply(None)

    def _transmit(self, print_time):
        if not self.need_transmit:
            return
        self.need_transmit = False
        if print_time is None:
            eventtime = self.printer.reactor.monotonic()
            print_time = self.mcu.estimated_print_time(eventtime) + MIN_SCHEDULE_TIME
        print_time = max(print_time, self.last_print_time + MIN_SCHEDULE_TIME)
        for index, pin in self.pins:
            if self.sent_color[index] != self.color[index]:
                pin.set_pwm(print_time, self.color[index])
                self.last_print_time = print_time
        self.sent_color = self.color


def load_led(printer, section):
    return PwmLed(printer, section)
