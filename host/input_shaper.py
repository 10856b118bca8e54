"""[input_shaper]: shaped X/Y motion (docs/Resonance_Compensation.md).

Each stepper whose position depends on X or Y gets its stepper kinematics
wrapped by the C input shaper, which feeds it a weighted sum of the
toolhead's position at several times (the shaper's pulses). The pulses
(amplitudes A_i, times T_i) are the standard shaper definitions, for a
resonance frequency f and damping ratio z, with df = sqrt(1 - z^2),
K = exp(-z pi / df), t_d = 1 / (f df) and a vibration tolerance of 5 %
for the EI family (Klipper's shaper_defs.py facts):

    zv:       A = 1, K                       T = 0, t_d/2
    mzv:      K' = exp(-0.75 z pi / df); A = 1 - 1/sqrt2, (sqrt2 - 1) K', (1 - 1/sqrt2) K'^2
              T = 0, 0.375 t_d, 0.75 t_d
    zvd:      A = 1, 2K, K^2                 T = 0, t_d/2, t_d
    ei:       A = (1+v)/4, (1-v)/2 K, (1+v)/4 K^2           T = 0, t_d/2, t_d
    2hump_ei: X = (v^2 (sqrt(1-v^2) + 1))^(1/3), a1 = (3X^2 + 2X + 3v^2)/(16X)
              A = a1, (1/2 - a1) K, (1/2 - a1) K^2, a1 K^3  T = 0 .. 1.5 t_d step t_d/2
    3hump_ei: a1 = (1 + 3v + 2 sqrt(2 (v+1) v))/16
              A = a1, (1-v)/4 K, ((1+v)/2 - 2 a1) K^2, (1-v)/4 K^3, a1 K^4
              T = 0 .. 2 t_d step t_d/2
The C side normalises the amplitudes and centres the pulses in time.
"""
import math

from ..chelper import motion

VIBRATION_TOLERANCE = 1. / 20.   # shaper_defs: SHAPER_VIBRATION_REDUCTION = 20
DEFAULT_DAMPING_RATIO = 0.1


def _common(freq, damping):
    df = math.sqrt(1. - damping ** 2)
    return df, math.exp(-damping * math.pi / df), 1. / (freq * df)


def zv(freq, damping):
    _, k, t_d = _common(freq, damping)
    return [1., k], [0., .5 * t_d]


def mzv(freq, damping):
    df, _, t_d = _common(freq, damping)
    k = math.exp(-.75 * damping * math.pi / df)
    a1 = 1. - 1. / math.sqrt(2.)
    return [a1, (math.sqrt(2.) - 1.) * k, a1 * k * k], [0., .375 * t_d, .75 * t_d]


def zvd(freq, damping):
    _, k, t_d = _common(freq, damping)
    return [1., 2. * k, k * k], [0., .5 * t_d, t_d]


def ei(freq, damping):
    _, k, t_d = _common(freq, damping)
    v = VIBRATION_TOLERANCE
    a1 = .25 * (1. + v)
    return [a1, .5 * (1. - v) * k, a1 * k * k], [0., .5 * t_d, t_d]


def two_hump_ei(freq, damping):
    _, k, t_d = _common(freq, damping)
    v2 = VIBRATION_TOLERANCE ** 2
    x = (v2 * (math.sqrt(1. - v2) + 1.)) ** (1. / 3.)
    a1 = (3. * x * x + 2. * x + 3. * v2) / (16. * x)
    a2 = (.5 - a1) * k
    return [a1, a2, a2 * k, a1 * k ** 3], [0., .5 * t_d, t_d, 1.5 * t_d]


def three_hump_ei(freq, damping):
    _, k, t_d = _common(freq, damping)
    v = VIBRATION_TOLERANCE
    k2 = k * k
    a1 = .0625 * (1. + 3. * v + 2. * math.sqrt(2. * (v + 1.) * v))
    a2 = .25 * (1. - v) * k
    a3 = (.5 * (1. + v) - 2. * a1) * k2
    return [a1, a2, a3, a2 * k2, a1 * k2 * k2], [0., .5 * t_d, t_d, 1.5 * t_d, 2. * t_d]


SHAPERS = {"zv": zv, "mzv": mzv, "zvd": zvd, "ei": ei,
           "2hump_ei": two_hump_ei, "3hump_ei": three_hump_ei}


class AxisShaper:
    def __init__(self, shaper_type, freq, damping):
        self.shaper_type, self.freq, self.damping = shaper_type, freq, damping

    def pulses(self):
        if not self.freq:
            return [], []
        return SHAPERS[self.shaper_type](self.freq, self.damping)


class InputShaper:
    def __init__(self, section):
        default_type = section.getchoice("shaper_type", list(SHAPERS), "mzv")
        self.axes = {}
        for axis in "xy":
            self.axes[axis] = AxisShaper(
                section.getchoice("shaper_type_" + axis, list(SHAPERS), default_type),
                section.getfloat("shaper_freq_" + axis, 0., minval=0.),
                section.getfloat("damping_ratio_" + axis, DEFAULT_DAMPING_RATIO,
                                 minval=0., maxval=1.))
        self.shaped = []   # ShapedStepper wrappers

    def connect(self, printer):
        self.printer = printer
        for stepper in printer.toolhead.kin.steppers():
            original = stepper.kinematics
            if not set(original.active_axes) & set("xy"):
                continue
            shaped = motion.input_shaper(original)
            stepper.set_stepper_kinematics(shaped)
            self.shaped.append(shaped)
        self._apply()
        printer.dispatcher.register("SET_INPUT_SHAPER", self.cmd_SET_INPUT_SHAPER)

    def _apply(self):
        for shaped in self.shaped:
            for axis, shaper in self.axes.items():
                shaped.set_shaper(axis, *shaper.pulses())
        self.printer.motion.update_kin_flush_delay()

    def cmd_SET_INPUT_SHAPER(self, cmd):
        self.printer.toolhead.flush_step_generation()
        for axis, shaper in self.axes.items():
            up = axis.upper()
            shaper.freq = cmd.get_float("SHAPER_FREQ_" + up, shaper.freq, minval=0.)
            shaper.damping = cmd.get_float("DAMPING_RATIO_" + up, shaper.damping,
                                           minval=0., maxval=1.)
            kind = cmd.get("SHAPER_TYPE_" + up, cmd.get("SHAPER_TYPE", shaper.shaper_type)).lower()
            if kind not in SHAPERS:
                raise cmd.error("Unsupported shaper type: %s" % kind)
            shaper.shaper_type = kind
        self._apply()

    def get_status(self):
        return {axis: {"shaper_type": s.shaper_type, "shaper_freq": s.freq,
                       "damping_ratio": s.damping} for axis, s in self.axes.items()}


def load(printer, section):
    return InputShaper(section)
