"""LEDs: the SET_LED command and colour state shared by every LED type
(`LedHelper`), and [led NAME] driven by up to four PWM pins (red_pin,
green_pin, blue_pin, white_pin) (docs/Config_Reference.md [led],
docs/G-Codes.md SET_LED).

Contract: `LedHelper(printer, section, update, led_count)` registers
SET_LED LED=<last word of the section name> and calls
`update(colors, print_time)` (colors: one (r, g, b, w) tuple per LED;
print_time None for "as soon as possible") when a transmitting SET_LED
changed something; `get_status()` gives {'color_data': colors}.
`load_led(printer, section)` builds a PWM [led].

Klipper's timing, restated: with SYNC=1 (default) SET_LED applies at the
end of the queued moves (a look-ahead callback); SYNC=0 applies at once.
TRANSMIT=0 only records the colour, the next transmitting SET_LED sends
it. Unspecified colours are 0. A PWM LED sends only the channels that
changed, at least 0.1 s after its previous update, an unsynced update at
the estimated print time + 0.1 s (0.1 s offline); each pin starts at its
initial_<COLOR> value (default 0) and shuts down to 0.
"""
from .configfile import ConfigError
from .output_pin import MAX_NOMINAL_DURATION, make_pwm_pin
from .request_queue import MIN_SCHEDULE_TIME

COLORS = ("red", "green", "blue", "white")


class LedHelper:
    def __init__(self, printer, section, update, led_count=1):
        self.update = update
        self.led_count = led_count
        initial = tuple(section.getfloat("initial_" + c.upper(), 0., minval=0., maxval=1.)
                        for c in COLORS)
        self.colors = [initial] * led_count
        self.need_transmit = False
        self.toolhead = None
        name = section.name.split()[-1]
        printer.dispatcher.register_mux("SET_LED", "LED", name, self.cmd_SET_LED,
                                        "Set the color of an LED")

    def connect(self, printer):
        self.toolhead = printer.toolhead

    def get_status(self):
        return {"color_data": list(self.colors)}

    def _set_color(self, index, color):
        if index is None:
            colors = [color] * self.led_count
        else:
            colors = list(self.colors)
            colors[index - 1] = color
        if colors != self.colors:
            self.colors = colors
            self.need_transmit = True

    def _transmit(self, print_time):
        if self.need_transmit:
            self.need_transmit = False
            self.update(list(self.colors), print_time)

    def cmd_SET_LED(self, cmd):
        color = tuple(cmd.get_float(c.upper(), 0., minval=0., maxval=1.) for c in COLORS)
        index = cmd.get_int("INDEX", None, minval=1, maxval=self.led_count)
        transmit = cmd.get_int("TRANSMIT", 1)
        sync = cmd.get_int("SYNC", 1)

        def apply(print_time):
            self._set_color(index, color)
            if transmit:
                self._transmit(print_time)
        if sync:
            self.toolhead.register_lookahead_callback(apply)
        else:
            apply(None)


class PwmLed:
    def __init__(self, printer, section):
        self.printer = printer
        cycle_time = section.getfloat("cycle_time", 0.010, above=0., maxval=MAX_NOMINAL_DURATION)
        hardware_pwm = section.getboolean("hardware_pwm", False)
        pin_options = [(i, c + "_pin") for i, c in enumerate(COLORS)
                       if section.get(c + "_pin", None) is not None]
        if not pin_options:
            raise ConfigError("No LED pin definitions found in '%s'" % (section.name,),
                              section.location())
        self.helper = LedHelper(printer, section, self._update, 1)
        self.sent_color = initial = self.helper.colors[0]
        self.pins = []          # (channel index, pin object)
        self.mcu = None
        for index, option in pin_options:
            mcu, pin = make_pwm_pin(printer.hw, section, option, cycle_time,
                                    hardware_pwm, initial[index], 0.)
            self.mcu = self.mcu or mcu
            self.pins.append((index, pin))
        self.last_print_time = 0.

    def connect(self, printer):
        self.helper.connect(printer)

    def get_status(self):
        return self.helper.get_status()

    def _update(self, colors, print_time):
        color = colors[0]
        if print_time is None:
            eventtime = self.printer.reactor.monotonic()
            print_time = self.mcu.estimated_print_time(eventtime) + MIN_SCHEDULE_TIME
        print_time = max(print_time, self.last_print_time + MIN_SCHEDULE_TIME)
        for index, pin in self.pins:
            if self.sent_color[index] != color[index]:
                pin.set_pwm(print_time, color[index])
                self.last_print_time = print_time
        self.sent_color = color


def load_led(printer, section):
    return PwmLed(printer, section)
