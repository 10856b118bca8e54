"""[z_tilt] (Z_TILT_ADJUST) and [quad_gantry_level] (QUAD_GANTRY_LEVEL):
probe points, compute how far each Z stepper is off, move each stepper
alone by its adjustment, and probe again while the spread of the probed
heights exceeds retry_tolerance (docs/Config_Reference.md, G-Codes.md).

Contract: `load_z_tilt(printer, section)`, `load_quad_gantry_level(...)`;
`get_status()` gives {'applied': bool} (reset by M84/M18).

Adjusting (Klipper's z_tilt helper): the Z steppers are sorted by their
adjustment; for each but the last, that stepper is detached from the
motion queue (steps are generated for the others only) and Z moves up to
the next stepper's offset; at the end all are attached again and the
position is set back by the first offset. Offline every probe reads
the same height (host/probe.py), so the adjustments come out zero (or a
rounding error off) and a single pass ends the command.

Z_TILT_ADJUST fits z = x*x_adjust + y*y_adjust + z_adjust to the probed
points by coordinate descent (Klipper's mathutil: steps of 1.0 growing by
1.1 on success, shrinking by 0.9 otherwise, until they sum below 1e-5);
QUAD_GANTRY_LEVEL intersects the lines through the front/back point
pairs with the gantry corners (docs/Config_Reference.md).
"""
import math

from ..gcode.errors import GCodeError
from .probe_points import ProbePointsHelper, parse_points

DESCENT_THRESHOLD = 0.00001
# Probed heights closer than this are one height (offline they differ by
# float rounding only; a Z step is some 1e-3 mm).
LEVEL_EPSILON = 1e-6


def is_level(heights):
    return max(heights) - min(heights) < LEVEL_EPSILON
DESCENT_MAX_ROUNDS = 10000


def coordinate_descent(names, params, error_func):
    """Minimise error_func(params) over params[names] (see module doc)."""
    params = dict(params)
    steps = {name: 1. for name in names}
    best = error_func(params)
    rounds = 0
    while sum(steps.values()) > DESCENT_THRESHOLD and rounds < DESCENT_MAX_ROUNDS:
        rounds += 1
        for name in names:
            orig = params[name]
            for candidate in (orig + steps[name], orig - steps[name]):
                params[name] = candidate
                err = error_func(params)
                if err < best:
                    best = err
                    steps[name] *= 1.1
                    break
            else:
                params[name] = orig
                steps[name] *= 0.9
    return params


class ZAdjust:
    """Moves each Z stepper of the Z rail by its own adjustment."""

    def __init__(self, printer, name, count):
        self.printer = printer
        self.name = name
        self.count = count
        self.steppers = None

    def z_steppers(self):
        if self.steppers is None:
            rail = self._z_rail()
            steppers = rail.steppers() if rail is not None else []
            if len(steppers) != self.count:
                raise GCodeError("%s z_positions needs exactly %d items"
                                 % (self.name, len(steppers)))
            if len(steppers) < 2:
                raise GCodeError("%s requires multiple z steppers" % (self.name,))
            self.steppers = steppers
        return self.steppers

    def _z_rail(self):
        kin = self.printer.toolhead.kin
        for rail in getattr(kin, "rails", []):
            if rail.name in ("stepper_z", "z"):
                return rail
        return None

    def adjust_steppers(self, adjustments, speed):
        toolhead = self.printer.toolhead
        steppers = self.z_steppers()
        curpos = toolhead.get_position()
        self.printer.dispatcher.info("Making the following Z adjustments:\n%s" % "\n".join(
            "%s = %.6f" % (s.name, a) for s, a in zip(steppers, adjustments)))
        order = sorted(zip((-a for a in adjustments), range(len(steppers))))
        first_offset = order[0][0]
        z_low = curpos[2] - first_offset
        try:
            for (_, index), (next_offset, _) in zip(order, order[1:]):
                toolhead.flush_step_generation()
                steppers[index].set_trapq(None)
                curpos[2] = z_low + next_offset
                toolhead.move(curpos, speed)
                toolhead.set_position(curpos)
        finally:
            toolhead.flush_step_generation()
            for stepper in steppers:
                stepper.set_trapq(toolhead.trapq)
        curpos[2] += first_offset
        toolhead.set_position(curpos)


class RetryHelper:
    """retries / retry_tolerance: "retry" while the probed heights spread
    more than the tolerance, an error after `retries` retries."""

    def __init__(self, section, error_word):
        self.default_retries = section.getint("retries", 0, minval=0)
        self.default_tolerance = section.getfloat("retry_tolerance", 0., minval=0., maxval=1.)
        self.error_word = error_word
        self.start(None)

    def start(self, cmd):
        self.retries = self.default_retries
        self.tolerance = self.default_tolerance
        if cmd is not None:
            self.retries = cmd.get_int("RETRIES", self.default_retries, minval=0, maxval=30)
            self.tolerance = cmd.get_float("RETRY_TOLERANCE", self.default_tolerance,
                                           minval=0., maxval=1.)
        self.current = 0
        self.previous = None

    def check(self, heights, dispatcher):
        if self.retries == 0:
            return "done"
        error = round(max(heights) - min(heights), 6)
        dispatcher.info("Retries: %d/%d %s range: %0.6f tolerance: %0.6f"
                        % (self.current, self.retries, self.error_word, error, self.tolerance))
        if error <= self.tolerance:
            return "done"
        self.current += 1
        if self.current > self.retries:
            raise GCodeError("Too many retries")
        self.previous = error
        return "retry"


class _Leveler:
    """What Z_TILT_ADJUST and QUAD_GANTRY_LEVEL share: probing, retries,
    the applied flag."""

    def __init__(self, printer, section, min_points, stepper_count):
        self.printer = printer
        self.name = section.name
        self.applied = False
        self.retry = RetryHelper(section, "Probed points")
        self.points = ProbePointsHelper(printer, section, self.probe_finalize)
        self.points.minimum_points(min_points)
        self.z_adjust = ZAdjust(printer, section.name, stepper_count)

    def get_status(self):
        return {"applied": self.applied}

    def run(self, cmd):
        self.applied = False
        self.retry.start(cmd)
        self.points.start_probe(cmd)

    def finish(self, adjustments, positions):
        self.z_adjust.adjust_steppers(adjustments, self.points.get_lift_speed())
        result = self.retry.check([p[2] for p in positions], self.printer.dispatcher)
        if result == "done":
            self.applied = True
        return result

    def connect(self, printer):
        """M84/M18 (motors off) clear `applied`, as in Klipper."""
        printer.hw.stepper_enable.motor_off_listeners.append(self.motors_off)

    def motors_off(self):
        self.applied = False


class ZTilt(_Leveler):
    def __init__(self, printer, section):
        self.z_positions = parse_points(section, "z_positions")
        super().__init__(printer, section, 2, len(self.z_positions))
        self.points.use_xy_offsets(section.getboolean("use_probe_xy_offsets", False))
        printer.dispatcher.register("Z_TILT_ADJUST", self.run, "Adjust the Z tilt")

    def probe_finalize(self, offsets, positions):
        """Fit the bed plane, then move each stepper by its height on it."""
        z_offset = offsets[2]

        def error(params):
            return sum((z - x * params["x_adjust"] - y * params["y_adjust"]
                        - params["z_adjust"]) ** 2 for x, y, z in positions)
        names = ("x_adjust", "y_adjust", "z_adjust")
        heights = [p[2] for p in positions]
        if is_level(heights):
            # Offline every point reads the same height (to float
            # rounding); Klipper's output then has no adjusting moves
            # (trident_zTilt_mesh: G28 Z starts 2 x kin_flush_delay after
            # the last lift), where the descent would stop 1e-8 short of
            # the level fit and make 1e-5 mm moves, each costing two
            # kin_flush_delay of print time. So: the exact level fit.
            fit = {"x_adjust": 0., "y_adjust": 0., "z_adjust": heights[0]}
        else:
            fit = coordinate_descent(names, {"x_adjust": 0., "y_adjust": 0.,
                                             "z_adjust": z_offset}, error)
        x_adjust, y_adjust = fit["x_adjust"], fit["y_adjust"]
        z_adjust = (fit["z_adjust"] - z_offset - x_adjust * offsets[0]
                    - y_adjust * offsets[1])
        adjustments = [x * x_adjust + y * y_adjust + z_adjust for x, y in self.z_positions]
        return self.finish(adjustments, positions)


class QuadGantryLevel(_Leveler):
    def __init__(self, printer, section):
        super().__init__(printer, section, 4, 4)
        corners = parse_points(section, "gantry_corners")
        if len(corners) < 2:
            raise section.error("quad_gantry_level requires at least two gantry_corners",
                                "gantry_corners")
        self.gantry_corners = corners
        self.max_adjust = section.getfloat("max_adjust", 4., above=0.)
        printer.dispatcher.register("QUAD_GANTRY_LEVEL", self.run,
                                    "Conform a moving, twistable gantry to the shape of a stationary bed")

    def probe_finalize(self, offsets, positions):
        """Heights of the gantry at its four corners from the lines through
        points 0-3 (front) and 1-2 (back), relative to horizontal_move_z."""
        move_z = self.points.horizontal_move_z
        z = [move_z - p[2] for p in positions]
        if is_level(z):                  # as in ZTilt: no adjusting moves
            z = [z[0]] * len(z)
        x = [p[0] + offsets[0] for p in positions]
        y = [p[1] + offsets[1] for p in positions]
        (xa, ya), (xb, yb) = self.gantry_corners[0], self.gantry_corners[1]
        front = _line((x[0], z[0]), (x[3], z[3]))
        back = _line((x[1], z[1]), (x[2], z[2]))
        left = _line((y[0], _at(front, xa)), (y[1], _at(back, xa)))
        right = _line((y[0], _at(front, xb)), (y[1], _at(back, xb)))
        heights = [_at(left, ya), _at(left, yb), _at(right, yb), _at(right, ya)]
        average = sum(heights) / len(heights)
        adjustments = [average - h for h in heights]
        self.printer.dispatcher.info("Average: %0.6f" % (average,))
        if max(adjustments) > self.max_adjust:
            raise GCodeError("Aborting quad_gantry_level required adjustment %0.6f is greater"
                             " than max_adjust %0.6f" % (max(adjustments), self.max_adjust))
        return self.finish(adjustments, positions)


def _line(p1, p2):
    """(slope, intercept) through two (x, y) points; flat if equal y."""
    if p1[1] == p2[1]:
        return 0., p1[1]
    slope = (p2[1] - p1[1]) / (p2[0] - p1[0])
    return slope, p1[1] - slope * p1[0]


def _at(line, x):
    return line[0] * x + line[1]


def load_z_tilt(printer, section):
    return ZTilt(printer, section)


def load_quad_gantry_level(printer, section):
    return QuadGantryLevel(printer, section)


class DeltaCalibrate:
    """[delta_calibrate]: DELTA_CALIBRATE probes the centre and six points
    around it (at radius x 0.95, 0.90, 0.85, 0.70, 0.75, 0.80, every 60
    degrees from 90: Klipper's delta_calibrate.py). Offline every point
    reads the same height; fitting new delta parameters changes nothing
    Klipper sends (they are only offered for SAVE_CONFIG), so klipsim
    probes and reports without fitting. DELTA_ANALYZE needs measured
    prints: it answers that it is not modelled."""

    SCATTER = (.95, .90, .85, .70, .75, .80)

    def __init__(self, printer, section):
        self.printer = printer
        radius = section.getfloat("radius", above=0.)
        points = [(0., 0.)]
        for i, scale in enumerate(self.SCATTER):
            angle = math.radians(90. + 60. * i)
            points.append((math.cos(angle) * radius * scale, math.sin(angle) * radius * scale))
        self.points = ProbePointsHelper(printer, section, self.probe_finalize, points)
        self.points.minimum_points(3)
        for option in section.options():
            section.get(option)
        printer.dispatcher.register("DELTA_CALIBRATE", self.points.start_probe,
                                    "Delta calibration script")
        printer.dispatcher.register("DELTA_ANALYZE", self.cmd_DELTA_ANALYZE)

    def probe_finalize(self, offsets, positions):
        self.printer.dispatcher.info("%d points probed; delta parameters are not refitted"
                                     " offline (klipsim)" % (len(positions),))

    def cmd_DELTA_ANALYZE(self, cmd):
        self.printer.dispatcher.warn("%s: DELTA_ANALYZE (measured prints) is not modelled by"
                                     " klipsim" % (cmd.location,))


def load_delta_calibrate(printer, section):
    return DeltaCalibrate(printer, section)
