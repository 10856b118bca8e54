"""[static_digital_output NAME]: pins set once at configuration time and
never changed (docs/Config_Reference.md [static_digital_output]).

Contract: `load_static_digital_output(printer, section)`. Each pin of
the `pins` list becomes a `set_digital_out pin=.. value=..` configuration
command (value 1, or 0 for a `!` pin), added when the section is loaded:
before the configuration commands that objects build at connect time,
as in Klipper, where it is added directly rather than from a callback.
"""
from .configfile import pin_at


class StaticDigitalOutput:
    def __init__(self, printer, section):
        for text in section.getlist("pins"):
            spec = pin_at(text.strip(), section.name, "pins", section.location("pins"),
                          can_invert=True)
            mcu = printer.hw.lookup(spec.chip, section, "pins")
            mcu.check_pin(spec.pin, section.location("pins"))
            mcu.add_config_cmd("set_digital_out",
                               {"pin": spec.pin, "value": int(not spec.invert)})


def load_static_digital_output(printer, section):
    return StaticDigitalOutput(printer, section)
