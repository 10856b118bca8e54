"""[manual_stepper NAME]: a stepper moved by MANUAL_STEPPER commands, or
registered as an extra G-code axis that moves in the toolhead's queue
(docs/G-Codes.md "MANUAL_STEPPER", docs/Config_Reference.md).

Contract: `load(printer, section)` builds the stepper (its config_stepper
and enable line come in config-file order, like every optional section)
and registers `MANUAL_STEPPER STEPPER=NAME`:
- ENABLE=0/1 switches its enable line (stepper_enable.set_enable);
- SET_POSITION=pos sets its position after generating every pending step;
- MOVE=pos [SPEED] [ACCEL] [SYNC=0] queues a move on its own motion queue,
  starting when the toolhead's queued moves end; with SYNC=1 (the default)
  the toolhead then waits for the move's end, with SYNC=0 toolhead moves
  go on alongside it; SYNC=1 alone waits for earlier SYNC=0 moves;
- STOP_ON_ENDSTOP=1/2/-1/-2 with MOVE makes a homing move (needs
  endstop_pin; in batch mode the endstop counts as hit at the move's end);
- GCODE_AXIS=A registers it as G-code axis A (`G1 A10` moves it in the
  toolhead's look-ahead queue, INSTANTANEOUS_CORNER_VELOCITY,
  LIMIT_VELOCITY, LIMIT_ACCEL); `GCODE_AXIS=` unregisters.
Timing follows Klipper's manual_stepper: a move starts at the later of
the stepper's own next free time and the toolhead's last move time; its
trapezoid is symmetric (accel_t = decel_t), computed as FORCE_MOVE does.
"""
import math

from ..chelper import motion
from .homing import HomingMove
from .stepper import Rail, Stepper

INVALID_AXES = "XYZEFN"


def calc_move_time(dist, speed, accel):
    """(axis_r, accel_t, cruise_t, cruise_v) of a straight move of `dist`
    (Klipper's force_move rule: no accel means constant speed; a move too
    short to reach `speed` peaks at sqrt(dist * accel))."""
    axis_r = 1.
    if dist < 0.:
        axis_r = -1.
        dist = -dist
    if not accel or not dist:
        return axis_r, 0., dist / speed, speed
    max_cruise_v2 = dist * accel
    if max_cruise_v2 < speed ** 2:
        speed = math.sqrt(max_cruise_v2)
    accel_t = speed / accel
    cruise_t = (dist - accel_t * speed) / speed
    return axis_r, accel_t, cruise_t, speed


class ManualStepper:
    def __init__(self, printer, section):
        self.printer = printer
        self.name = section.name.split()[-1]
        self.rail = None
        if section.get("endstop_pin", None) is not None:
            self.rail = Rail(section, printer.hw, need_position_minmax=False,
                             default_position_endstop=0.)
            self.stepper = self.rail.stepper
        else:
            self.stepper = Stepper(section, printer.hw)
            self.stepper.allocate()
            printer.hw.register_stepper(self.stepper)
        self.velocity = section.getfloat("velocity", 5., above=0.)
        self.accel = self.homing_accel = section.getfloat("accel", 0., minval=0.)
        self.pos_min = section.getfloat("position_min", None)
        self.pos_max = section.getfloat("position_max", None)
        self.motion = printer.motion
        self.trapq = self.motion.allocate_trapq()
        self.stepper.set_stepper_kinematics(motion.cartesian_stepper("x"))
        self.stepper.set_trapq(self.trapq)
        self.next_cmd_time = 0.
        self.commanded_pos = 0.
        self.axis_gcode_id = None
        self.instant_corner_v = 0.
        self.limit_velocity = self.limit_accel = 0.
        printer.dispatcher.register_mux("MANUAL_STEPPER", "STEPPER", self.name,
                                        self.cmd_MANUAL_STEPPER,
                                        "Command a manually configured stepper")

    @property
    def toolhead(self):
        return self.printer.toolhead

    # ---- own motion queue ---------------------------------------------------
    def sync_print_time(self):
        """Line up the stepper's time and the toolhead's: whichever is
        later wins (the toolhead dwells to catch up)."""
        print_time = self.toolhead.get_last_move_time()
        if self.next_cmd_time > print_time:
            self.toolhead.dwell(self.next_cmd_time - print_time)
        else:
            self.next_cmd_time = print_time

    def do_enable(self, enable):
        self.printer.hw.stepper_enable.set_enable(self.toolhead, [self.stepper], enable)

    def do_set_position(self, position):
        self.toolhead.flush_step_generation()
        self.commanded_pos = position
        self.stepper.set_position([position, 0., 0.])

    def _submit_move(self, move_time, position, speed, accel):
        start = self.commanded_pos
        axis_r, accel_t, cruise_t, cruise_v = calc_move_time(position - start, speed, accel)
        self.trapq.append(move_time, accel_t, cruise_t, accel_t, (start, 0., 0.),
                          (axis_r, 0., 0.), 0., cruise_v, accel)
        self.commanded_pos = position
        return move_time + accel_t + cruise_t + accel_t

    def do_move(self, position, speed, accel, sync=True):
        self.sync_print_time()
        self.next_cmd_time = self._submit_move(self.next_cmd_time, position, speed, accel)
        self.motion.note_mcu_movequeue_activity(self.next_cmd_time)
        if sync:
            self.sync_print_time()

    def do_homing_move(self, cmd, position, speed, accel):
        """A move that stops at the endstop (batch mode: at the move's end)."""
        if self.rail is None:
            raise cmd.error("No endstop for this manual stepper")
        self.homing_accel = accel
        HomingMove(HomingAdapter(self), self.rail.endstops()).homing_move(
            [position, 0., 0., 0.], speed)
        self.sync_print_time()

    # ---- the command ----------------------------------------------------------
    def _check_range(self, cmd, position):
        if ((self.pos_min is not None and position < self.pos_min)
                or (self.pos_max is not None and position > self.pos_max)):
            raise cmd.error("Move out of range")

    def cmd_MANUAL_STEPPER(self, cmd):
        if cmd.get("GCODE_AXIS", None) is not None:
            self._command_gcode_axis(cmd)
            return
        if self.axis_gcode_id is not None:
            raise cmd.error("Must unregister from gcode axis first")
        enable = cmd.get_int("ENABLE", None)
        if enable is not None:
            self.do_enable(enable)
        position = cmd.get_float("SET_POSITION", None)
        if position is not None:
            self.do_set_position(position)
        speed = cmd.get_float("SPEED", self.velocity, above=0.)
        accel = cmd.get_float("ACCEL", self.accel, minval=0.)
        homing = cmd.get_int("STOP_ON_ENDSTOP", 0)
        if homing:
            target = cmd.get_float("MOVE")
            self._check_range(cmd, target)
            self.do_homing_move(cmd, target, speed, accel)
        elif cmd.get_float("MOVE", None) is not None:
            target = cmd.get_float("MOVE")
            self._check_range(cmd, target)
            self.do_move(target, speed, accel, cmd.get_int("SYNC", 1))
        elif cmd.get_int("SYNC", 0):
            self.sync_print_time()

    # ---- as an extra G-code axis ----------------------------------------------
    def _command_gcode_axis(self, cmd):
        axis = cmd.get("GCODE_AXIS").upper()
        corner_v = cmd.get_float("INSTANTANEOUS_CORNER_VELOCITY", 1., minval=0.)
        limit_velocity = cmd.get_float("LIMIT_VELOCITY", 999999.9, above=0.)
        limit_accel = cmd.get_float("LIMIT_ACCEL", 999999.9, above=0.)
        gcode_move = self.printer.gcode_move
        if self.axis_gcode_id is not None:
            if axis:
                raise cmd.error("Must unregister axis first")
            gcode_move.remove_extra_axis(self)
            self.axis_gcode_id = None
            return
        if len(axis) != 1 or not axis.isupper() or axis in INVALID_AXES:
            if not axis:
                return          # unregistering an axis that is not registered
            raise cmd.error("Not a valid GCODE_AXIS")
        if any(ea.axis_gcode_id == axis for ea in self.toolhead.extra_axes):
            raise cmd.error("Axis '%s' already registered" % (axis,))
        self.axis_gcode_id = axis
        self.instant_corner_v = corner_v
        self.limit_velocity = limit_velocity
        self.limit_accel = limit_accel
        gcode_move.add_extra_axis(self, self.commanded_pos)

    def check_move(self, move, index):
        """Range check and speed limits of a toolhead move along this axis."""
        position = move.end_pos[index]
        if ((self.pos_min is not None and position < self.pos_min)
                or (self.pos_max is not None and position > self.pos_max)):
            raise move.move_error()
        ratio = move.move_d / abs(move.axes_d[index])
        limit_accel = self.limit_accel * ratio
        if not move.is_kinematic_move and self.accel:
            limit_accel = min(limit_accel, self.accel * ratio)
        move.limit_speed(self.limit_velocity * ratio, limit_accel)

    def calc_junction(self, prev_move, move, index):
        diff_r = move.axes_r[index] - prev_move.axes_r[index]
        if diff_r:
            return (self.instant_corner_v / abs(diff_r)) ** 2
        return move.max_cruise_v2

    def process_move(self, print_time, move, index):
        """Queue the axis's part of a timed toolhead move."""
        axis_r = move.axes_r[index]
        self.trapq.append(print_time, move.accel_t, move.cruise_t, move.decel_t,
                          (move.start_pos[index], 0., 0.), (1., 0., 0.),
                          move.start_v * axis_r, move.cruise_v * axis_r,
                          move.accel * axis_r)
        self.commanded_pos = move.end_pos[index]


class HomingAdapter:
    """The manual stepper seen as the 'toolhead' of a homing move (what
    HomingMove calls), on the stepper's own motion queue."""

    def __init__(self, manual):
        self.manual = manual
        self.reactor = manual.toolhead.reactor
        self.motion = manual.motion
        self.trapq = manual.trapq

    def flush_step_generation(self):
        self.manual.toolhead.flush_step_generation()

    def get_position(self):
        return [self.manual.commanded_pos, 0., 0., 0.]

    def set_position(self, newpos, homing_axes=""):
        self.manual.do_set_position(newpos[0])

    def get_last_move_time(self):
        self.manual.sync_print_time()
        return self.manual.next_cmd_time

    def dwell(self, delay):
        self.manual.next_cmd_time += max(0., delay)

    def drip_move(self, newpos, speed, completion):
        manual = self.manual
        manual.sync_print_time()
        start = manual.next_cmd_time
        end = manual._submit_move(start, newpos[0], speed, manual.homing_accel)
        self.motion.drip_update_time(start, end, completion)
        self.motion.wipe_trapq(manual.trapq)


def load(printer, section):
    return ManualStepper(printer, section)
