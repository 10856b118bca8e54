"""The toolhead: turns requested moves into timed trapezoids on the
print-time axis and hands them to the motion queues.

Print time is the host's clock for the MCU (seconds; clock = print_time *
CLOCK_FREQ on the main MCU). Its bookkeeping follows Klipper's current
design (toolhead.py with motion_queuing, see KLIPPER-FACTS.md 2.1/2.2):

* After an idle period ("NeedPrime") the next move starts at
  max(estimated_print_time + BUFFER_TIME_START, the step generator's
  restart time), i.e. 0.250 s into the run for the first move of a batch
  run, where the estimated print time stays 0.
* While moves keep coming ("main" state) each move starts exactly where
  the previous one ended; a dwell pushes print time forward.
* Flushing the look-ahead (M400, set_position, end of input) goes back to
  "NeedPrime".

The host never asks whether it runs in compile or simulate mode: it reads
time from the reactor and the estimated print time from the MCU.
"""
import math
from collections import namedtuple

from ..gcode.errors import GCodeError
from . import bounds
from .bounds import MAX_COORDINATE, MAX_MOVE_TIME
from .lookahead import LookAheadQueue, Move, MoveError

BUFFER_TIME_START = 0.250   # toolhead.py: lead of the first move after idle
BUFFER_TIME_HIGH = 1.0      # toolhead.py: look-ahead flush time after a flush
LOOKAHEAD_FLUSH_TIME = 0.150  # toolhead.py (HEAD): lazy flush threshold

# A position as macros see it: printer.toolhead.position.z or [2].
Coord = namedtuple("Coord", "x y z e")

STATE_MAIN = ""
STATE_NEED_PRIME = "NeedPrime"


class ToolheadLimits:
    """Velocity and acceleration limits (SET_VELOCITY_LIMIT, M204)."""

    def __init__(self, max_velocity, max_accel, square_corner_velocity,
                 min_cruise_ratio):
        self.max_velocity = max_velocity
        self.max_accel = max_accel
        self.square_corner_velocity = square_corner_velocity
        self.min_cruise_ratio = min_cruise_ratio
        self.update()

    def update(self):
        """Derive junction deviation and the smoothed acceleration.

        Junction deviation from the square corner velocity: a 90 degree
        corner taken at scv implies jd = scv^2 * (sqrt(2) - 1) / accel
        (docs/Kinematics.md)."""
        scv2 = self.square_corner_velocity ** 2
        self.junction_deviation = scv2 * (math.sqrt(2.) - 1.) / self.max_accel
        self.max_accel_to_decel = self.max_accel * (1. - self.min_cruise_ratio)


class ToolHead:
    """Plans moves with look-ahead and keeps the print-time clock."""

    def __init__(self, limits, kinematics, motion_queuing, mcu, reactor):
        self.limits = limits
        self.kin = kinematics
        self.motion = motion_queuing
        self.mcu = mcu
        self.reactor = reactor
        self.extruder = None
        self.lookahead = LookAheadQueue(LOOKAHEAD_FLUSH_TIME)
        self.lookahead.set_flush_time(BUFFER_TIME_HIGH)
        self.commanded_pos = [0., 0., 0., 0.]
        self.print_time = 0.
        self.state = STATE_NEED_PRIME
        self.need_check_pause = -1.
        self.print_stall = 0
        self.trapq = motion_queuing.toolhead_trapq
        self.set_position_listeners = []
        # Extra G-code axes (manual steppers), positions 4.. after E; each
        # has check_move / calc_junction / process_move(.., index).
        self.extra_axes = []
        # Must run before any other flush callback (it may queue motion).
        motion_queuing.register_flush_callback(self._handle_step_flush, first=True)

    # ---- print time -----------------------------------------------------
    def _estimated_print_time(self):
        return self.mcu.estimated_print_time(self.reactor.monotonic())

    def _calc_print_time(self):
        """Restart print time after idle: leave room for the MCU to get the
        first steps in time and for the step generator to restart."""
        est = self._estimated_print_time()
        kin_time = self.motion.step_gen_restart_time(est)
        min_print_time = max(est + BUFFER_TIME_START, kin_time)
        if min_print_time > self.print_time:
            self.print_time = min_print_time

    def _process_lookahead(self, lazy=False):
        """Place the moves the look-ahead releases on the print-time axis."""
        moves = self.lookahead.flush(lazy=lazy)
        if not moves:
            return
        self._begin_timing()
        next_move_time = self.print_time
        trapq_append, extruder = self.trapq.append, self.extruder
        for move in moves:
            if move.is_kinematic_move:
                trapq_append(next_move_time, move.accel_t, move.cruise_t,
                             move.decel_t, move.start_pos[:3],
                             move.axes_r[:3], move.start_v,
                             move.cruise_v, move.accel)
            if move.axes_d[3]:
                extruder.move(next_move_time, move)
            if self.extra_axes:
                for index, axis in enumerate(self.extra_axes, 4):
                    if move.axes_d[index]:
                        axis.process_move(next_move_time, move, index)
            # Left to right, as Klipper sums it (same float rounding).
            next_move_time = next_move_time + move.accel_t + move.cruise_t + move.decel_t
            for callback in move.timing_callbacks:
                callback(next_move_time)
        self._end_timing(next_move_time)

    def _begin_timing(self):
        """Moves are about to be timed: leave the idle state (print time
        restarts after it)."""
        if self.state != STATE_MAIN:
            self.state = STATE_MAIN
            self.need_check_pause = -1.
            self._calc_print_time()

    def _end_timing(self, next_move_time):
        """Moves are timed up to next_move_time: advance the clock and
        tell the motion queues."""
        self._advance_move_time(next_move_time)
        self.motion.note_mcu_movequeue_activity(next_move_time)

    def _advance_move_time(self, next_print_time):
        bounds.check_print_time(next_print_time, GCodeError)
        self.print_time = max(self.print_time, next_print_time)

    def _flush_lookahead(self):
        """Time every queued move and go back to the idle state."""
        self._process_lookahead()
        self.state = STATE_NEED_PRIME
        self.need_check_pause = -1.
        self.lookahead.set_flush_time(BUFFER_TIME_HIGH)

    def _handle_step_flush(self, flush_time, step_gen_time):
        """Step generation caught up with the queued motion: release the
        look-ahead rather than let the steppers run dry (a print stall)."""
        if self.state != STATE_MAIN:
            return
        if step_gen_time >= self.print_time - self.motion.kin_flush_delay - 0.001:
            self.print_stall += 1
            self._flush_lookahead()

    def _check_pause(self):
        """Throttle G-code intake when more than BUFFER_TIME_HIGH is queued.

        Offline there is no MCU clock to wait for, so nothing pauses; while
        little is queued the main state still yields once to the reactor
        so timers (the step flush) get to run, as Klipper's host does."""
        est = self._estimated_print_time()
        if self.print_time - est - BUFFER_TIME_HIGH > 0.:
            if not self.motion.can_pause:
                self.need_check_pause = self.reactor.NEVER
                return
            self.reactor.pause(self.reactor.monotonic()
                               + max(.005, min(1., self.print_time - est - BUFFER_TIME_HIGH)))
            return
        if self.state == STATE_MAIN:
            self.need_check_pause = self.print_time
            self.reactor.pause(self.reactor.NOW)

    def flush_step_generation(self):
        self._flush_lookahead()
        self.motion.flush_all_steps()

    def get_last_move_time(self):
        """Print time at which everything queued so far has finished."""
        if self.state != STATE_MAIN:
            self._flush_lookahead()
            self._calc_print_time()
        else:
            self._process_lookahead()
        return self.print_time

    # ---- commands -----------------------------------------------------------
    def move(self, newpos, speed):
        """Queue a move from the commanded position to `newpos` (x,y,z,e)."""
        for value in newpos:     # bounds.check_position inlined (hot path)
            if not -MAX_COORDINATE <= value <= MAX_COORDINATE:
                bounds.check_position(newpos, MoveError)
        if self.extra_axes and len(newpos) < len(self.commanded_pos):
            newpos = list(newpos) + self.commanded_pos[len(newpos):]
        move = Move(self.limits, self.commanded_pos, newpos, speed)
        if not move.move_d:
            return
        if move.is_kinematic_move:
            self.kin.check_move(move)
        extruder = self.extruder
        if move.axes_d[3]:
            extruder.check_move(move)
        if self.extra_axes:
            for index, axis in enumerate(self.extra_axes, 4):
                if move.axes_d[index]:
                    axis.check_move(move, index)
        if move.min_move_t > MAX_MOVE_TIME:
            bounds.check_duration("Move", move.min_move_t, MAX_MOVE_TIME, move.move_error)
        self.commanded_pos[:] = move.end_pos
        lookahead = self.lookahead
        queue = lookahead.queue      # lookahead.get_last() without the call (hot path)
        extruder_v2 = extruder.calc_junction(queue[-1], move) if queue else 0.
        if queue and self.extra_axes:
            extruder_v2 = min([extruder_v2] + [
                axis.calc_junction(queue[-1], move, index)
                for index, axis in enumerate(self.extra_axes, 4)])
        if lookahead.add_move(move, extruder_v2):
            self._process_lookahead(lazy=True)
        if self.print_time > self.need_check_pause:
            self._check_pause()

    def manual_move(self, coord, speed):
        """A move made by a command rather than by G-code (Klipper's
        toolhead.manual_move): None keeps an axis where it is; the G-code
        position follows the toolhead afterwards."""
        pos = self.get_position()
        for i, value in enumerate(coord):
            if value is not None:
                pos[i] = value
        self.move(pos, speed)
        for listener in self.set_position_listeners:
            listener()

    def register_lookahead_callback(self, callback):
        """Call `callback(print_time)` when the last queued move ends (at
        once, with the current print time, if nothing is queued)."""
        last = self.lookahead.get_last()
        if last is None:
            callback(self.get_last_move_time())
        else:
            last.timing_callbacks.append(callback)

    def dwell(self, delay):
        bounds.check_duration("Dwell", delay, bounds.MAX_DWELL, GCodeError)
        self._flush_lookahead()
        next_print_time = self.get_last_move_time() + max(0., delay)
        self._advance_move_time(next_print_time)
        self._check_pause()

    def wait_moves(self):
        """M400: time every queued move. (A live host then waits until the
        MCU has executed them; offline there is nothing to wait for.)"""
        self._flush_lookahead()

    def set_position(self, newpos, homing_axes=""):
        bounds.check_position(newpos, GCodeError)
        self.flush_step_generation()
        self.trapq.set_position(self.print_time, tuple(newpos[:3]))
        self.commanded_pos[:3] = newpos[:3]
        self.kin.set_position(newpos, homing_axes)
        for listener in self.set_position_listeners:
            listener()

    def get_position(self):
        return list(self.commanded_pos)

    def check_drip_move(self, newpos, speed):
        """The Move a drip_move to `newpos` would make, checked (range and
        klipsim's bounds); homing calls it before arming any endstop."""
        newpos = list(newpos[:3]) + self.commanded_pos[3:]
        bounds.check_position(newpos, MoveError)
        move = Move(self.limits, self.commanded_pos, newpos, speed)
        if move.move_d:
            self.kin.check_move(move)
            bounds.check_duration("Homing move", move.min_move_t, MAX_MOVE_TIME,
                                  move.move_error)
        return move

    def drip_move(self, newpos, speed, completion):
        """A homing/probing move: stepped in short segments so it can stop
        when an endstop triggers (`completion`)."""
        move = self.check_drip_move(newpos, speed)
        # Steps must not start before the move's nominal start time.
        self.dwell(self.motion.kin_flush_delay)
        self._process_lookahead()
        start_time, end_time = self._drip_load_trapq(move)
        self.motion.drip_update_time(start_time, end_time, completion)
        self.motion.wipe_trapq(self.trapq)

    def _drip_load_trapq(self, move):
        if move.move_d:
            self.commanded_pos[:] = move.end_pos
            self.lookahead.add_move(move, 0.)
        moves = self.lookahead.flush()
        self._calc_print_time()
        start_time = end_time = self.print_time
        for m in moves:
            self.trapq.append(end_time, m.accel_t, m.cruise_t, m.decel_t,
                              m.start_pos[:3], m.axes_r[:3], m.start_v,
                              m.cruise_v, m.accel)
            end_time = end_time + m.accel_t + m.cruise_t + m.decel_t
        self.lookahead.reset()
        return start_time, end_time

    def add_extra_axis(self, axis, position):
        """A new G-code axis at `position` (after every queued move)."""
        self._flush_lookahead()
        self.extra_axes.append(axis)
        self.commanded_pos.append(position)

    def remove_extra_axis(self, axis):
        self._flush_lookahead()
        index = self.extra_axes.index(axis)
        self.extra_axes.pop(index)
        self.commanded_pos.pop(index + 4)

    def set_extruder(self, extruder, extrude_pos):
        self.extruder = extruder
        self.commanded_pos[3] = extrude_pos


__all__ = ["ToolHead", "ToolheadLimits", "MoveError", "BUFFER_TIME_START"]
