"""Polar kinematics (docs/Config_Reference.md [printer] polar): a rotating
bed (stepper_bed, position = angle atan2(y, x) in radians) and an arm
moving radially (stepper_arm, position = sqrt(x^2 + y^2)), plus a plain Z.

Limits: the reachable disc is the arm's position_max; Z as cartesian.
max_angular_velocity (rad/s) bounds how fast the bed turns: a straight
move turns the bed fastest where it passes closest to the centre (angular
speed = tangential speed / radius), so the move's speed is capped at
max_angular_velocity x that distance (documented derivation; Klipper's
own rule was not available as a published fact)."""
import math

from ...chelper import motion
from ..homing import home_rails
from ..stepper import Rail, Stepper
from . import read_speed_limits

UNHOMED = (1.0, -1.0)


def closest_approach(start, end):
    """Distance from the origin to the segment start-end (XY)."""
    sx, sy = start[0], start[1]
    dx, dy = end[0] - sx, end[1] - sy
    length2 = dx * dx + dy * dy
    if not length2:
        return math.hypot(sx, sy)
    t = max(0., min(1., -(sx * dx + sy * dy) / length2))
    return math.hypot(sx + t * dx, sy + t * dy)


class PolarKinematics:
    def __init__(self, printer_section, config, hw, trapq):
        self.bed = Stepper(config.section("stepper_bed"), hw, units_in_radians=True)
        self.bed.allocate()
        hw.register_stepper(self.bed)
        self.arm = Rail(config.section("stepper_arm"), hw)
        self.z = Rail(config.section("stepper_z"), hw)
        self.bed.set_stepper_kinematics(motion.polar_stepper("a"))
        self.bed.set_trapq(trapq)
        self.arm.setup_itersolve(motion.polar_stepper("r"))
        self.arm.set_trapq(trapq)
        self.z.setup_itersolve(motion.cartesian_stepper("z"))
        self.z.set_trapq(trapq)
        _, _, self.max_z_velocity, self.max_z_accel = read_speed_limits(printer_section)
        self.max_angular_velocity = printer_section.getfloat(
            "max_angular_velocity", None, above=0.)
        self.limit_z = UNHOMED
        self.limit_xy2 = -1.

    def steppers(self):
        return [self.bed, self.arm.stepper, self.z.stepper]

    def set_position(self, newpos, homing_axes=""):
        self.bed.set_position(newpos)
        self.arm.set_position(newpos)
        self.z.set_position(newpos)
        if "z" in homing_axes:
            self.limit_z = self.z.get_range()
        if "x" in homing_axes and "y" in homing_axes:
            self.limit_xy2 = self.arm.get_range()[1] ** 2

    def clear_homing_state(self, axes):
        if "x" in axes or "y" in axes:
            self.limit_xy2 = -1.
        if "z" in axes:
            self.limit_z = UNHOMED

    def homed_axes(self):
        return ("xy" if self.limit_xy2 >= 0. else "") + ("z" if self.limit_z != UNHOMED else "")

    def check_move(self, move):
        end = move.end_pos
        if end[0] ** 2 + end[1] ** 2 > self.limit_xy2:
            if self.limit_xy2 < 0.:
                raise move.move_error("Must home axis first")
            raise move.move_error()
        if move.axes_d[2]:
            low, high = self.limit_z
            if end[2] < low or end[2] > high:
                if low > high:
                    raise move.move_error("Must home axis first")
                raise move.move_error()
            z_ratio = move.move_d / abs(move.axes_d[2])
            move.limit_speed(self.max_z_velocity * z_ratio, self.max_z_accel * z_ratio)
        if self.max_angular_velocity and (move.axes_d[0] or move.axes_d[1]):
            xy_d = math.hypot(move.axes_d[0], move.axes_d[1])
            radius = closest_approach(move.start_pos, end)
            speed = self.max_angular_velocity * radius * move.move_d / xy_d
            if speed > 0.:
                move.limit_speed(speed, move.accel)

    def axis_bounds(self):
        radius = self.arm.get_range()[1]
        low, high = self.z.get_range()
        return [-radius, -radius, low], [radius, radius, high]

    def home(self, toolhead, axes):
        if 0 in axes or 1 in axes:
            self._home_axis(toolhead, 0, self.arm)
        if 2 in axes:
            self._home_axis(toolhead, 2, self.z)

    @staticmethod
    def _home_axis(toolhead, axis, rail):
        info = rail.homing
        homepos = [None, None, None, None]
        homepos[axis] = info.position_endstop
        if axis == 0:
            homepos[1] = 0.
        forcepos = list(homepos)
        if info.positive_dir:
            forcepos[axis] -= info.position_endstop - rail.position_min
        else:
            forcepos[axis] += rail.position_max - info.position_endstop
        home_rails(toolhead, [rail], forcepos, homepos)


def load(printer_section, config, hw, trapq):
    return PolarKinematics(printer_section, config, hw, trapq)
