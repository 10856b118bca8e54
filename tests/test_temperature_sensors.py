"""Temperature sensor sections and types, against values worked out
independently of klipsim's code: ADC ranges (query_analog_in min_value /
max_value) by hand from the documented formulas (beta equation, linear
tables, Callendar-Van Dusen, the INA826 board's divider and gain), SPI
chip raw values from the chips' datasheet scales, and the reference
sensors_misc stream where it shows the same thing.

Printer: the bundled cartesian reference printer (atmega2560: 16 MHz,
ADC_MAX 1023, so 8 samples sum to at most 8184)."""
import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402

from klipsim.host.configfile import ConfigError  # noqa: E402

SUM_MAX = 8 * 1023
FREQ = 16000000


def build(tmp_path, extra, gcode=""):
    """Build the printer, run `gcode`, end the run (the stream is complete)."""
    run = Run(tmp_path, base_config_text() + extra)
    run.run(gcode)
    run.finish()
    return run


def line_of(run, prefix, oid_pin=None):
    """The first line starting with prefix (and naming pin=oid_pin)."""
    for line in run.lines():
        if line.startswith(prefix) and (oid_pin is None or " pin=%s" % oid_pin in line):
            return line
    raise AssertionError("no %s line" % prefix)


def fields(line):
    return dict(f.split("=", 1) for f in line.split()[1:])


def query_of_pin(run, pin):
    oid = fields(line_of(run, "config_analog_in", pin))["oid"]
    for line in run.lines():
        if line.startswith("query_analog_in oid=%s " % oid):
            return fields(line)
    raise AssertionError("no query for %s" % pin)


def adc_range(fraction_low, fraction_high):
    return int(fraction_low * SUM_MAX), math.ceil(fraction_high * SUM_MAX)


def sensor(name, options):
    return "\n[temperature_sensor %s]\n%s\n" % (name, options)


# ---- custom thermistors -------------------------------------------------------
def test_beta_thermistor_range(tmp_path):
    extra = ("\n[thermistor my_beta]\ntemperature1: 25\nresistance1: 100000\nbeta: 3950\n"
             + sensor("t", "sensor_type: my_beta\nsensor_pin: PK7\nmin_temp: 0\nmax_temp: 130"))
    run = build(tmp_path, extra)

    def fraction(temp):      # R = R25 exp(beta (1/T - 1/T25)) below a 4700 ohm pullup
        r = 100000. * math.exp(3950. * (1. / (temp + 273.15) - 1. / 298.15))
        return r / (4700. + r)
    q = query_of_pin(run, "PK7")
    assert (int(q["min_value"]), int(q["max_value"])) == adc_range(fraction(130.), fraction(0.))
    assert q["range_check_count"] == "4"


def test_three_point_thermistor_passes_through_its_points(tmp_path):
    """A Steinhart-Hart fit is exact at its three points: with min/max at
    two of them the range is their divider fractions."""
    extra = ("\n[thermistor sh]\ntemperature1: 25\nresistance1: 100000\ntemperature2: 150\n"
             "resistance2: 1641.9\ntemperature3: 250\nresistance3: 226.15\n"
             + sensor("t", "sensor_type: sh\nsensor_pin: PK7\npullup_resistor: 2200\n"
                           "min_temp: 25\nmax_temp: 250"))
    run = build(tmp_path, extra)
    q = query_of_pin(run, "PK7")
    low, high = adc_range(226.15 / (2200. + 226.15), 100000. / 102200.)
    assert abs(int(q["min_value"]) - low) <= 1 and abs(int(q["max_value"]) - high) <= 1


def test_custom_sensor_must_be_defined_before_use(tmp_path):
    extra = (sensor("t", "sensor_type: later\nsensor_pin: PK7\nmin_temp: 0\nmax_temp: 100")
             + "\n[thermistor later]\ntemperature1: 25\nresistance1: 100000\nbeta: 3950\n")
    with pytest.raises(ConfigError, match=r"printer.cfg:\d+: Unknown temperature sensor 'later'"):
        build(tmp_path, extra)


# ---- adc_temperature tables ---------------------------------------------------
R_LOW = 1000. - 10. * (194. / 50.)     # the first resistance segment extended to -10 C
TABLES = [
    # voltage table over adc_voltage 3.3: 10 mV/C on both end segments,
    # so -10 C -> 0.4 V and 120 C -> 1.7 V
    ("temperature1: 0\nvoltage1: 0.5\ntemperature2: 100\nvoltage2: 1.5\n"
     "temperature3: 150\nvoltage3: 2.0\n", "adc_voltage: 3.3\nmin_temp: -10\nmax_temp: 120",
     (0.4 / 3.3, 1.7 / 3.3)),
    # resistance table below a 2200 ohm pullup
    ("temperature1: 0\nresistance1: 1000\ntemperature2: 50\nresistance2: 1194\n"
     "temperature3: 300\nresistance3: 2120\n",
     "pullup_resistor: 2200\nmin_temp: -10\nmax_temp: 300",
     (R_LOW / (2200. + R_LOW), 2120. / 4320.)),
]


@pytest.mark.parametrize("points, options, fractions", TABLES, ids=["voltage", "resistance"])
def test_adc_temperature_tables_extend_end_segments(tmp_path, points, options, fractions):
    extra = ("\n[adc_temperature table]\n" + points
             + sensor("t", "sensor_type: table\nsensor_pin: PK7\n" + options))
    q = query_of_pin(build(tmp_path, extra), "PK7")
    assert (int(q["min_value"]), int(q["max_value"])) == adc_range(*fractions)


def test_pt1000_and_pt100_ina826(tmp_path):
    extra = (sensor("a", "sensor_type: PT1000\nsensor_pin: PK7\nmin_temp: 0\nmax_temp: 150")
             + sensor("b", "sensor_type: PT100 INA826\nsensor_pin: PK4\nmin_temp: 0\n"
                           "max_temp: 90"))
    run = build(tmp_path, extra)

    def rtd(r0, t):      # Callendar-Van Dusen, IEC 60751 coefficients
        return r0 * (1. + 3.9083e-3 * t - 5.775e-7 * t * t)
    q = query_of_pin(run, "PK7")
    assert (int(q["min_value"]), int(q["max_value"])) == adc_range(
        1000. / 5700., rtd(1000., 150.) / (4700. + rtd(1000., 150.)))

    def ina826(t):       # 4400 ohm pullup from 5 V, gain 10, read over 5 V
        return 10. * rtd(100., t) / (4400. + rtd(100., t))
    q = query_of_pin(run, "PK4")
    low, high = adc_range(ina826(0.), ina826(90.))
    assert abs(int(q["min_value"]) - low) <= 1 and int(q["max_value"]) == high


def test_sensors_misc_ranges_match_klipper():
    """The same rules give Klipper's lines of the sensors_misc reference
    (stm32f446, 8 x 4095): PT1000 -20..150 C, PT100 INA826 0..90 C."""
    total = 8 * 4095
    rtd = lambda r0, t: r0 * (1. + 3.9083e-3 * t - 5.775e-7 * t * t)   # noqa: E731
    slope = (rtd(1000., 10.) - 1000.) / 10.
    r_low = 1000. - 20. * slope
    assert int(r_low / (4700. + r_low) * total) == 5372
    assert math.ceil(rtd(1000., 150.) / (4700. + rtd(1000., 150.)) * total) == 8216
    assert math.ceil(10. * rtd(100., 90.) / (4400. + rtd(100., 90.)) * total) == 9732


# ---- SPI chips ----------------------------------------------------------------
SPI_PINS = "spi_software_sclk_pin: PB1\nspi_software_mosi_pin: PB2\nspi_software_miso_pin: PB3\n"


def test_max31856_software_spi(tmp_path):
    extra = sensor("tc", "sensor_type: MAX31856\nsensor_pin: PB0\n" + SPI_PINS
                   + "spi_speed: 1000000\ntc_type: J\ntc_averaging_count: 8\n"
                     "min_temp: 10\nmax_temp: 500")
    run = build(tmp_path, extra)
    lines = run.lines()
    config_spi = fields(line_of(run, "config_spi"))
    assert config_spi["pin"] == "PB0" and config_spi["cs_active_high"] == "0"
    sw = fields(line_of(run, "spi_set_sw_bus"))
    # mode 1; one clock period of 1 MHz is 16 ticks at 16 MHz
    assert (sw["miso_pin"], sw["mosi_pin"], sw["sclk_pin"], sw["mode"], sw["pulse_ticks"]) == (
        "PB3", "PB2", "PB1", "1", "16")
    # CR0 auto-convert (60 Hz), CR1 = 8 samples (0x30) | type J (2), mask 0x03
    assert "spi_send oid=%s data=b'\\x80\\x802\\x03'" % config_spi["oid"] in lines
    q = fields(line_of(run, "query_thermocouple"))
    # 0.0078125 C per count, shifted left 5
    assert (q["min_value"], q["max_value"]) == (str(1280 << 5), str(64000 << 5))
    assert q["max_invalid_count"] == "3" and q["rest_ticks"] == str(int(0.3 * FREQ))
    # the set-up write is the first command after finalize_config
    assert lines[lines.index(next(l for l in lines if l.startswith("finalize_config"))) + 1] \
        .startswith("spi_send")


def test_max31865_hardware_spi_default_bus(tmp_path):
    extra = sensor("rtd", "sensor_type: MAX31865\nsensor_pin: PB0\nrtd_reference_r: 430\n"
                          "rtd_num_of_wires: 3\nmin_temp: 0\nmax_temp: 300")
    run = build(tmp_path, extra)
    bus = fields(line_of(run, "spi_set_bus"))
    assert (bus["spi_bus"], bus["mode"], bus["rate"]) == ("spi", "1", "4000000")
    assert "data=b'\\x80\\xd2'" in line_of(run, "spi_send")     # bias|auto|3-wire|clear
    q = fields(line_of(run, "query_thermocouple"))
    counts = lambda t: int((1 + 3.9083e-3 * t - 5.775e-7 * t * t) * 32768 / 4.3 + 0.5)  # noqa
    assert (int(q["min_value"]), int(q["max_value"])) == (counts(0) << 1, counts(300) << 1)


def test_max6675_range_and_unknown_bus(tmp_path):
    extra = sensor("k", "sensor_type: MAX6675\nsensor_pin: PB0\nmin_temp: 0\nmax_temp: 1100")
    run = build(tmp_path, extra)
    q = fields(line_of(run, "query_thermocouple"))
    assert (q["min_value"], q["max_value"]) == ("0", str(4400 << 3))   # 0.25 C per count
    assert "spi_send" not in run.out.getvalue()
    with pytest.raises(ConfigError, match=r"printer.cfg:\d+: Unknown spi_bus 'spi9'"):
        build(tmp_path, extra + "spi_bus: spi9\n")


# ---- other types -------------------------------------------------------------
def test_temperature_mcu_needs_the_mcus_channel(tmp_path):
    """The AVR has no ADC_TEMPERATURE channel (its dictionary's pins): the
    error names the section's place. (On an STM32 the query has no range
    check: sensors_misc, tests/test_reference_sensors.py.)"""
    from klipsim.host.mcu import MCUError
    with pytest.raises(MCUError, match=r"printer.cfg:\d+: pin 'ADC_TEMPERATURE'"):
        build(tmp_path, sensor("m", "sensor_type: temperature_mcu\nmin_temp: 0\nmax_temp: 100"))


def test_unmodelled_type_warns_once_with_place(tmp_path):
    run = build(tmp_path, sensor("c", "sensor_type: BME280\ni2c_address: 118\n"))
    warnings = [t for kind, t in run.messages if kind == "warning"]
    assert len(warnings) == 1 and "BME280" in warnings[0]
    assert warnings[0].startswith("printer.cfg:")


def test_unknown_sensor_type_is_klippers_error(tmp_path):
    with pytest.raises(ConfigError, match="Unknown temperature sensor 'NOPE'"):
        build(tmp_path, sensor("x", "sensor_type: NOPE\nsensor_pin: PK7"))


# ---- adc_scaled -----------------------------------------------------------------
def test_adc_scaled_pins_and_scaling(tmp_path):
    extra = ("\n[adc_scaled vref]\nvref_pin: PK1\nvssa_pin: PK2\n"
             + sensor("s", "sensor_type: Generic 3950\nsensor_pin: vref:PK7\n"
                           "min_temp: 0\nmax_temp: 100"))
    run = build(tmp_path, extra)
    for pin in ("PK1", "PK2"):
        q = query_of_pin(run, pin)
        assert (q["min_value"], q["max_value"], q["range_check_count"]) == ("0", str(SUM_MAX), "0")
    assert query_of_pin(run, "PK7")["range_check_count"] == "4"
    chip = run.printer.hw.pin_chips["vref"]
    chip._smooth("vref_pin", 10., 0.9)       # first readings are taken whole after smooth_time
    chip._smooth("vssa_pin", 10., 0.1)
    assert chip.scale(0.5) == pytest.approx(0.5)
    assert chip.scale(0.9) == pytest.approx(1.0)


# ---- temperature_fan ------------------------------------------------------------
FAN = ("\n[temperature_fan board]\npin: PH3\nsensor_type: EPCOS 100K B57560G104F\n"
       "sensor_pin: PK7\ncontrol: watermark\nmin_temp: 0\nmax_temp: 90\n")


def test_temperature_fan_pin_then_sensor(tmp_path):
    run = build(tmp_path, FAN,
                "SET_TEMPERATURE_FAN_TARGET TEMPERATURE_FAN=board TARGET=35 MIN_SPEED=0.2\n"
                "SET_TEMPERATURE_FAN_TARGET TEMPERATURE_FAN=board MIN_SPEED=0.9 MAX_SPEED=0.5\n"
                "SET_TEMPERATURE_FAN_TARGET TEMPERATURE_FAN=board MAX_SPEED=0.8\n")
    pwm = fields(line_of(run, "config_digital_out", "PH3"))
    assert pwm["default_value"] == "1"               # shutdown_speed defaults to 1
    adc_oid = int(fields(line_of(run, "config_analog_in", "PK7"))["oid"])
    assert adc_oid == int(pwm["oid"]) + 1
    fan = run.printer.objects["temperature_fan board"]
    # the last command has no TARGET: back to the configured 40 C (default)
    assert (fan.target_temp, fan.min_speed, fan.max_speed) == (40., 0.2, 0.8)
    assert "cannot be greater than max speed" in run.errors()[-1]


def test_temperature_fan_watermark_speeds(tmp_path):
    run = Run(tmp_path, base_config_text() + FAN)
    fan = run.printer.objects["temperature_fan board"]
    sent = []
    fan.fan.set_speed = lambda value, print_time=None: sent.append((value, print_time))
    fan.temperature_callback(1.0, 43.)     # >= 40 + 2: full speed, 0.3 s later
    fan.temperature_callback(1.3, 39.)     # in the band: unchanged
    fan.temperature_callback(1.6, 37.)     # <= 40 - 2: off
    assert sent == [(1.0, pytest.approx(1.3)), (0., pytest.approx(1.9))]


def test_simulated_plants_only_for_adc_heaters(tmp_path):
    """sim/mcus/thermal.py heats a plant read through an ADC; an SPI
    thermocouple's heater gets none (its firmware readings are not
    modelled), the ADC heaters still do."""
    from klipsim.sim.mcus.thermal import plants_for
    text = base_config_text().replace(
        "sensor_type: EPCOS 100K B57560G104F\nsensor_pin: PK5\n",
        "sensor_type: MAX6675\nsensor_pin: PB0\n")
    run = Run(tmp_path, text)
    firmware = type("FW", (), {"clock_freq": FREQ, "pin": lambda self, name: name,
                               "dictionary": run.dictionary})()
    plants = plants_for(run.printer, run.printer.hw.main_mcu, firmware)
    assert [p.name for p in plants] == ["heater_bed"]
