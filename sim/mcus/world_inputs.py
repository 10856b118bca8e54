"""The firmware's simulated world inputs, set from the commands it is
about to run: endstops never sit at their trigger level (no endstop hits,
so homing moves run their full travel, as in Klipper's batch mode), and
every ADC reads the middle of the range the host allows (a sensor at a
plausible temperature, never an "ADC out of range"), except the pins in
`driven_adc`, whose values something else sets (sim/mcus/thermal.py)."""


# The commands note() looks at (callers may skip the call for the rest).
NOTED = frozenset(("config_endstop", "config_analog_in", "endstop_home", "query_analog_in"))


class SimulatedInputs:
    def __init__(self, firmware, adc_max):
        self.fw = firmware
        self.adc_max = adc_max
        self.endstop_pins = {}       # endstop oid -> pin name
        self.adc_pins = {}           # analog oid -> pin name
        self.driven_adc = set()      # pin numbers set by a thermal model

    def _driven(self, pin):
        number = pin if isinstance(pin, int) else self.fw.pin(pin)
        return number in self.driven_adc

    def note(self, name, args):
        """Update pins for a command before the firmware runs it."""
        if name == "config_endstop":
            self.endstop_pins[args["oid"]] = args["pin"]
        elif name == "config_analog_in":
            self.adc_pins[args["oid"]] = args["pin"]
        elif name == "endstop_home" and args["sample_count"]:
            pin = self.endstop_pins.get(args["oid"])
            if pin is not None:
                self.fw.set_input(pin, 0 if args["pin_value"] else 1)
        elif name == "query_analog_in" and args["sample_count"]:
            pin = self.adc_pins.get(args["oid"])
            if pin is not None and not self._driven(pin):
                middle = (args["min_value"] + args["max_value"]) // 2 // args["sample_count"]
                self.fw.set_adc(pin, min(middle, self.adc_max))
