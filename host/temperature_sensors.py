"""Temperature sensors by `sensor_type`: the built-in types of Klipper's
sensor list (docs/Config_Reference.md, "Temperature sensors"), the types
that [thermistor NAME] and [adc_temperature NAME] sections define, and the
sections that read a sensor without heating: [temperature_sensor NAME].

Contract:
- `SensorTypes(hw, warn)` (the printer keeps it as `hw.sensor_types`)
  holds factories by name; `make(section)` reads
  `sensor_type` and builds the sensor (ConfigError "Unknown temperature
  sensor 'X'" otherwise). A sensor has setup_minmax(min_temp, max_temp),
  setup_callback(f(read_time, temp)) and report_time.
- Loaders: `load_thermistor` ([thermistor NAME]), `load_adc_temperature`
  ([adc_temperature NAME]): a custom type must be defined before a section
  after it uses it (Klipper loads sections in file order; the extruders
  come last); `load_temperature_sensor` ([temperature_sensor NAME]).
- ADC types (thermistors, tables) -> host/adc_temperature.AdcSensor; SPI
  chips -> host/spi_temperature.SpiSensor; `temperature_mcu` reads the
  MCU's ADC_TEMPERATURE channel (of `sensor_mcu`) with no range check,
  as Klipper's batch mode configures it (the chip's calibration is read
  from the MCU only when one answers; klipsim uses a nominal 3.3 V,
  -4.3 mV/C line instead).
- Types whose chips talk I2C or 1-Wire, or that are host-side (BME280,
  HTU21D, SHT3X, AHT10, LM75, DS18B20, temperature_host,
  temperature_combined, ...) are accepted with one warning naming the
  section: their MCU traffic is not modelled and they never report.
"""
from .adc_temperature import SAMPLE_COUNT, SAMPLE_TIME, REPORT_TIME, AdcSensor
from .adc_temperature import TABLES, custom_table, make_table
from .configfile import ConfigError
from .mcu import AnalogIn
from .spi_temperature import CHIP_TYPES, SpiSensor
from .thermistor import DEFAULT_PULLUP, SENSORS, custom_params, thermistor_from

KELVIN_TO_CELSIUS = -273.15
UNMODELLED_TYPES = (
    "BME280", "BMP180", "BMP280", "BMP388", "BME680", "DS18B20",
    "SI7013", "SI7020", "SI7021", "SHT21", "HTU21D", "HTU31D", "SHT3X",
    "AHT10", "AHT1X", "AHT20", "AHT21", "AHT2X", "AHT30", "LM75",
    "temperature_host", "temperature_combined")
# Options those sensors read (marked used so that the section is valid).
UNMODELLED_OPTIONS = (
    "sensor_pin", "sensor_mcu", "serial_no", "sensor_path", "sensor_list",
    "combination_method", "maximum_deviation", "i2c_address", "i2c_mcu",
    "i2c_bus", "i2c_speed", "i2c_software_scl_pin", "i2c_software_sda_pin",
    "ds18_report_time", "aht10_report_time", "sht3x_report_time",
    "lm75_report_time", "htu21d_report_time", "htu21d_hold_master",
    "htu21d_resolution", "bme280_report_time", "bme280_iir_filter",
    "bme280_gas_target_temp", "bme280_gas_heat_duration")
# temperature_mcu without the chip's calibration (see the docstring).
MCU_NOMINAL_VOLTS = 3.3
MCU_NOMINAL_SLOPE = -0.0043      # V/C
MCU_NOMINAL_V25 = 1.43           # V at 25 C


def _thermistor_factory(kind, params):
    def build(types, section):
        pullup = section.getfloat("pullup_resistor", DEFAULT_PULLUP, above=0.)
        inline = section.getfloat("inline_resistor", 0., minval=0.)
        return AdcSensor(types.hw, section, thermistor_from(kind, params, pullup, inline))
    return build


def _table_factory(kind, points):
    def build(types, section):
        return AdcSensor(types.hw, section, make_table(section, kind, points))
    return build


class McuTemperature:
    """The converter of temperature_mcu: a line through (25 C, V25)."""

    def __init__(self, section):
        volts = section.getfloat("reference_voltage", MCU_NOMINAL_VOLTS)
        self.slope = volts / MCU_NOMINAL_SLOPE            # C per full scale
        self.base = 25. - MCU_NOMINAL_V25 / volts * self.slope
        temp1 = section.getfloat("sensor_temperature1", None)
        if temp1 is not None:
            adc1 = section.getfloat("sensor_adc1", minval=0., maxval=1.)
            temp2 = section.getfloat("sensor_temperature2", None)
            if temp2 is not None:
                adc2 = section.getfloat("sensor_adc2", minval=0., maxval=1.)
                self.slope = (temp2 - temp1) / (adc2 - adc1)
            self.base = temp1 - adc1 * self.slope

    def calc_temp(self, fraction):
        return self.base + fraction * self.slope


class McuTemperatureSensor:
    report_time = REPORT_TIME

    def __init__(self, types, section):
        mcu_name = section.get("sensor_mcu", "mcu")
        mcu = types.hw.lookup(mcu_name, section, "sensor_mcu")
        self.converter = McuTemperature(section)
        self.adc = _mcu_adc(mcu, section)
        self.adc.setup_callback(self._reading)
        self.callback = None

    def setup_minmax(self, min_temp, max_temp):
        """Batch mode sets no range (the calibration is unknown there)."""

    def setup_callback(self, callback):
        self.callback = callback

    def _reading(self, read_time, fraction):
        if self.callback is not None:
            self.callback(read_time + SAMPLE_COUNT * SAMPLE_TIME,
                          self.converter.calc_temp(fraction))


def _mcu_adc(mcu, section):
    mcu.check_pin("ADC_TEMPERATURE", section.location("sensor_type"))
    return AnalogIn(mcu, "ADC_TEMPERATURE", SAMPLE_TIME, SAMPLE_COUNT, REPORT_TIME, 0., 1., 0)


class SilentSensor:
    """A sensor klipsim accepts without modelling: it never reports."""
    report_time = REPORT_TIME

    def __init__(self, types, section, sensor_type):
        for option in UNMODELLED_OPTIONS:
            section.get(option, None)
        types.warn(
            "%s: sensor_type '%s' of [%s] is accepted but not modelled by klipsim"
            " (its MCU commands are not sent; it never reports a temperature)"
            % (section.location("sensor_type"), sensor_type, section.name))

    def setup_minmax(self, min_temp, max_temp):
        pass

    def setup_callback(self, callback):
        pass


def _builtin_factories():
    factories = {}
    for name, (kind, params) in SENSORS.items():
        factories[name] = _thermistor_factory(kind, params)
    for name, (kind, points) in TABLES.items():
        factories[name] = _table_factory(kind, points)
    for name in CHIP_TYPES:
        factories[name] = (lambda types, section, name=name:
                           SpiSensor(types.hw, section, name))
    factories["temperature_mcu"] = McuTemperatureSensor
    for name in UNMODELLED_TYPES:
        factories[name] = (lambda types, section, name=name:
                           SilentSensor(types, section, name))
    return factories


class SensorTypes:
    def __init__(self, hw, warn):
        self.hw = hw
        self.warn = warn
        self.factories = _builtin_factories()

    def add(self, name, factory):
        self.factories[name] = factory

    def make(self, section):
        sensor_type = section.get("sensor_type")
        factory = self.factories.get(sensor_type)
        if factory is None:
            raise ConfigError("Unknown temperature sensor '%s'" % (sensor_type,),
                              section.location("sensor_type"))
        return factory(self, section)


def _custom_name(section):
    return section.name.split(None, 1)[1] if " " in section.name else ""


def load_thermistor(printer, section):
    """[thermistor NAME]: a new sensor_type NAME."""
    kind, params = custom_params(section)
    printer.hw.sensor_types.add(_custom_name(section), _thermistor_factory(kind, params))


def load_adc_temperature(printer, section):
    """[adc_temperature NAME]: a new sensor_type NAME (a table)."""
    kind, points = custom_table(section)
    printer.hw.sensor_types.add(_custom_name(section), _table_factory(kind, points))


class TemperatureSensor:
    """[temperature_sensor NAME]: a sensor that is only read (M105,
    printer["temperature_sensor NAME"])."""

    def __init__(self, printer, section):
        self.name = section.name.split()[-1]
        self.sensor = printer.hw.sensor_types.make(section)
        self.min_temp = section.getfloat("min_temp", KELVIN_TO_CELSIUS, minval=KELVIN_TO_CELSIUS)
        self.max_temp = section.getfloat("max_temp", 99999999.9, above=self.min_temp)
        self.sensor.setup_minmax(self.min_temp, self.max_temp)
        self.sensor.setup_callback(self._reading)
        section.get("gcode_id", None)
        self.temperature = 0.
        self.measured_min = None
        self.measured_max = None

    def _reading(self, read_time, temp):
        self.temperature = temp
        if temp:
            self.measured_min = temp if self.measured_min is None else min(self.measured_min, temp)
            self.measured_max = temp if self.measured_max is None else max(self.measured_max, temp)

    def get_status(self):
        return {"temperature": round(self.temperature, 2),
                "measured_min_temp": round(self.measured_min or 0., 2),
                "measured_max_temp": round(self.measured_max or 0., 2)}


def load_temperature_sensor(printer, section):
    return TemperatureSensor(printer, section)
