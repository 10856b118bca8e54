"""Deltesian kinematics (docs/Config_Reference.md [printer] deltesian):
two towers (stepper_left at x = -arm_x_length, stepper_right at
+arm_x_length) whose arms move the effector in the XZ plane, so a carriage
sits at z + sqrt(arm^2 - (x - tower_x)^2); stepper_y drives y directly.

Limits (Klipper's published deltesian rules): X within the reach where an
arm stays at least min_angle (5 deg) above horizontal (or print_width);
Z up to the lowest carriage height reachable over the X range; moves with
an |x| past the point where tower motion exceeds slow_ratio (3) x the X
motion get half the velocity and acceleration, past the 2 x ratio point a
quarter."""
import math

from ...chelper import motion
from ..homing import home_rails
from ..stepper import Rail
from . import read_speed_limits

SLOW_RATIO = 3.
MIN_ANGLE = 5.


class DeltesianKinematics:
    def __init__(self, printer_section, config, hw, trapq):
        sections = [config.section("stepper_" + s) for s in ("left", "right", "y")]
        first_endstop = sections[0].getfloat("position_endstop")
        self.rails = [Rail(sections[0], hw, need_position_minmax=False),
                      Rail(sections[1], hw, need_position_minmax=False,
                           default_position_endstop=first_endstop),
                      Rail(sections[2], hw)]
        arm_x0 = sections[0].getfloat("arm_x_length", above=0.)
        arm_x = [arm_x0, sections[1].getfloat("arm_x_length", arm_x0, above=0.)]
        arm0 = sections[0].getfloat("arm_length", above=arm_x[0])
        arm = [arm0, sections[1].getfloat("arm_length", arm0, above=arm_x[1])]
        self.arm_x = arm_x
        self.arm2 = [a * a for a in arm]
        self.rails[0].setup_itersolve(motion.deltesian_stepper(self.arm2[0], -arm_x[0]))
        self.rails[1].setup_itersolve(motion.deltesian_stepper(self.arm2[1], arm_x[1]))
        self.rails[2].setup_itersolve(motion.cartesian_stepper("y"))
        for rail in self.rails:
            rail.set_trapq(trapq)
        self._derive_limits(printer_section, arm)
        self.homed = [False] * 3

    def _derive_limits(self, section, arm):
        arm_x, arm2 = self.arm_x, self.arm2
        cos_angle = math.cos(math.radians(section.getfloat(
            "min_angle", MIN_ANGLE, minval=0., maxval=90.)))
        x_min = math.ceil(-min(arm_x[0], cos_angle * arm[1] - arm_x[1]))
        x_max = math.floor(min(arm_x[1], cos_angle * arm[0] - arm_x[0]))
        x_range = min(x_max - x_min, x_max * 2, -x_min * 2)
        print_width = section.getfloat("print_width", None, minval=0., maxval=x_range)
        x_limits = (-print_width * .5, print_width * .5) if print_width else (x_min, x_max)
        endstops = [rail.position_endstop for rail in self.rails[:2]]
        self.abs_endstops = [p + math.sqrt(a2 - ax * ax)
                             for p, a2, ax in zip(endstops, arm2, arm_x)]
        self.home_z = self._carriages_to_xz(self.abs_endstops)[1]
        z_max = min(self._top_z(x) for x in x_limits)
        z_min = section.getfloat("minimum_z_position", 0., maxval=z_max)
        self.limits = [x_limits, self.rails[2].get_range(), (z_min, z_max)]
        slow_ratio = section.getfloat("slow_ratio", SLOW_RATIO, minval=0.)
        self.slow_x2 = self.very_slow_x2 = None
        if slow_ratio > 0.:
            sr2 = slow_ratio ** 2
            self.slow_x2 = min(math.sqrt(sr2 * a2 / (sr2 + 1)) - ax
                               for a2, ax in zip(arm2, arm_x)) ** 2
            self.very_slow_x2 = min(math.sqrt(2 * sr2 * a2 / (2 * sr2 + 1)) - ax
                                    for a2, ax in zip(arm2, arm_x)) ** 2
        (self.max_velocity, self.max_accel,
         self.max_z_velocity, self.max_z_accel) = read_speed_limits(section)

    def _carriages_to_xz(self, carriage_z):
        """Effector (x, z) from the two carriage heights (the arms' circles
        intersect below the line joining the arm pivots)."""
        arm_x, arm2 = self.arm_x, self.arm2
        dx, dz = arm_x[0] + arm_x[1], carriage_z[1] - carriage_z[0]
        pivots = math.sqrt(dx * dx + dz * dz)
        along = (pivots * pivots + arm2[0] - arm2[1]) / (2 * pivots)
        below = math.sqrt(arm2[0] - along * along)
        x = along * dx / pivots + below * dz / pivots - arm_x[0]
        z = along * dz / pivots - below * dx / pivots + carriage_z[0]
        return x, z

    def _top_z(self, x):
        """Highest effector z at x with both carriages at their endstops."""
        dz = (math.sqrt(self.arm2[0] - (self.arm_x[0] + x) ** 2),
              math.sqrt(self.arm2[1] - (self.arm_x[1] - x) ** 2))
        return min(top - d for top, d in zip(self.abs_endstops, dz))

    def steppers(self):
        return [rail.stepper for rail in self.rails]

    def set_position(self, newpos, homing_axes=""):
        for rail in self.rails:
            rail.set_position(newpos)
        for axis in homing_axes:
            self.homed["xyz".index(axis)] = True

    def clear_homing_state(self, axes):
        for axis in axes:
            self.homed["xyz".index(axis)] = False

    def homed_axes(self):
        return "".join(a for a, h in zip("xyz", self.homed) if h)

    def check_move(self, move):
        limits = [list(l) for l in self.limits]
        start, end = move.start_pos, move.end_pos
        homing_move = False
        if end[0] == 0. and end[2] == self.home_z and not move.axes_d[1]:
            homing_move = True
        elif end[2] > limits[2][1]:
            limits[2][1] = self._top_z(end[0])   # the top is higher near x = 0
        for i in range(3):
            if not move.axes_d[i]:
                continue
            if not self.homed[i]:
                raise move.move_error("Must home axis first")
            if (end[i] < limits[i][0] or end[i] > limits[i][1]) and not homing_move:
                raise move.move_error()
        if move.axes_d[2]:
            z_ratio = move.move_d / abs(move.axes_d[2])
            move.limit_speed(self.max_z_velocity * z_ratio, self.max_z_accel * z_ratio)
        if move.axes_d[0] and self.slow_x2 and self.very_slow_x2:
            move_x2 = max(start[0] ** 2, end[0] ** 2)
            if move_x2 > self.very_slow_x2:
                move.limit_speed(self.max_velocity * .25, self.max_accel * .25)
            elif move_x2 > self.slow_x2:
                move.limit_speed(self.max_velocity * .5, self.max_accel * .5)

    def axis_bounds(self):
        return [l[0] for l in self.limits], [l[1] for l in self.limits]

    def home(self, toolhead, axes):
        home_xz = 0 in axes or 2 in axes
        if home_xz:
            homepos = [0., None, self.home_z, None]
            forcepos = list(homepos)
            forcepos[2] = -1.5 * math.sqrt(max(a2 - ax * ax for a2, ax
                                               in zip(self.arm2, self.arm_x)))
            home_rails(toolhead, self.rails[:2], forcepos, homepos)
        if 1 in axes:
            rail = self.rails[2]
            info = rail.homing
            homepos = [None, info.position_endstop, None, None]
            forcepos = list(homepos)
            if info.positive_dir:
                forcepos[1] -= 1.5 * (info.position_endstop - rail.position_min)
            else:
                forcepos[1] += 1.5 * (rail.position_max - info.position_endstop)
            home_rails(toolhead, [rail], forcepos, homepos)


def load(printer_section, config, hw, trapq):
    return DeltesianKinematics(printer_section, config, hw, trapq)
