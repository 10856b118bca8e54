"""Extruders: an extruder's motion queue and limits ([extruder],
[extruder1], ...) and the steppers that follow a motion queue
([extruder]'s own stepper, [extruder_stepper NAME]).

An extruder has its own trapezoid queue whose x coordinate is the
filament position: for a toolhead move with extrusion ratio
r = e_distance / move_distance the filament follows the same trapezoid
scaled by r. Its y coordinate flags moves that may use pressure advance
(extruding XY moves). Extrude-only moves and retractions are limited by
max_extrude_only_velocity/accel (defaults scale the toolhead limits by the
cross-section ratio, docs/Config_Reference.md [extruder]).

An extruder stepper solves its position from whichever extruder queue it
is synced to (SYNC_EXTRUDER_MOTION), with optional pressure advance.
Commands (docs/G-Codes.md): ACTIVATE_EXTRUDER, SYNC_EXTRUDER_MOTION,
SET_EXTRUDER_ROTATION_DISTANCE, SET_PRESSURE_ADVANCE.
"""
import math

from ..chelper import motion
from . import bounds
from .configfile import ConfigError
from .heaters import Heater
from .stepper import Stepper


class ExtruderStepper:
    """A stepper driven by an extruder's motion queue."""

    def __init__(self, section, hw):
        self.name = section.name.split()[-1]
        self.stepper = Stepper(section, hw)
        self.stepper.allocate()
        hw.register_stepper(self.stepper)
        self.solver = motion.extruder_stepper()
        self.stepper.set_stepper_kinematics(self.solver)
        self.pressure_advance = section.getfloat("pressure_advance", 0., minval=0.)
        self.smooth_time = section.getfloat(
            "pressure_advance_smooth_time", 0.040, above=0., maxval=.200)
        self._apply_pressure_advance()
        self.motion_queue = None
        self.direction_reversed = False

    def _apply_pressure_advance(self):
        # Without advance there is no smoothing, hence no scan window.
        smooth = self.smooth_time if self.pressure_advance else 0.
        self.solver.set_pressure_advance(self.pressure_advance, smooth)

    def sync_to(self, extruder):
        """Follow `extruder`'s motion queue (None: stand still)."""
        if extruder is None:
            self.stepper.set_trapq(None)
            self.motion_queue = None
            return
        self.solver.set_position(extruder.last_position, 0., 0.)
        self.stepper.set_trapq(extruder.trapq)
        self.motion_queue = extruder.name

    def set_rotation_distance(self, distance, reversed_dir=False):
        """New rotation distance (> 0); reversed_dir flips the direction
        relative to the configured dir_pin."""
        stepper = self.stepper
        stepper.step_dist = stepper.step_dist * distance / stepper.rotation_dist
        stepper.rotation_dist = distance
        self.solver.set_stepcompress(stepper.compressor, stepper.step_dist)
        self.direction_reversed = reversed_dir
        stepper.compressor.set_invert_dir(bool(stepper.dir_pin.invert) ^ reversed_dir)

    def set_pressure_advance(self, advance, smooth_time):
        self.pressure_advance = advance
        self.smooth_time = smooth_time
        self._apply_pressure_advance()


class Extruder:
    """An [extruder] / [extruderN] section: heater, motion queue, limits,
    and its own stepper (synced to its queue)."""

    def __init__(self, section, hw, limits, motion_queuing):
        self.name = section.name
        # The heater's objects are configured before the stepper's.
        self.heater = Heater(section, hw)
        self.trapq = motion_queuing.allocate_trapq()
        self.last_position = 0.
        self.extruder_stepper = ExtruderStepper(section, hw)
        self.extruder_stepper.sync_to(self)
        self._read_limits(section, limits)

    @property
    def stepper(self):
        return self.extruder_stepper.stepper

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
        self.last_position = move.end_pos[3]

    def get_status(self):
        return {"target": self.heater.target, "temperature": self.heater.smoothed_temp,
                "can_extrude": True,
                "pressure_advance": self.extruder_stepper.pressure_advance,
                "smooth_time": self.extruder_stepper.smooth_time}


class ExtruderCommands:
    """The G-code commands that switch and tune extruders."""

    def __init__(self, printer):
        self.printer = printer
        d = printer.dispatcher
        d.register("ACTIVATE_EXTRUDER", self.cmd_ACTIVATE_EXTRUDER)
        d.register("SYNC_EXTRUDER_MOTION", self.cmd_SYNC_EXTRUDER_MOTION)
        d.register("SET_EXTRUDER_ROTATION_DISTANCE", self.cmd_SET_EXTRUDER_ROTATION_DISTANCE)
        d.register("SET_PRESSURE_ADVANCE", self.cmd_SET_PRESSURE_ADVANCE)

    def _extruder(self, cmd, name):
        for extruder in self.printer.extruders:
            if extruder.name == name:
                return extruder
        raise cmd.error("Unknown extruder '%s'" % name)

    def _extruder_stepper(self, cmd, name):
        for es in self.printer.extruder_steppers():
            if es.name == name:
                return es
        raise cmd.error("Unknown extruder stepper '%s'" % name)

    def cmd_ACTIVATE_EXTRUDER(self, cmd):
        extruder = self._extruder(cmd, cmd.get("EXTRUDER"))
        toolhead = self.printer.toolhead
        if extruder is toolhead.extruder:
            self.printer.dispatcher.info("Extruder %s already active" % extruder.name)
            return
        toolhead.flush_step_generation()
        toolhead.set_extruder(extruder, extruder.last_position)
        self.printer.gcode_move.on_activate_extruder()

    def cmd_SYNC_EXTRUDER_MOTION(self, cmd):
        es = self._extruder_stepper(cmd, cmd.get("EXTRUDER"))
        queue = cmd.get("MOTION_QUEUE")
        self.printer.toolhead.flush_step_generation()
        es.sync_to(self._extruder(cmd, queue) if queue else None)

    def cmd_SET_EXTRUDER_ROTATION_DISTANCE(self, cmd):
        """A negative distance also reverses the stepper's direction
        (relative to its configured dir_pin), as in Klipper."""
        es = self._extruder_stepper(cmd, cmd.get("EXTRUDER"))
        distance = cmd.get_float("DISTANCE", None)
        if distance is None:
            sign = -1. if es.direction_reversed else 1.
            self.printer.dispatcher.info("Extruder '%s' rotation distance set to %0.6f"
                                         % (es.name, sign * es.stepper.rotation_dist))
            return
        if not distance:
            raise cmd.error("Rotation distance can not be zero")
        problem = bounds.step_distance_problem(
            es.stepper.step_dist * abs(distance) / es.stepper.rotation_dist)
        if problem is not None:
            raise cmd.error("DISTANCE=%s: %s" % (cmd.get("DISTANCE"), problem))
        self.printer.toolhead.flush_step_generation()
        es.set_rotation_distance(abs(distance), reversed_dir=distance < 0.)

    def cmd_SET_PRESSURE_ADVANCE(self, cmd):
        es = self._extruder_stepper(cmd, cmd.get("EXTRUDER", "extruder"))
        advance = cmd.get_float("ADVANCE", es.pressure_advance, minval=0.)
        smooth = cmd.get_float("SMOOTH_TIME", es.smooth_time, minval=0., maxval=.200)
        toolhead = self.printer.toolhead
        toolhead.flush_step_generation()
        es.set_pressure_advance(advance, smooth)
        self.printer.motion.update_kin_flush_delay()


def load_extruder_stepper(printer, section):
    """[extruder_stepper NAME]: an extra stepper synced to an extruder."""
    return StandaloneExtruderStepper(section, printer.hw)


class StandaloneExtruderStepper(ExtruderStepper):
    def __init__(self, section, hw):
        super().__init__(section, hw)
        self.sync_name = section.get("extruder")
        self.where = section.location("extruder")

    def connect(self, printer):
        if not self.sync_name:
            # An empty `extruder:` leaves the stepper unsynced until
            # SYNC_EXTRUDER_MOTION (docs/Config_Reference.md).
            self.sync_to(None)
            return
        for extruder in printer.extruders:
            if extruder.name == self.sync_name:
                self.sync_to(extruder)
                return
        raise ConfigError("unknown extruder '%s' for [extruder_stepper %s]"
                          % (self.sync_name, self.name), self.where)
