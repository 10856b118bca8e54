"""[adc_scaled NAME]: ADC readings corrected by the measured reference
voltages (docs/Config_Reference.md [adc_scaled]): `vref_pin` and
`vssa_pin` are sampled like any ADC input (no range check), their
readings smoothed over `smooth_time` (default 2 s), and a pin
`NAME:PIN` reads PIN on the same MCU scaled to (raw - vssa) / (vref - vssa).

Contract: `load_adc_scaled(printer, section)` registers the chip in
`printer.hw.pin_chips`; `setup_adc(pin, where, sample_time, sample_count,
report_time)` (called through host/adc_pins.make_adc) returns the scaled
input. Until both references have been read (compile mode: never) the
scale is undefined; readings then pass unscaled.
"""
from .adc_pins import make_adc
from .configfile import ConfigError
from .mcu import AnalogIn

SAMPLE_TIME = 0.001
SAMPLE_COUNT = 8
REPORT_TIME = 0.300


class ScaledAdc(AnalogIn):
    """An MCU analog input whose readings the chip rescales."""

    def __init__(self, chip, mcu, pin, sample_time, sample_count, report_time):
        super().__init__(mcu, pin, sample_time, sample_count, report_time, 0., 1., 0)
        self.chip = chip
        self._user = None
        super().setup_callback(self._scaled)

    def setup_callback(self, callback):
        self._user = callback

    def _scaled(self, read_time, fraction):
        if self._user is not None:
            self._user(read_time, self.chip.scale(fraction))


class AdcScaled:
    def __init__(self, printer, section):
        self.name = section.name.split()[-1]
        self.vref = self._reference(printer, section, "vref_pin")
        self.vssa = self._reference(printer, section, "vssa_pin")
        self.smooth_time = section.getfloat("smooth_time", 2., above=0.)
        self.mcu = self.vref.mcu
        if self.mcu is not self.vssa.mcu:
            raise section.error("vref and vssa must be on same mcu")
        self.last = {"vref_pin": (0., 0.), "vssa_pin": (0., 0.)}   # (time, value)
        if self.name in printer.hw.pin_chips or self.name in printer.hw.mcus:
            raise ConfigError("Duplicate chip name '%s'" % (self.name,), section.location())
        printer.hw.pin_chips[self.name] = self

    def _reference(self, printer, section, option):
        adc = make_adc(printer.hw, section, option, SAMPLE_TIME, SAMPLE_COUNT, REPORT_TIME)
        adc.setup_callback(lambda read_time, value: self._smooth(option, read_time, value))
        return adc

    def _smooth(self, option, read_time, value):
        last_time, last_value = self.last[option]
        weight = min((read_time - last_time) / self.smooth_time, 1.)
        self.last[option] = (read_time, last_value + (value - last_value) * weight)

    def scale(self, fraction):
        high, low = self.last["vref_pin"][1], self.last["vssa_pin"][1]
        if high == low:
            return fraction
        return (fraction - low) / (high - low)

    def setup_adc(self, pin, where, sample_time, sample_count, report_time):
        self.mcu.check_pin(pin, where)
        return ScaledAdc(self, self.mcu, pin, sample_time, sample_count, report_time)


def load_adc_scaled(printer, section):
    return AdcScaled(printer, section)
