"""Linear delta kinematics: three towers (stepper_a/b/c at 210, 330 and 90
degrees on a circle of delta_radius) each carry a carriage joined to the
effector by an arm; a carriage sits at
    z + sqrt(arm^2 - (tower_x - x)^2 - (tower_y - y)^2)
(docs/Delta_Calibrate.md, docs/Kinematics.md).

Moves far from the centre need large carriage motion per millimetre of
effector motion, so moves out there are slowed: where the ratio of
carriage to effector speed can exceed 3 a move gets half the toolhead's
velocity and acceleration, beyond 6 a quarter, and nothing may go past
the radius where it reaches 12 (or print_radius, or arm - delta_radius).
Near the top, the reachable radius shrinks to max_z - z.
"""
import math

import numpy as np

from ...chelper import motion
from ..homing import home_rails
from ..stepper import Rail
from . import read_speed_limits

TOWER_ANGLES = (210., 330., 90.)
SLOW_RATIO = 3.


def trilaterate(spheres):
    """Point on three spheres ((x, y, z), r): the solution below them
    (the effector hangs below the carriages)."""
    centres = [np.array(c, dtype=float) for c, _ in spheres]
    radii = [r for _, r in spheres]
    p1, p2, p3 = centres
    ex = (p2 - p1) / np.linalg.norm(p2 - p1)
    i = ex.dot(p3 - p1)
    ey = p3 - p1 - i * ex
    ey /= np.linalg.norm(ey)
    ez = np.cross(ex, ey)
    d = np.linalg.norm(p2 - p1)
    j = ey.dot(p3 - p1)
    x = (radii[0] ** 2 - radii[1] ** 2 + d * d) / (2. * d)
    y = (radii[0] ** 2 - radii[2] ** 2 + i * i + j * j) / (2. * j) - i * x / j
    z = -math.sqrt(max(0., radii[0] ** 2 - x * x - y * y))
    return tuple(p1 + x * ex + y * ey + z * ez)


class TowerKinematics:
    """What linear and rotary deltas share: homed together (all or
    nothing), a reach limit that tapers near the top, moves to the home
    position always allowed. Subclasses set rails, max_xy2, limit_z, max_z,
    min_z, home_position and add their own speed limits."""

    need_home = True
    limit_xy2 = -1.

    def steppers(self):
        return [rail.stepper for rail in self.rails]

    def set_position(self, newpos, homing_axes=""):
        for rail in self.rails:
            rail.set_position(newpos)
        self.limit_xy2 = -1.
        if all(a in homing_axes for a in "xyz"):
            self.need_home = False

    def clear_homing_state(self, axes):
        if axes:
            self.need_home = True
            self.limit_xy2 = -1.

    def homed_axes(self):
        return "" if self.need_home else "xyz"

    def axis_bounds(self):
        max_xy = math.sqrt(self.max_xy2)
        return [-max_xy, -max_xy, self.min_z], [max_xy, max_xy, self.max_z]

    def check_move(self, move):
        end = move.end_pos
        end_xy2 = end[0] ** 2 + end[1] ** 2
        if end_xy2 <= self.limit_xy2 and not move.axes_d[2]:
            return   # inside the area already known to be fine
        if self.need_home:
            raise move.move_error("Must home first")
        end_z = end[2]
        limit_xy2 = self.max_xy2
        if end_z > self.limit_z:
            limit_xy2 = min(limit_xy2, (self.max_z - end_z) ** 2)
        if end_xy2 > limit_xy2 or end_z > self.max_z or end_z < self.min_z:
            # Out of range, unless it is a move to the home position.
            if (tuple(end[:2]) != tuple(self.home_position[:2])
                    or end_z < self.min_z or end_z > self.home_position[2]):
                raise move.move_error()
            limit_xy2 = -1.
        self.limit_xy2 = self._apply_speed_limits(move, end_xy2, limit_xy2)

    def _apply_speed_limits(self, move, end_xy2, limit_xy2):
        """Apply speed limits; return the radius^2 known to need no check."""
        raise NotImplementedError


class DeltaKinematics(TowerKinematics):
    def __init__(self, printer_section, config, hw, trapq):
        names = ("stepper_a", "stepper_b", "stepper_c")
        sections = [config.section(n) for n in names]
        first_endstop = sections[0].getfloat("position_endstop")
        self.rails = [Rail(sections[0], hw, need_position_minmax=False)]
        for section in sections[1:]:
            self.rails.append(Rail(section, hw, need_position_minmax=False,
                                   default_position_endstop=first_endstop))
        arm_a = sections[0].getfloat("arm_length", above=0.)
        self.arm_lengths = [arm_a] + [s.getfloat("arm_length", arm_a, above=0.)
                                      for s in sections[1:]]
        self.angles = [s.getfloat("angle", a) for s, a in zip(sections, TOWER_ANGLES)]
        self._read_printer(printer_section)
        radius = self.radius
        if radius >= min(self.arm_lengths):
            # Klipper fails here with a math domain error: no carriage height
            # puts an arm shorter than the radius over the centre.
            raise printer_section.error("delta_radius %g must be below every arm_length"
                                        " (shortest %g)" % (radius, min(self.arm_lengths)),
                                        "delta_radius")
        self.towers = [(math.cos(math.radians(a)) * radius,
                        math.sin(math.radians(a)) * radius) for a in self.angles]
        for rail, (tx, ty), arm in zip(self.rails, self.towers, self.arm_lengths):
            rail.setup_itersolve(motion.delta_stepper(arm * arm, tx, ty))
            rail.set_trapq(trapq)
        self._derive_limits()

    def _read_printer(self, section):
        (self.max_velocity, self.max_accel,
         self.max_z_velocity, self.max_z_accel) = read_speed_limits(section)
        self.radius = section.getfloat("delta_radius", above=0.)
        self.print_radius = section.getfloat("print_radius", self.radius, above=0.)
        self.min_z = section.getfloat("minimum_z_position", 0., maxval=0.)

    def _derive_limits(self):
        radius = self.radius
        endstops = [rail.position_endstop for rail in self.rails]
        self.abs_endstops = [ep + math.sqrt(arm * arm - radius * radius)
                             for ep, arm in zip(endstops, self.arm_lengths)]
        self.max_z = min(endstops)
        self.limit_z = min(ep - arm for ep, arm in zip(self.abs_endstops, self.arm_lengths))
        self.home_position = trilaterate(
            [((tx, ty, z), arm) for (tx, ty), z, arm
             in zip(self.towers, self.abs_endstops, self.arm_lengths)])
        half_step = min(rail.stepper.step_dist for rail in self.rails) * .5
        min_arm = min(self.arm_lengths)

        def radius_at_ratio(ratio):
            # Effector radius where carriage speed / effector speed = ratio
            # (a carriage half a step from its geometric extreme).
            return (ratio * math.sqrt(min_arm ** 2 / (ratio ** 2 + 1.) - half_step ** 2)
                    + half_step - radius)
        self.slow_xy2 = radius_at_ratio(SLOW_RATIO) ** 2
        self.very_slow_xy2 = radius_at_ratio(2. * SLOW_RATIO) ** 2
        self.max_xy2 = min(self.print_radius, min_arm - radius,
                           radius_at_ratio(4. * SLOW_RATIO)) ** 2

    def home(self, toolhead, axes):
        """All towers home together, from far below (1.5 x the longest
        carriage drop over the reachable radius)."""
        forcepos = list(self.home_position) + [None]
        forcepos[2] = -1.5 * math.sqrt(max(a * a for a in self.arm_lengths) - self.max_xy2)
        home_rails(toolhead, self.rails, forcepos, list(self.home_position) + [None])

    def _apply_speed_limits(self, move, end_xy2, limit_xy2):
        if move.axes_d[2]:
            z_ratio = move.move_d / abs(move.axes_d[2])
            move.limit_speed(self.max_z_velocity * z_ratio, self.max_z_accel * z_ratio)
            limit_xy2 = -1.
        extreme_xy2 = max(end_xy2, move.start_pos[0] ** 2 + move.start_pos[1] ** 2)
        if extreme_xy2 > self.slow_xy2:
            r = 0.25 if extreme_xy2 > self.very_slow_xy2 else 0.5
            move.limit_speed(self.max_velocity * r, self.max_accel * r)
            limit_xy2 = -1.
        return min(limit_xy2, self.slow_xy2)


def load(printer_section, config, hw, trapq):
    return DeltaKinematics(printer_section, config, hw, trapq)
