"""[input_shaper]: shaped X/Y motion (docs/Resonance_Compensation.md).

Each stepper whose position depends on X or Y gets its stepper kinematics
wrapped by the C input shaper, which feeds it a weighted sum of the
toolhead's position at several times (the shaper's pulses). The pulse
definitions (zv, mzv, zvd, ei, 2hump_ei, 3hump_ei) live in
klipsim.chelper.shapers; the C side normalises the amplitudes and centres
the pulses in time.
"""
from ..chelper import motion
from . import bounds
from ..chelper.shapers import DEFAULT_DAMPING_RATIO, SHAPERS


class AxisShaper:
    def __init__(self, shaper_type, freq, damping):
        self.shaper_type, self.freq, self.damping = shaper_type, freq, damping

    def pulses(self):
        if not self.freq:
            return [], []
        return SHAPERS[self.shaper_type](self.freq, self.damping)

    def problem(self, axis):
        """Why these settings are beyond klipsim's bounds, or None: a
        shaper lasting longer than a move may (a frequency near 0) makes
        the C solver look absurdly far around in time."""
        _amplitudes, times = self.pulses()
        span = max(times) - min(times) if times else 0.
        if span <= bounds.MAX_MOVE_TIME:
            return None
        return ("shaper_freq_%s %.6g: the %s shaper would last %.6g s, more than"
                " klipsim's bound of %g s" % (axis, self.freq, self.shaper_type, span,
                                               bounds.MAX_MOVE_TIME))


class InputShaper:
    def __init__(self, section):
        default_type = section.getchoice("shaper_type", list(SHAPERS), "mzv")
        self.axes = {}
        for axis in "xy":
            self.axes[axis] = AxisShaper(
                section.getchoice("shaper_type_" + axis, list(SHAPERS), default_type),
                section.getfloat("shaper_freq_" + axis, 0., minval=0.),
                section.getfloat("damping_ratio_" + axis, DEFAULT_DAMPING_RATIO,
                                 minval=0., below=1.))
            # below=1 where Klipper says maxval=1: a damping ratio of 1 has
            # no damped period (sqrt(1 - zeta^2) = 0, a division by zero).
            problem = self.axes[axis].problem(axis)
            if problem is not None:
                raise section.error(problem, "shaper_freq_" + axis)
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
        updated = {}     # checked in full before any axis changes
        for axis, shaper in self.axes.items():
            up = axis.upper()
            kind = cmd.get("SHAPER_TYPE_" + up, cmd.get("SHAPER_TYPE", shaper.shaper_type)).lower()
            if kind not in SHAPERS:
                raise cmd.error("Unsupported shaper type: %s" % kind)
            new = AxisShaper(
                kind, cmd.get_float("SHAPER_FREQ_" + up, shaper.freq, minval=0.),
                cmd.get_float("DAMPING_RATIO_" + up, shaper.damping, minval=0., below=1.))
            problem = new.problem(axis)
            if problem is not None:
                raise cmd.error(problem)
            updated[axis] = new
        self.axes.update(updated)
        self._apply()

    def get_status(self):
        return {axis: {"shaper_type": s.shaper_type, "shaper_freq": s.freq,
                       "damping_ratio": s.damping} for axis, s in self.axes.items()}


def load(printer, section):
    return InputShaper(section)
