"""The extruder: its stepper driven by its own trapezoid queue whose x
coordinate is the filament position, the limits on extrusion, and the
extruder's share of junction speed.

For a toolhead move with extrusion ratio r = e_distance / move_distance,
the filament moves along the same trapezoid scaled by r: start, cruise
and acceleration times r. Extrude-only moves and retractions are limited
by max_extrude_only_velocity/accel (defaults scale the toolhead limits by
the cross-section ratio, docs/Config_Reference.md [extruder]).
"""
import math

from ..chelper import motion
from .heaters import Heater
from .stepper import Stepper


class Extruder:
    def __init__(self, section, hw, limits, motion_queuing):
        self.name = section.name
        # The heater's objects are configured before the stepper's.
        self.heater = Heater(section, hw)
        self.stepper = Stepper(section, hw)
        self.stepper.allocate()
        hw.register_stepper(self.stepper)
        self._read_limits(section, limits)
        self.trapq = motion_queuing.allocate_trapq()
        solver = motion.extruder_stepper()
        self.stepper.set_stepper_kinematics(solver)
        self.stepper.set_trapq(self.trapq)
        self.pressure_advance = section.getfloat("pressure_advance", 0., minval=0.)
        self.pressure_advance_smooth_time = section.getfloat(
            "pressure_advance_smooth_time", 0.040, above=0., maxval=.200)
        # Without advance there is no smoothing, hence no scan window.
        smooth_time = self.pressure_advance_smooth_time if self.pressure_advance else 0.
        solver.set_pressure_advance(self.pressure_advance, smooth_time)

    def _read_limits(self, section, limits):
        self.nozzle_diameter = section.getfloat("nozzle_diameter", above=0.)
        filament_diameter = section.getfloat(
            "filament_diameter", minval=self.nozzle_diameter)
        self.filament_area = math.pi * (filament_diameter * .5) ** 2
        default_cross_section = 4. * self.nozzle_diameter ** 2
        default_ratio = default_cross_section / self.filament_area
        cross_section = section.getfloat(
            "max_extrude_cross_section", default_cross_section, above=0.)
        self.max_extrude_ratio = cross_section / self.filament_area
        self.max_e_dist = section.getfloat("max_extrude_only_distance", 50., minval=0.)
        self.max_e_velocity = section.getfloat(
            "max_extrude_only_velocity", limits.max_velocity * default_ratio, above=0.)
        self.max_e_accel = section.getfloat(
            "max_extrude_only_accel", limits.max_accel * default_ratio, above=0.)
        self.instant_corner_v = section.getfloat(
            "instantaneous_corner_velocity", 1., minval=0.)

    def check_move(self, move):
        axis_r = move.axes_r[3]
        if (not move.axes_d[0] and not move.axes_d[1]) or axis_r < 0.:
            # Extrude-only or retraction: the extruder's own limits apply.
            if abs(move.axes_d[3]) > self.max_e_dist:
                raise move.move_error(
                    "Extrude only move too long (%.3fmm vs %.3fmm)\n"
                    "See the 'max_extrude_only_distance' config option for details"
                    % (move.axes_d[3], self.max_e_dist))
            inv_extrude_r = 1. / abs(axis_r)
            move.limit_speed(self.max_e_velocity * inv_extrude_r,
                             self.max_e_accel * inv_extrude_r)
        elif axis_r > self.max_extrude_ratio:
            if move.axes_d[3] <= self.nozzle_diameter * self.max_extrude_ratio:
                return   # small extrusions are allowed
            area = axis_r * self.filament_area
            raise move.move_error(
                "Move exceeds maximum extrusion (%.3fmm^2 vs %.3fmm^2)"
                % (area, self.max_extrude_ratio * self.filament_area))

    def calc_junction(self, prev_move, move):
        """Largest junction v2 that keeps the extruder's velocity jump below
        instantaneous_corner_velocity."""
        diff_r = move.axes_r[3] - prev_move.axes_r[3]
        if diff_r:
            return (self.instant_corner_v / abs(diff_r)) ** 2
        return move.max_cruise_v2

    def move(self, print_time, move):
        axis_r = move.axes_r[3]
        can_pressure_advance = 1. if axis_r > 0. and (move.axes_d[0] or move.axes_d[1]) else 0.
        self.trapq.append(print_time, move.accel_t, move.cruise_t, move.decel_t,
                          (move.start_pos[3], 0., 0.), (1., can_pressure_advance, 0.),
                          move.start_v * axis_r, move.cruise_v * axis_r,
                          move.accel * axis_r)
