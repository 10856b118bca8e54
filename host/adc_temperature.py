"""Temperature sensors read through an MCU's ADC: the sensor object that
owns the analog input, and the table-based converters (ADC fraction <->
temperature) of [adc_temperature NAME] and of Klipper's built-in
amplifier and RTD types (docs/Config_Reference.md, "[adc_temperature]"
and the sensor_type list).

Contract:
- `AdcSensor(hw, section, converter)`: reads `sensor_pin` (an MCU pin or
  an [adc_scaled] chip's pin); `setup_minmax(min_temp, max_temp)` sets the
  range the MCU enforces (query_analog_in min_value/max_value, 4 bad
  readings in a row shut down), `setup_callback(f)` gets f(read_time,
  temp) per report; `adc` is the analog input, `converter` has
  calc_temp(fraction) / calc_adc(temp) (the simulated plant uses it).
- `Interpolation(samples)`: piecewise-linear through (key, value) pairs
  sorted by key, extended past both ends by the end segments;
  `value(key)` and `key_for(value)` (the inverse, for monotonic tables).
- `VoltageTable(section, points)`: points (temp, volts) read at the ADC
  over `adc_voltage` (default 5 V) after `voltage_offset`; points outside
  0..adc_voltage are left out, as Klipper does.
- `ResistanceTable(section, points)`: points (temp, ohms) of a sensor
  below `pullup_resistor` (default 4700 ohm).
- `TABLES`: the built-in types by sensor_type name, `custom_table(section)`
  reads an [adc_temperature NAME] section (temperatureN with voltageN, or
  with resistanceN when resistance1 is given).

Timing constants (Klipper's adc_temperature module): 8 samples 1 ms
apart, a report every 0.3 s, and a reading is dated 8 ms after its
sampling started.
"""
import bisect

from .adc_pins import make_adc

SAMPLE_TIME = 0.001
SAMPLE_COUNT = 8
REPORT_TIME = 0.300
RANGE_CHECK_COUNT = 4
RESISTANCE_ADC_CLAMP = 0.00001   # resistance tables: fractions kept this far from 0 and 1
LAST_KEY = 9999999999999.        # the end segment reaches this far


class AdcSensor:
    report_time = REPORT_TIME

    def __init__(self, hw, section, converter):
        self.converter = converter
        self.adc = make_adc(hw, section, "sensor_pin", SAMPLE_TIME, SAMPLE_COUNT, REPORT_TIME)
        self.adc.setup_callback(self._reading)
        self.callback = None

    def setup_minmax(self, min_temp, max_temp):
        fractions = [self.converter.calc_adc(t) for t in (min_temp, max_temp)]
        self.adc.setup_minmax(min(fractions), max(fractions), RANGE_CHECK_COUNT)

    def setup_callback(self, callback):
        self.callback = callback

    def _reading(self, read_time, fraction):
        if self.callback is not None:
            temp = self.converter.calc_temp(fraction)
            self.callback(read_time + SAMPLE_COUNT * SAMPLE_TIME, temp)


class Interpolation:
    """Piecewise-linear map over sorted keys. Each segment is kept as
    (right end key, gain, offset); collinear neighbours merge into one."""

    def __init__(self, samples):
        samples = sorted(samples)
        ends, lines = [], []
        prev_key, prev_value = samples[0] if samples else (None, None)
        for key, value in samples[1:]:
            if key <= prev_key:
                raise ValueError("duplicate value")
            gain = (value - prev_value) / (key - prev_key)
            line = (gain, prev_value - prev_key * gain)
            if lines and lines[-1] == line:
                continue      # same line: the previous segment grows
            prev_key, prev_value = key, value
            ends.append(key)
            lines.append(line)
        if not ends:
            raise ValueError("need at least two samples")
        ends.append(LAST_KEY)
        lines.append(lines[-1])
        self.ends, self.lines = ends, lines

    def value(self, key):
        gain, offset = self.lines[bisect.bisect(self.ends, key)]
        return key * gain + offset

    def key_for(self, value):
        """The key whose value is `value`: the first segment (in key
        order) whose right end reaches it, else the last segment."""
        at_ends = [end * gain + offset for end, (gain, offset) in zip(self.ends, self.lines)]
        rising = at_ends[0] < at_ends[-2]
        index = next((i for i, v in enumerate(at_ends)
                      if (v >= value if rising else v <= value)), len(at_ends) - 1)
        gain, offset = self.lines[index]
        return (value - offset) / gain


def _table_error(section, exc):
    return section.error("adc_temperature %s in heater %s" % (exc, section.name))


class VoltageTable:
    """A linear-output sensor or amplifier: volts at the ADC pin."""

    def __init__(self, section, points):
        adc_voltage = section.getfloat("adc_voltage", 5., above=0.)
        offset = section.getfloat("voltage_offset", 0.)
        samples = [((volts - offset) / adc_voltage, temp) for temp, volts in points]
        samples = [(adc, temp) for adc, temp in samples if 0. <= adc <= 1.]
        try:
            self.table = Interpolation(samples)
        except ValueError as exc:
            raise _table_error(section, exc) from None

    def calc_temp(self, fraction):
        return self.table.value(fraction)

    def calc_adc(self, temp):
        return self.table.key_for(temp)


class ResistanceTable:
    """A resistive sensor (RTD) below a pullup resistor."""

    def __init__(self, section, points):
        self.pullup = section.getfloat("pullup_resistor", 4700., above=0.)
        try:
            self.table = Interpolation([(ohms, temp) for temp, ohms in points])
        except ValueError as exc:
            raise _table_error(section, exc) from None

    def calc_temp(self, fraction):
        fraction = max(RESISTANCE_ADC_CLAMP, min(1. - RESISTANCE_ADC_CLAMP, fraction))
        return self.table.value(self.pullup * fraction / (1. - fraction))

    def calc_adc(self, temp):
        ohms = self.table.key_for(temp)
        return ohms / (self.pullup + ohms)


def custom_table(section):
    """(kind, points) of an [adc_temperature NAME] section."""
    kind = "resistance" if section.get("resistance1", None) is not None else "voltage"
    points = []
    for index in range(1, 1000):
        temp = section.getfloat("temperature%d" % index, None)
        if temp is None:
            break
        points.append((temp, section.getfloat("%s%d" % (kind, index))))
    return kind, points


def make_table(section, kind, points):
    return (ResistanceTable if kind == "resistance" else VoltageTable)(section, points)


# Built-in tables: (temperature C, output volts) of the thermocouple
# amplifiers from their datasheets (Analog Devices AD595/AD597 and
# AD849x) -- the points Klipper's built-in sensor types use; PT100/PT1000
# tables are computed below.
AD595 = (
    (0., .0027), (10., .101), (20., .200), (25., .250), (30., .300),
    (40., .401), (50., .503), (60., .605), (80., .810), (100., 1.015),
    (120., 1.219), (140., 1.420), (160., 1.620), (180., 1.817), (200., 2.015),
    (220., 2.213), (240., 2.413), (260., 2.614), (280., 2.817), (300., 3.022),
    (320., 3.227), (340., 3.434), (360., 3.641), (380., 3.849), (400., 4.057),
    (420., 4.266), (440., 4.476), (460., 4.686), (480., 4.896))
AD597 = (
    (0., 0.), (10., .097), (20., .196), (25., .245), (30., .295),
    (40., 0.395), (50., 0.496), (60., 0.598), (80., 0.802), (100., 1.005),
    (120., 1.207), (140., 1.407), (160., 1.605), (180., 1.801), (200., 1.997),
    (220., 2.194), (240., 2.392), (260., 2.592), (280., 2.794), (300., 2.996),
    (320., 3.201), (340., 3.406), (360., 3.611), (380., 3.817), (400., 4.024),
    (420., 4.232), (440., 4.440), (460., 4.649), (480., 4.857), (500., 5.066))
# AD849x: 5 mV/C outputs, sampled every 20 C (plus 25 C) from -180/-260 C.
AD8494 = (
    (-180, -0.714), (-160, -0.658), (-140, -0.594), (-120, -0.523),
    (-100, -0.446), (-80, -0.365), (-60, -0.278), (-40, -0.188),
    (-20, -0.095), (0, 0.002), (20, 0.1), (25, 0.125), (40, 0.201),
    (60, 0.303), (80, 0.406), (100, 0.511), (120, 0.617), (140, 0.723),
    (160, 0.829), (180, 0.937), (200, 1.044), (220, 1.151), (240, 1.259),
    (260, 1.366), (280, 1.473), (300, 1.58), (320, 1.687), (340, 1.794),
    (360, 1.901), (380, 2.008), (400, 2.114), (420, 2.221), (440, 2.328),
    (460, 2.435), (480, 2.542), (500, 2.65), (520, 2.759), (540, 2.868),
    (560, 2.979), (580, 3.09), (600, 3.203), (620, 3.316), (640, 3.431),
    (660, 3.548), (680, 3.666), (700, 3.786), (720, 3.906), (740, 4.029),
    (760, 4.152), (780, 4.276), (800, 4.401), (820, 4.526), (840, 4.65),
    (860, 4.774), (880, 4.897), (900, 5.018), (920, 5.138), (940, 5.257),
    (960, 5.374), (980, 5.49), (1000, 5.606), (1020, 5.72), (1040, 5.833),
    (1060, 5.946), (1080, 6.058), (1100, 6.17), (1120, 6.282), (1140, 6.394),
    (1160, 6.505), (1180, 6.616), (1200, 6.727))
AD8495 = (
    (-260, -0.786), (-240, -0.774), (-220, -0.751), (-200, -0.719),
    (-180, -0.677), (-160, -0.627), (-140, -0.569), (-120, -0.504),
    (-100, -0.432), (-80, -0.355), (-60, -0.272), (-40, -0.184), (-20, -0.093),
    (0, 0.003), (20, 0.1), (25, 0.125), (40, 0.2), (60, 0.301), (80, 0.402),
    (100, 0.504), (120, 0.605), (140, 0.705), (160, 0.803), (180, 0.901),
    (200, 0.999), (220, 1.097), (240, 1.196), (260, 1.295), (280, 1.396),
    (300, 1.497), (320, 1.599), (340, 1.701), (360, 1.803), (380, 1.906),
    (400, 2.01), (420, 2.113), (440, 2.217), (460, 2.321), (480, 2.425),
    (500, 2.529), (520, 2.634), (540, 2.738), (560, 2.843), (580, 2.947),
    (600, 3.051), (620, 3.155), (640, 3.259), (660, 3.362), (680, 3.465),
    (700, 3.568), (720, 3.67), (740, 3.772), (760, 3.874), (780, 3.975),
    (800, 4.076), (820, 4.176), (840, 4.275), (860, 4.374), (880, 4.473),
    (900, 4.571), (920, 4.669), (940, 4.766), (960, 4.863), (980, 4.959),
    (1000, 5.055), (1020, 5.15), (1040, 5.245), (1060, 5.339), (1080, 5.432),
    (1100, 5.525), (1120, 5.617), (1140, 5.709), (1160, 5.8), (1180, 5.891),
    (1200, 5.98), (1220, 6.069), (1240, 6.158), (1260, 6.245), (1280, 6.332),
    (1300, 6.418), (1320, 6.503), (1340, 6.587), (1360, 6.671), (1380, 6.754))
AD8496 = (
    (-180, -0.642), (-160, -0.59), (-140, -0.53), (-120, -0.464),
    (-100, -0.392), (-80, -0.315), (-60, -0.235), (-40, -0.15), (-20, -0.063),
    (0, 0.027), (20, 0.119), (25, 0.142), (40, 0.213), (60, 0.308),
    (80, 0.405), (100, 0.503), (120, 0.601), (140, 0.701), (160, 0.8),
    (180, 0.9), (200, 1.001), (220, 1.101), (240, 1.201), (260, 1.302),
    (280, 1.402), (300, 1.502), (320, 1.602), (340, 1.702), (360, 1.801),
    (380, 1.901), (400, 2.001), (420, 2.1), (440, 2.2), (460, 2.3),
    (480, 2.401), (500, 2.502), (520, 2.603), (540, 2.705), (560, 2.808),
    (580, 2.912), (600, 3.017), (620, 3.124), (640, 3.231), (660, 3.34),
    (680, 3.451), (700, 3.562), (720, 3.675), (740, 3.789), (760, 3.904),
    (780, 4.02), (800, 4.137), (820, 4.254), (840, 4.37), (860, 4.486),
    (880, 4.6), (900, 4.714), (920, 4.826), (940, 4.937), (960, 5.047),
    (980, 5.155), (1000, 5.263), (1020, 5.369), (1040, 5.475), (1060, 5.581),
    (1080, 5.686), (1100, 5.79), (1120, 5.895), (1140, 5.999), (1160, 6.103),
    (1180, 6.207), (1200, 6.311))
AD8497 = (
    (-260, -0.785), (-240, -0.773), (-220, -0.751), (-200, -0.718),
    (-180, -0.676), (-160, -0.626), (-140, -0.568), (-120, -0.503),
    (-100, -0.432), (-80, -0.354), (-60, -0.271), (-40, -0.184),
    (-20, -0.092), (0, 0.003), (20, 0.101), (25, 0.126), (40, 0.2),
    (60, 0.301), (80, 0.403), (100, 0.505), (120, 0.605), (140, 0.705),
    (160, 0.804), (180, 0.902), (200, 0.999), (220, 1.097), (240, 1.196),
    (260, 1.296), (280, 1.396), (300, 1.498), (320, 1.599), (340, 1.701),
    (360, 1.804), (380, 1.907), (400, 2.01), (420, 2.114), (440, 2.218),
    (460, 2.322), (480, 2.426), (500, 2.53), (520, 2.634), (540, 2.739),
    (560, 2.843), (580, 2.948), (600, 3.052), (620, 3.156), (640, 3.259),
    (660, 3.363), (680, 3.466), (700, 3.569), (720, 3.671), (740, 3.773),
    (760, 3.874), (780, 3.976), (800, 4.076), (820, 4.176), (840, 4.276),
    (860, 4.375), (880, 4.474), (900, 4.572), (920, 4.67), (940, 4.767),
    (960, 4.863), (980, 4.96), (1000, 5.055), (1020, 5.151), (1040, 5.245),
    (1060, 5.339), (1080, 5.433), (1100, 5.526), (1120, 5.618), (1140, 5.71),
    (1160, 5.801), (1180, 5.891), (1200, 5.981), (1220, 6.07), (1240, 6.158),
    (1260, 6.246), (1280, 6.332), (1300, 6.418), (1320, 6.503), (1340, 6.588),
    (1360, 6.671), (1380, 6.754))


def platinum_rtd(base_ohms):
    """(temp, ohms) of a platinum RTD every 10 C from 0 to 490 C, by the
    Callendar-Van Dusen equation R = R0 (1 + A t + B t^2) (IEC 60751:
    A 3.9083e-3, B -5.775e-7); Klipper tabulates PT100/PT1000 this way."""
    a, b = 3.9083e-3, -5.775e-7
    return tuple((float(t), base_ohms * (1. + a * t + b * t * t)) for t in range(0, 500, 10))


def ina826_pt100():
    """(temp, volts) of the "PT100 INA826" board: a PT100 below a 4400 ohm
    pullup from 5 V, amplified 10 times by the INA826."""
    return tuple((t, 10. * 5. * ohms / (4400. + ohms)) for t, ohms in platinum_rtd(100.))


# sensor_type -> (kind, points)
TABLES = {
    "AD595": ("voltage", AD595),
    "AD597": ("voltage", AD597),
    "AD8494": ("voltage", AD8494),
    "AD8495": ("voltage", AD8495),
    "AD8496": ("voltage", AD8496),
    "AD8497": ("voltage", AD8497),
    "PT100 INA826": ("voltage", ina826_pt100()),
    "PT1000": ("resistance", platinum_rtd(1000.)),
}
