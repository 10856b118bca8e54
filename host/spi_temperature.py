"""Thermocouple and RTD converter chips on SPI: MAX6675, MAX31855,
MAX31856, MAX31865 (docs/Config_Reference.md, "MAXxxxxx temperature
sensors"; register layouts from the chips' datasheets).

Contract: `SpiSensor(hw, section, chip_type)` with the sensor interface
(setup_minmax, setup_callback, report_time). It owns an SPI device
(host/bus.py; chip select on `sensor_pin`, 4 MHz by default) and a
thermocouple object on the MCU: `config_thermocouple oid spi_oid
thermocouple_type` at connect, `query_thermocouple oid clock rest_ticks
min_value max_value max_invalid_count=3` as an init command (a report
every 0.3 s from the query slot of its oid); chips that need set-up get
their register writes as an `spi_send` when the sensor is created. The
MCU checks each raw reading against min_value..max_value (the raw values
of min_temp and max_temp).

Raw value <-> temperature, per chip:
- MAX6675: 12-bit, 0.25 C per count, shifted left 3 (bits 0-2 are status);
- MAX31855: 14-bit signed, 0.25 C per count, in bits 18-31;
- MAX31856: 19-bit signed, 0.0078125 C per count, shifted left 5;
- MAX31865: 15-bit ratio of the RTD to `rtd_reference_r` (default 430
  ohm) over 2^15, shifted left 1; temperature from Callendar-Van Dusen,
  R/R0 = 1 + A*t + B*t^2 with A 3.9083e-3 and B -5.775e-7 (IEC 60751, t
  capped at platinum's melting point 1768.3 C), R0 = `rtd_nominal_r`
  (default 100 ohm).
"""
import math

from .bus import SpiDevice
from .mcu import extend_clock32

REPORT_TIME = 0.300
MAX_INVALID_COUNT = 3
DEFAULT_SPEED = 4000000

# MAX31856 registers (datasheet): CR0 auto-convert 0x80, 50 Hz filter
# 0x01; CR1 = averaging | thermocouple type; MASK: report only the
# over/under-voltage (0x02) and open-circuit (0x01) faults.
MAX31856_WRITE_CR0 = 0x80
MAX31856_CR0_AUTOCONVERT = 0x80
MAX31856_CR0_50HZ = 0x01
MAX31856_TYPES = {"B": 0, "E": 1, "J": 2, "K": 3, "N": 4, "R": 5, "S": 6, "T": 7}
MAX31856_AVERAGING = {1: 0x00, 2: 0x10, 4: 0x20, 8: 0x30, 16: 0x70}
MAX31856_MASK = 0x03
# MAX31865 configuration register (datasheet): bias on 0x80, automatic
# conversion 0x40, 3-wire 0x10, fault status clear 0x02, 50 Hz 0x01.
MAX31865_WRITE_CONFIG = 0x80
MAX31865_CONFIG = 0x80 | 0x40 | 0x02
MAX31865_3WIRE = 0x10
MAX31865_50HZ = 0x01
MAX31865_ADC_MAX = 1 << 15
CVD_A = 3.9083e-3
CVD_B = -5.775e-7
PLATINUM_MELT = 1768.3


class LinearChip:
    """A thermocouple chip: signed counts of `step` C in `bits` bits,
    shifted left by `shift` in the raw value."""

    def __init__(self, step, bits, shift):
        self.step, self.bits, self.shift = step, bits, shift

    def calc_adc(self, temp):
        counts = int(temp / self.step + 0.5)
        return max(0, min((1 << (self.bits - 1)) - 1, counts)) << self.shift

    def calc_temp(self, raw):
        counts = (raw >> self.shift) & ((1 << self.bits) - 1)
        if counts & (1 << (self.bits - 1)):
            counts -= 1 << self.bits
        return counts * self.step


class Max31865:
    def __init__(self, section):
        nominal = section.getfloat("rtd_nominal_r", 100., above=0.)
        reference = section.getfloat("rtd_reference_r", 430., above=0.)
        self.ohms_per_count_rel = reference / MAX31865_ADC_MAX / nominal

    def calc_adc(self, temp):
        temp = min(temp, PLATINUM_MELT)
        ratio = 1. + CVD_A * temp + CVD_B * temp * temp
        counts = int(ratio / self.ohms_per_count_rel + 0.5)
        return max(0, min(MAX31865_ADC_MAX, counts)) << 1

    def calc_temp(self, raw):
        ratio = (raw >> 1) * self.ohms_per_count_rel
        root = math.sqrt(CVD_A ** 2 - 4. * CVD_B * (1. - ratio))
        return (root - CVD_A) / (2. * CVD_B)


def _max31856_init(section):
    cr0 = MAX31856_CR0_AUTOCONVERT
    if section.getboolean("tc_use_50Hz_filter", False):
        cr0 |= MAX31856_CR0_50HZ
    cr1 = section.getchoice("tc_type", MAX31856_TYPES, "K")
    cr1 |= section.getchoice("tc_averaging_count", MAX31856_AVERAGING, 1)
    return [MAX31856_WRITE_CR0, cr0, cr1, MAX31856_MASK]


def _max31865_init(section):
    config = MAX31865_CONFIG
    if section.getboolean("rtd_use_50Hz_filter", False):
        config |= MAX31865_50HZ
    if section.getint("rtd_num_of_wires", 2) == 3:
        config |= MAX31865_3WIRE
    return [MAX31865_WRITE_CONFIG, config]


def _chip(section, chip_type):
    """(converter, SPI mode, set-up bytes or None) of a chip type."""
    if chip_type == "MAX6675":
        return LinearChip(0.25, 14, 3), 0, None
    if chip_type == "MAX31855":
        return LinearChip(0.25, 14, 18), 0, None
    if chip_type == "MAX31856":
        return LinearChip(0.0078125, 19, 5), 1, _max31856_init(section)
    converter = Max31865(section)
    return converter, 1, _max31865_init(section)


CHIP_TYPES = ("MAX6675", "MAX31855", "MAX31856", "MAX31865")


class SpiSensor:
    report_time = REPORT_TIME

    def __init__(self, hw, section, chip_type):
        self.chip_type = chip_type
        self.converter, mode, setup = _chip(section, chip_type)
        self.spi = SpiDevice(hw, section, mode, "sensor_pin", DEFAULT_SPEED)
        if setup is not None:
            self.spi.spi_send(setup)
        self.mcu = mcu = self.spi.mcu
        self.oid = mcu.create_oid()
        self.min_value = self.max_value = 0
        self.rest_ticks = 0
        self.next_clock = 0          # expected next_clock of the next report (64 bit)
        self.callback = None
        mcu.register_response("thermocouple_result", self.oid, self._handle_result)
        mcu.register_config_callback(self._build_config)

    def setup_minmax(self, min_temp, max_temp):
        values = [self.converter.calc_adc(t) for t in (min_temp, max_temp)]
        self.min_value, self.max_value = min(values), max(values)

    def setup_callback(self, callback):
        self.callback = callback

    def _build_config(self):
        mcu = self.mcu
        mcu.add_config_cmd("config_thermocouple", {
            "oid": self.oid, "spi_oid": self.spi.oid, "thermocouple_type": self.chip_type})
        self.rest_ticks = mcu.seconds_to_clock(REPORT_TIME)
        first_clock = mcu.query_slot(self.oid)
        self.next_clock = first_clock + self.rest_ticks
        mcu.add_config_cmd("query_thermocouple", {
            "oid": self.oid, "clock": first_clock & 0xffffffff,
            "rest_ticks": self.rest_ticks, "min_value": self.min_value,
            "max_value": self.max_value, "max_invalid_count": MAX_INVALID_COUNT},
            is_init=True)

    def _handle_result(self, args):
        """A thermocouple_result report: the reading started one report
        period before next_clock. Faulty readings are dropped (the MCU
        counts them and shuts down after too many)."""
        next_clock = extend_clock32(args["next_clock"], self.next_clock)
        self.next_clock = next_clock + self.rest_ticks
        if args.get("fault") or self.callback is None:
            return
        read_time = self.mcu.clock_to_print_time(next_clock - self.rest_ticks)
        self.callback(read_time, self.converter.calc_temp(args["value"]))
