"""Cartesian kinematics: stepper_x, stepper_y and stepper_z each drive one
axis directly (stepper position = that coordinate)."""
from ...chelper import motion
from ..homing import home_cartesian_axis
from ..stepper import Rail
from . import read_speed_limits

AXES = "xyz"
UNHOMED = (1.0, -1.0)   # an empty range: every move fails until homed


class AxisLimits:
    """Per-axis travel limits, empty until the axis is homed, and the
    Z speed limit shared by the cartesian family."""

    def __init__(self, rails, printer_section):
        self.rails = rails
        self.ranges = [rail.get_range() for rail in rails]
        self.limits = [UNHOMED] * 3
        _, _, self.max_z_velocity, self.max_z_accel = read_speed_limits(printer_section)

    def note_homed(self, homing_axes):
        for axis in homing_axes:
            index = AXES.index(axis)
            self.limits[index] = self.ranges[index]

    def clear_homed(self, axes):
        for axis in axes:
            self.limits[AXES.index(axis)] = UNHOMED

    def homed_axes(self):
        return "".join(a for i, a in enumerate(AXES) if self.limits[i] != UNHOMED)

    def check_endstops(self, move):
        end_pos = move.end_pos
        for i in range(3):
            low, high = self.limits[i]
            if move.axes_d[i] and (end_pos[i] < low or end_pos[i] > high):
                if low > high:
                    raise move.move_error("Must home axis first")
                raise move.move_error()

    def check_move(self, move):
        x, y = move.end_pos[:2]
        (xlow, xhigh), (ylow, yhigh) = self.limits[0], self.limits[1]
        if x < xlow or x > xhigh or y < ylow or y > yhigh:
            self.check_endstops(move)
        if not move.axes_d[2]:
            return
        self.check_endstops(move)
        z_ratio = move.move_d / abs(move.axes_d[2])
        move.limit_speed(self.max_z_velocity * z_ratio, self.max_z_accel * z_ratio)


def share_endstops(rail_a, rail_b):
    """Both steppers move for either axis: each endstop stops both."""
    for rail, other in ((rail_a, rail_b), (rail_b, rail_a)):
        for endstop in rail.endstops():
            endstop.add_stepper(other.stepper)


class CartesianFamily:
    """Kinematics whose three rails map to x, y, z with box limits."""

    def __init__(self, rails, solvers, printer_section, trapq):
        self.rails = rails
        for rail, solver in zip(rails, solvers):
            rail.setup_itersolve(solver)
            rail.set_trapq(trapq)
        self.axis_limits = AxisLimits(rails, printer_section)

    def steppers(self):
        return [s for rail in self.rails for s in rail.steppers()]

    # Rails' positions -> x, y, z, set by the kinematics that have it
    # (cartesian, corexy); None: calc_position unknown.
    to_cartesian = None

    def calc_position(self, stepper_positions):
        """Toolhead x, y, z from {stepper name: position} (each rail's
        first stepper), or None."""
        if self.to_cartesian is None:
            return None
        return self.to_cartesian([stepper_positions[rail.stepper.name]
                                  for rail in self.rails])

    def set_position(self, newpos, homing_axes=""):
        for rail in self.rails:
            rail.set_position(newpos)
        self.axis_limits.note_homed(homing_axes)

    def clear_homing_state(self, axes):
        self.axis_limits.clear_homed(axes)

    def homed_axes(self):
        return self.axis_limits.homed_axes()

    def check_move(self, move):
        self.axis_limits.check_move(move)

    def axis_bounds(self):
        return ([rail.position_min for rail in self.rails],
                [rail.position_max for rail in self.rails])

    def home(self, toolhead, axes):
        for axis in axes:
            home_cartesian_axis(toolhead, self.rails[axis], axis)


def load(printer_section, config, hw, trapq):
    rails = [Rail(config.section("stepper_" + a), hw) for a in AXES]
    solvers = [motion.cartesian_stepper(a) for a in AXES]
    if config.has_section("dual_carriage"):
        from ..dual_carriage import load_idex
        return load_idex(rails, solvers, printer_section, trapq, config, hw)
    kin = CartesianFamily(rails, solvers, printer_section, trapq)
    kin.to_cartesian = list
    return kin
