r"""Moves and the look-ahead planner: which speed each move may have at its
start, cruise and end, so the toolhead never has to brake harder than its
acceleration allows.

All speeds are tracked as squared velocities (v2), because the speed
change a move of length d can achieve at acceleration a is linear in v2:
v_end^2 = v_start^2 + 2*a*d.

The planner follows the published design of Klipper's look-ahead
(docs/Kinematics.md, "Look-ahead" and "Minimum cruise ratio"):

* A junction between two moves gets a maximum speed from "approximated
  centripetal velocity": the corner is treated as an arc of the radius
  that the junction deviation implies, and v^2 = a * R.  The arc may not
  reach further than half of either move.
* Walking the queue backwards from a full stop after the last move, each
  move's start speed is the smaller of its junction limit and what it can
  brake down from (next start + delta_v2).
* A second, "smoothed" limit uses a lower acceleration (max_accel times
  (1 - minimum_cruise_ratio)) so that short zig-zags don't accelerate and
  decelerate on every segment; a move's cruise speed is capped at the
  peak that the smoothed profile reaches in it.

    v2 ^
       |        peak (smoothed profile)
       |       /\
       |  ____/  \____   <- cruise capped by the peak and max_cruise_v2
       | /            \
       +--------------------> distance
         accel  cruise decel
"""
import math

from ..gcode.errors import GCodeError

# Klipper's junction v2 ceiling for "no limit from the next junction yet".
NO_JUNCTION_LIMIT_V2 = 999999999.9
# Acceleration given to extrude-only moves before the extruder limits it.
EXTRUDE_ONLY_ACCEL = 99999999.9
# Distances below this (mm) count as "no XYZ motion".
MIN_KINEMATIC_DISTANCE = .000000001


class MoveError(GCodeError):
    """A move the printer cannot make (out of range, too much extrusion,
    beyond klipsim's bounds): a G-code error wherever the move came from
    (a G1, an arc, a homing move, a macro)."""


class Move:
    """One straight move from start_pos to end_pos (x, y, z, e) at up to
    `speed` mm/s, with the limits of the toolhead that planned it."""

    # Slots: ~50 k moves per print; faster to build and read than a dict.
    __slots__ = ("start_pos", "end_pos", "accel", "junction_deviation", "timing_callbacks",
                 "is_kinematic_move", "axes_d", "move_d", "axes_r", "min_move_t",
                 "max_start_v2", "max_cruise_v2", "delta_v2", "next_junction_v2",
                 "max_smoothed_v2", "smooth_delta_v2", "start_v", "cruise_v", "end_v",
                 "accel_t", "cruise_t", "decel_t")

    def __init__(self, limits, start_pos, end_pos, speed):
        self.start_pos = start = tuple(start_pos)
        self.end_pos = end = tuple(end_pos)
        self.accel = accel = limits.max_accel
        self.junction_deviation = limits.junction_deviation
        self.timing_callbacks = []
        velocity = min(speed, limits.max_velocity)
        self.is_kinematic_move = True
        axes_d = [end[0] - start[0], end[1] - start[1], end[2] - start[2], end[3] - start[3]]
        if len(end) > 4:    # extra G-code axes (manual steppers) after E
            axes_d.extend(e - s for s, e in zip(start[4:], end[4:]))
        move_d = math.sqrt(axes_d[0] ** 2 + axes_d[1] ** 2 + axes_d[2] ** 2)
        if move_d < MIN_KINEMATIC_DISTANCE:
            # Extrude-only (or extra-axis-only): the longest of those
            # distances stands in for the length.
            self.end_pos = (start[0], start[1], start[2]) + end[3:]
            axes_d[0] = axes_d[1] = axes_d[2] = 0.
            move_d = max(abs(d) for d in axes_d[3:]) if len(end) > 4 else abs(axes_d[3])
            self.accel = accel = EXTRUDE_ONLY_ACCEL
            velocity = speed
            self.is_kinematic_move = False
        inv_move_d = 1. / move_d if move_d else 0.
        self.axes_d = axes_d
        self.move_d = move_d
        if len(axes_d) > 4:
            self.axes_r = [d * inv_move_d for d in axes_d]
        else:
            self.axes_r = [axes_d[0] * inv_move_d, axes_d[1] * inv_move_d,
                           axes_d[2] * inv_move_d, axes_d[3] * inv_move_d]
        self.min_move_t = move_d / velocity if move_d else 0.
        self.max_start_v2 = 0.
        self.max_cruise_v2 = velocity * velocity
        self.delta_v2 = 2. * move_d * accel
        self.next_junction_v2 = NO_JUNCTION_LIMIT_V2
        self.max_smoothed_v2 = 0.
        self.smooth_delta_v2 = 2. * move_d * limits.max_accel_to_decel
        # Filled in by set_junction():
        self.start_v = self.cruise_v = self.end_v = 0.
        self.accel_t = self.cruise_t = self.decel_t = 0.

    def limit_speed(self, speed, accel):
        """Lower this move's top speed and acceleration (kinematic and
        extruder limits)."""
        speed2 = speed * speed
        if speed2 < self.max_cruise_v2:
            self.max_cruise_v2 = speed2
            self.min_move_t = self.move_d / speed
        self.accel = min(self.accel, accel)
        self.delta_v2 = 2. * self.move_d * self.accel
        self.smooth_delta_v2 = min(self.smooth_delta_v2, self.delta_v2)

    def limit_next_junction_speed(self, speed):
        self.next_junction_v2 = min(self.next_junction_v2, speed * speed)

    def move_error(self, msg="Move out of range"):
        x, y, z, e = self.end_pos[:4]
        return MoveError("%s: %.3f %.3f %.3f [%.3f]" % (msg, x, y, z, e))

    @property
    def total_time(self):
        return self.accel_t + self.cruise_t + self.decel_t

    def calc_junction(self, prev, extruder_junction_v2):
        """Limit the speed at the junction between `prev` and this move."""
        if not self.is_kinematic_move or not prev.is_kinematic_move:
            return
        max_start_v2 = min(extruder_junction_v2, self.max_cruise_v2,
                           prev.max_cruise_v2, prev.next_junction_v2,
                           prev.max_start_v2 + prev.delta_v2)
        # cos of the angle between the two directions, seen from the corner
        axes_r, prev_r = self.axes_r, prev.axes_r
        cos_theta = -(axes_r[0] * prev_r[0] + axes_r[1] * prev_r[1] + axes_r[2] * prev_r[2])
        sin_half = math.sqrt(max(0.5 * (1.0 - cos_theta), 0.))
        cos_half = math.sqrt(max(0.5 * (1.0 + cos_theta), 0.))
        one_minus_sin_half = 1. - sin_half
        if one_minus_sin_half > 0. and cos_half > 0.:
            # Radius of the arc touching both moves at junction_deviation
            # from the corner, per unit of deviation.
            radius_factor = sin_half / one_minus_sin_half
            this_jd_v2 = radius_factor * self.junction_deviation * self.accel
            prev_jd_v2 = radius_factor * prev.junction_deviation * prev.accel
            # The arc may not reach past the middle of either move.
            quarter_tan_half = .25 * sin_half / cos_half
            this_centripetal_v2 = self.delta_v2 * quarter_tan_half
            prev_centripetal_v2 = prev.delta_v2 * quarter_tan_half
            max_start_v2 = min(max_start_v2, this_jd_v2, prev_jd_v2,
                               this_centripetal_v2, prev_centripetal_v2)
        self.max_start_v2 = max_start_v2
        self.max_smoothed_v2 = min(
            max_start_v2, prev.max_smoothed_v2 + prev.smooth_delta_v2)

    def set_junction(self, start_v2, cruise_v2, end_v2):
        """Fix the trapezoid: accelerate to cruise, cruise, decelerate."""
        half_inv_accel = .5 / self.accel
        accel_d = (cruise_v2 - start_v2) * half_inv_accel
        decel_d = (cruise_v2 - end_v2) * half_inv_accel
        cruise_d = self.move_d - accel_d - decel_d
        self.start_v = start_v = math.sqrt(start_v2)
        self.cruise_v = cruise_v = math.sqrt(cruise_v2)
        self.end_v = end_v = math.sqrt(end_v2)
        self.accel_t = accel_d / ((start_v + cruise_v) * 0.5)
        self.cruise_t = cruise_d / cruise_v
        self.decel_t = decel_d / ((end_v + cruise_v) * 0.5)


class LookAheadQueue:
    """Queue of planned-but-not-timed moves.

    Moves are released ("flushed") once enough of them are queued that the
    speeds of the earliest ones can no longer change: a move whose smoothed
    profile can decelerate is final once a later move is known to peak."""

    def __init__(self, flush_time):
        self.queue = []
        self.junction_flush = flush_time
        self.flush_time = flush_time

    def reset(self):
        del self.queue[:]
        self.junction_flush = self.flush_time

    def set_flush_time(self, flush_time):
        self.junction_flush = flush_time

    def get_last(self):
        return self.queue[-1] if self.queue else None

    def add_move(self, move, extruder_junction_v2):
        """Queue a move; return True when enough time is queued that a
        lazy flush should be tried."""
        self.queue.append(move)
        if len(self.queue) == 1:
            return False
        move.calc_junction(self.queue[-2], extruder_junction_v2)
        self.junction_flush -= move.min_move_t
        return self.junction_flush <= 0.

    def flush(self, lazy=False):
        """Time the moves whose speeds are final and return them.

        Backward pass, assuming a full stop after the last move: each
        move's start speed (reachable from the next move's start) and, for
        moves that can accelerate in the smoothed profile, a cruise speed
        capped by the peak the smoothed profile reaches. Moves that cannot
        accelerate wait for a cruise speed from the move before them,
        given in the forward pass. With lazy=True only the moves up to the
        last peak that is followed by another peak are released; the rest
        stay queued for more look-ahead."""
        self.junction_flush = self.flush_time
        queue = self.queue
        flush_count = len(queue)
        find_flush_point = lazy
        plan = [None] * flush_count      # (start_v2, cruise_v2 or None, end_v2)
        next_start_v2 = next_smoothed_v2 = peak_cruise_v2 = 0.
        waiting = 0    # moves since the last one that got a cruise speed
        for i in range(flush_count - 1, -1, -1):
            move = queue[i]
            reachable_start_v2 = next_start_v2 + move.delta_v2
            start_v2 = min(move.max_start_v2, reachable_start_v2)
            cruise_v2 = None
            waiting += 1
            reachable_smoothed_v2 = next_smoothed_v2 + move.smooth_delta_v2
            smoothed_v2 = min(move.max_smoothed_v2, reachable_smoothed_v2)
            if smoothed_v2 < reachable_smoothed_v2:
                # This move can accelerate (in the smoothed profile).
                if smoothed_v2 + move.smooth_delta_v2 > next_smoothed_v2 or waiting > 1:
                    # A peak lies in this move (it can also decelerate, or
                    # it is a full acceleration before a full deceleration).
                    if find_flush_point and peak_cruise_v2:
                        flush_count = i + waiting
                        find_flush_point = False
                    peak_cruise_v2 = (smoothed_v2 + reachable_smoothed_v2) * .5
                cruise_v2 = min((start_v2 + reachable_start_v2) * .5,
                                move.max_cruise_v2, peak_cruise_v2)
                waiting = 0
            plan[i] = (start_v2, cruise_v2, next_start_v2)
            next_start_v2 = start_v2
            next_smoothed_v2 = smoothed_v2
        if find_flush_point or not flush_count:
            return []
        prev_cruise_v2 = 0.
        for i in range(flush_count):
            start_v2, cruise_v2, end_v2 = plan[i]
            if cruise_v2 is None:
                # Cannot accelerate: keep the previous move's cruise speed.
                cruise_v2 = min(prev_cruise_v2, start_v2)
            queue[i].set_junction(min(start_v2, cruise_v2), cruise_v2,
                                  min(end_v2, cruise_v2))
            prev_cruise_v2 = cruise_v2
        released = queue[:flush_count]
        del queue[:flush_count]
        return released
