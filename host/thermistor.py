"""Thermistor models: temperature <-> ADC fraction, for the ADC range check
that the MCU enforces (query_analog_in min_value/max_value), for reading
the temperature of an analog_in_state report (calc_temp), and for the
simulated sensor (sim/mcus/thermal.py).

Steinhart-Hart: 1/T = c1 + c2*ln(R) + c3*ln(R)^3 (T in kelvin), fitted
through three (temperature, resistance) points; a beta model is the case
c3 = 0. The thermistor sits below a pullup resistor, so the ADC reads the
fraction R / (R + pullup).

Calibration points are the thermistors' published datasheet values (the
same points Klipper's sensor list uses, docs/Config_Reference.md).
"""
import math

KELVIN = 273.15
DEFAULT_PULLUP = 4700.
ADC_FRACTION_MIN = 0.00001   # calc_temp: fractions are clamped to this margin
MIN_RESISTANCE = 1e-6        # ... and resistances to a positive value

# name -> ('points', ((t1, r1), (t2, r2), (t3, r3))) or ('beta', (t, r, beta))
SENSORS = {
    "EPCOS 100K B57560G104F": ("points", ((25., 100000.), (150., 1641.9), (250., 226.15))),
    "ATC Semitec 104GT-2": ("points", ((20., 126800.), (150., 1360.), (300., 80.65))),
    "ATC Semitec 104NT-4-R025H42G": ("points", ((25., 100000.), (160., 1074.), (300., 82.78))),
    # Klipper defines "Generic 3950" by three points rather than its beta
    # (checked: query_analog_in limits of golden/klipper/user_print_parts).
    "Generic 3950": ("points", ((25., 100000.), (150., 1770.), (250., 230.))),
    "Honeywell 100K 135-104LAG-J01": ("beta", (25., 100000., 3974.)),
    "NTC 100K MGB18-104F39050L32": ("beta", (25., 100000., 4100.)),
    "SliceEngineering 450": ("points", ((25., 500000.), (200., 3734.), (400., 240.6))),
    "TDK NTCG104LH104JT1": ("points", ((25., 100000.), (50., 31230.), (125., 2066.))),
}


class Thermistor:
    def __init__(self, c1, c2, c3, pullup=DEFAULT_PULLUP, inline_resistor=0.):
        self.c1, self.c2, self.c3 = c1, c2, c3
        self.pullup = pullup
        self.inline_resistor = inline_resistor

    @classmethod
    def from_points(cls, points, **kw):
        """Solve the 3x3 linear system for c1, c2, c3."""
        (t1, r1), (t2, r2), (t3, r3) = points
        inv1, inv2, inv3 = (1. / (t + KELVIN) for t in (t1, t2, t3))
        ln1, ln2, ln3 = math.log(r1), math.log(r2), math.log(r3)
        cube1, cube2, cube3 = ln1 ** 3, ln2 ** 3, ln3 ** 3
        # Eliminate c1 and solve the remaining 2x2 system.
        a12, a13 = ln1 - ln2, ln1 - ln3
        b12, b13 = cube1 - cube2, cube1 - cube3
        y12, y13 = inv1 - inv2, inv1 - inv3
        c3 = (y12 - y13 * a12 / a13) / (b12 - b13 * a12 / a13)
        if c3 <= 0.:
            # Not a valid Steinhart-Hart fit: fall back to a beta model
            # through the first and last point.
            beta = math.log(r1 / r3) / (inv1 - inv3)
            return cls.from_beta(t1, r1, beta, **kw)
        c2 = (y12 - c3 * b12) / a12
        c1 = inv1 - c2 * ln1 - c3 * cube1
        return cls(c1, c2, c3, **kw)

    @classmethod
    def from_beta(cls, t1, r1, beta, **kw):
        c2 = 1. / beta
        c1 = 1. / (t1 + KELVIN) - c2 * math.log(r1)
        return cls(c1, c2, 0., **kw)

    def resistance(self, temp):
        """Invert 1/T = c1 + c2 x + c3 x^3 for x = ln R (Cardano)."""
        inv_t = 1. / (temp + KELVIN)
        if self.c3:
            y = (self.c1 - inv_t) / (2. * self.c3)
            x = math.sqrt((self.c2 / (3. * self.c3)) ** 3 + y * y)
            ln_r = math.pow(x - y, 1. / 3.) - math.pow(x + y, 1. / 3.)
        else:
            ln_r = (inv_t - self.c1) / self.c2
        return math.exp(ln_r)

    def calc_adc(self, temp):
        """ADC fraction (0..1) read at `temp` degrees C."""
        if temp <= -KELVIN:
            return 1.
        r = self.resistance(temp) + self.inline_resistor
        return r / (self.pullup + r)


    def calc_temp(self, adc):
        """Temperature (C) for an ADC fraction: the inverse of calc_adc.
        The fraction is kept off 0 and 1, where the divider's resistance
        is 0 or infinite."""
        adc = max(ADC_FRACTION_MIN, min(1. - ADC_FRACTION_MIN, adc))
        r = self.pullup * adc / (1. - adc) - self.inline_resistor
        ln_r = math.log(max(r, MIN_RESISTANCE))
        inv_t = self.c1 + self.c2 * ln_r + self.c3 * ln_r ** 3
        return 1. / inv_t - KELVIN


def custom_params(section):
    """The (kind, params) of a [thermistor NAME] section: temperature1 and
    resistance1 with either `beta` or two more points (docs/Config_Reference.md
    [thermistor])."""
    t1 = section.getfloat("temperature1", minval=-KELVIN)
    r1 = section.getfloat("resistance1", minval=0.)
    beta = section.getfloat("beta", None, above=0.)
    if beta is not None:
        return "beta", (t1, r1, beta)
    t2 = section.getfloat("temperature2", minval=-KELVIN)
    r2 = section.getfloat("resistance2", minval=0.)
    t3 = section.getfloat("temperature3", minval=-KELVIN)
    r3 = section.getfloat("resistance3", minval=0.)
    return "points", ((t1, r1), (t2, r2), (t3, r3))


def thermistor_from(kind, params, pullup=DEFAULT_PULLUP, inline_resistor=0.):
    if kind == "points":
        return Thermistor.from_points(params, pullup=pullup, inline_resistor=inline_resistor)
    return Thermistor.from_beta(*params, pullup=pullup, inline_resistor=inline_resistor)


def make_thermistor(sensor_type, pullup=DEFAULT_PULLUP, inline_resistor=0.):
    kind, params = SENSORS[sensor_type]
    return thermistor_from(kind, params, pullup, inline_resistor)
