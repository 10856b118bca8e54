"""Pins that are not an MCU's own: [multi_pin NAME] (one output driving
several MCU pins) and I/O expanders on I2C ([sx1509 NAME]), named in
other sections as `multi_pin:NAME` and `sx1509_NAME:PIN_n`
(docs/Config_Reference.md [multi_pin], [sx1509]).

Contract: loaders register a chip in `printer.hw.pin_chips`; a chip has
`setup_pwm(hw, spec, section, option, cycle_time, hardware_pwm,
start_value, shutdown_value, max_duration)` and `setup_digital(hw, spec,
section, option, start_value, shutdown_value)`, each returning (mcu, pin
object) like host/output_pin.make_pwm_pin / make_digital_pin.

- multi_pin: the listed pins are configured in list order, each as the
  kind of output asked for (an inverted reference `!multi_pin:NAME`
  inverts them all); every update goes to all of them. A multi_pin
  serves one user only.
- sx1509: Klipper drives the expander's registers over I2C; klipsim does
  not model that traffic: the section gets one warning and its pins
  accept updates without sending anything.
"""
from .configfile import ConfigError, pin_at
from .output_pin import make_digital_pin, make_pwm_pin


class MultiOutput:
    """Several pin objects updated together; reads like the first one."""

    def __init__(self, outputs):
        self.outputs = outputs
        first = outputs[0]
        self.mcu, self.pin, self.invert = first.mcu, first.pin, first.invert

    @property
    def oid(self):
        return self.outputs[0].oid

    def set_pwm(self, print_time, value):
        for out in self.outputs:
            out.set_pwm(print_time, value)

    def set_digital(self, print_time, value):
        for out in self.outputs:
            out.set_digital(print_time, value)


class _PinsSection:
    """A stand-in section whose option `pin` is one pin of the list, so
    the normal MCU pin builders (and their error places) apply."""

    def __init__(self, section, text):
        self._section = section
        self._text = text

    def get(self, option, default=None):
        return self._text

    def getpin(self, option, default=None, can_invert=False, can_pullup=False):
        return pin_at(self._text, self._section.name, "pins", self.location(),
                      can_invert, can_pullup)

    def location(self, option=None):
        return self._section.location("pins")

    def error(self, message, option=None):
        return self._section.error(message, "pins")


class MultiPins:
    """The `multi_pin` chip: every [multi_pin NAME] section by NAME."""

    def __init__(self):
        self.pins = {}            # NAME -> (section, [pin text])
        self.used = set()

    def _members(self, spec, where):
        entry = self.pins.get(spec.pin)
        if entry is None:
            raise ConfigError("multi_pin %s not configured" % (spec.pin,), where)
        if spec.pin in self.used:
            raise ConfigError("Can't setup multi_pin %s twice" % (spec.pin,), where)
        self.used.add(spec.pin)
        section, texts = entry
        prefix = "!" if spec.invert else ""
        return [_PinsSection(section, prefix + text) for text in texts]

    def setup_pwm(self, hw, spec, section, option, cycle_time, hardware_pwm,
                  start_value, shutdown_value, max_duration):
        members = self._members(spec, section.location(option))
        outputs = [make_pwm_pin(hw, member, "pin", cycle_time, hardware_pwm, start_value,
                                shutdown_value, max_duration)[1] for member in members]
        return outputs[0].mcu, MultiOutput(outputs)

    def setup_digital(self, hw, spec, section, option, start_value, shutdown_value):
        members = self._members(spec, section.location(option))
        outputs = [make_digital_pin(hw, member, "pin", start_value, shutdown_value)[1]
                   for member in members]
        return outputs[0].mcu, MultiOutput(outputs)


def load_multi_pin(printer, section):
    chips = printer.hw.pin_chips
    chip = chips.setdefault("multi_pin", MultiPins())
    name = section.name.split()[-1]
    texts = [t.strip() for t in section.getlist("pins")]
    for text in texts:   # a bad description is an error here, at its option
        pin_at(text, section.name, "pins", section.location("pins"), can_invert=True)
    chip.pins[name] = (section, texts)


class SilentOutput:
    """A pin on a chip whose traffic klipsim does not model."""

    def __init__(self, mcu, pin, invert):
        self.mcu, self.pin, self.invert = mcu, pin, int(bool(invert))
        self.oid = None

    def set_pwm(self, print_time, value):
        pass

    def set_digital(self, print_time, value):
        pass


class Sx1509:
    """[sx1509 NAME]: options read, pins silent (see the docstring)."""

    def __init__(self, printer, section):
        self.mcu = printer.hw.lookup(section.get("i2c_mcu", "mcu"), section, "i2c_mcu")
        section.getint("i2c_address")
        for option in ("i2c_bus", "i2c_speed", "i2c_software_scl_pin", "i2c_software_sda_pin"):
            section.get(option, None)
        printer.dispatcher.warn(
            "%s: [%s] is accepted but not modelled by klipsim (its I2C commands are"
            " not sent; outputs on its pins send nothing)" % (section.location(), section.name))

    def setup_pwm(self, hw, spec, section, option, cycle_time, hardware_pwm,
                  start_value, shutdown_value, max_duration):
        return self.mcu, SilentOutput(self.mcu, spec.pin, spec.invert)

    def setup_digital(self, hw, spec, section, option, start_value, shutdown_value):
        return self.mcu, SilentOutput(self.mcu, spec.pin, spec.invert)


def load_sx1509(printer, section):
    chip = Sx1509(printer, section)
    printer.hw.pin_chips["sx1509_" + section.name.split()[-1]] = chip
    return chip
