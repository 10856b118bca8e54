"""Analog inputs by pin description: an MCU's ADC pin (`PA3`, `ebb:PA3`)
or a pin of an ADC chip another section provides (`my_scaled:PC3` for
[adc_scaled my_scaled]).

Contract: `make_adc(hw, section, option, sample_time, sample_count,
report_time)` returns an object with AnalogIn's interface
(setup_callback, setup_minmax, mcu, pin, oid); the range starts unchecked
(0..1 of full scale, no range check) until setup_minmax. A chip is found
in `hw.pin_chips` by name and must have `setup_adc(...)`.
"""
from .configfile import ConfigError
from .mcu import AnalogIn


def make_adc(hw, section, option, sample_time, sample_count, report_time):
    spec = section.getpin(option)
    chip = hw.pin_chips.get(spec.chip)
    if chip is not None:
        if not hasattr(chip, "setup_adc"):
            raise ConfigError("pin type adc not supported on chip '%s'" % (spec.chip,),
                              section.location(option))
        return chip.setup_adc(spec.pin, section.location(option), sample_time,
                              sample_count, report_time)
    mcu = hw.lookup(spec.chip, section, option)
    mcu.check_pin(spec.pin, section.location(option))
    return AnalogIn(mcu, spec.pin, sample_time, sample_count, report_time, 0., 1., 0)
