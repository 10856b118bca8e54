"""The printer's hardware registry: its MCUs (by chip name, `mcu` for the
main one), the motion queues, and the stepper enable lines. Rails,
extruders, heaters and fans are built against it."""
from .configfile import ConfigError
from .mcu import Endstop
from .stepper_enable import StepperEnable


class Hardware:
    def __init__(self, mcus, motion_queuing):
        self.mcus = mcus                  # name -> MCU, main first
        self.motion = motion_queuing
        self.stepper_enable = StepperEnable()
        # Pin chips that are not MCUs, by the name pins use before the colon:
        # [adc_scaled], [multi_pin], [sx1509] ... (setup_adc/setup_pin),
        # "probe" for probe:z_virtual_endstop and "tmc2209_stepper_x" for
        # sensorless homing (setup_endstop(pin_spec, where)).
        self.pin_chips = {}

    def lookup(self, chip, section, option):
        mcu = self.mcus.get(chip)
        if mcu is None and chip in self.pin_chips:
            where = section.location(option) if section is not None else option
            raise ConfigError("%s: pin chip '%s' does not provide this kind of pin"
                              % (where, chip))
        if mcu is None:
            where = section.location(option) if section is not None else option
            raise ConfigError("%s: unknown MCU '%s'" % (where, chip))
        return mcu

    @property
    def main_mcu(self):
        return self.mcus["mcu"]

    def register_stepper(self, stepper):
        """A stepper exists: queue it for motion and give it an enable line
        (configured right after the stepper, as Klipper orders them)."""
        self.motion.register_stepper(stepper)
        self.stepper_enable.register_stepper(stepper, self)

    def setup_endstop(self, spec, section, option):
        """The endstop a parsed `endstop_pin` (PinSpec) names: a virtual
        endstop of a registered chip, or a new endstop on an MCU pin."""
        where = section.location(option)
        chip = self.pin_chips.get(spec.chip)
        if chip is not None and hasattr(chip, "setup_endstop"):
            return chip.setup_endstop(spec, where)
        mcu = self.lookup(spec.chip, section, option)
        mcu.check_pin(spec.pin, where)
        return Endstop(mcu, spec.pin, spec.pullup, spec.invert)
