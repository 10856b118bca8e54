"""Resource bounds: the largest coordinate, move, dwell, print and arc, and
the smallest step distance, that klipsim accepts.

Contract: each bound is a constant here with the reason it is beyond any
real printer; `check_*` helpers raise the caller's error (a MoveError or
GCodeError naming the G-code line, a ConfigError naming the option) in
one line.  Klipper itself has none of these bounds: it would hang, run
out of memory or lose precision on such inputs, where klipsim answers at
once.  The C step solver adds one more (chelper/src/itersolve.c,
MAX_STEP_RATE: no stepper steps faster than 10 million times a second).
"""
import math

from ..gcode import arcs

# Coordinates (mm, or degrees for rotary axes) beyond +-1e9 (a 1000 km
# axis): the spacing of doubles there is 1.2e-7 mm, still finer than any
# step; further out positions stop resolving steps and distances
# overflow.  Applies to G-code positions, SET_KINEMATIC_POSITION and
# position_min/position_max/position_endstop.
MAX_COORDINATE = 1e9

# Step distance floor (mm or rad per microstep).  The step solver places a
# step to within 1e-9 mm (Klipper's tolerance, itersolve.c POS_TOL); a
# step under 10x that cannot be solved.  Real printers are far above it:
# a 2 mm lead screw with 0.9 degree motors, 256 microsteps and a 5:1 gear
# moves 3.9e-6 mm per step.
MIN_STEP_DISTANCE = 1e-8

# One move or one dwell lasting more than a day: no printer does either
# (heating waits are M109/M190, not G4).  A longer one is almost always a
# unit slip (G4 takes milliseconds) or an absurd speed limit, and would
# make simulate wait through ~90 000 clock-sync queries per day.
MAX_MOVE_TIME = 86400.
MAX_DWELL = 86400.

# A whole print longer than 30 days: the longest prints run for days.
# Also keeps MCU clocks small: 30 days at 520 MHz is 1.3e15 ticks, far
# inside 64 bits and inside a double's exact integers (2^53).
MAX_PRINT_TIME = 30 * 86400.

# One G2/G3 split into more than a million segments (gcode/arcs.py holds
# it: gcode/ imports nothing of the host).
MAX_ARC_SEGMENTS = arcs.MAX_ARC_SEGMENTS


def coordinate_ok(value):
    """True for a finite coordinate within +-MAX_COORDINATE."""
    return -MAX_COORDINATE <= value <= MAX_COORDINATE   # False for nan


def check_position(position, error):
    """Raise error(message) unless every coordinate is within bounds."""
    for value in position:
        if not coordinate_ok(value):
            raise error("Position %s is beyond klipsim's bound of +-%g"
                        % (_coords(position), MAX_COORDINATE))


def check_duration(what, seconds, limit, error):
    """Raise error(message) when a move or dwell lasts longer than limit."""
    if not seconds <= limit:          # also catches nan
        raise error("%s would take %.6g s, more than klipsim's bound of %g s"
                    % (what, seconds, limit))


def check_print_time(print_time, error):
    if not print_time <= MAX_PRINT_TIME:
        raise error("Print time would reach %.6g s, more than klipsim's bound"
                    " of %g s (30 days)" % (print_time, MAX_PRINT_TIME))


def step_distance_problem(step_dist):
    """Why a stepper's step distance is unusable, or None."""
    if not math.isfinite(step_dist) or step_dist < MIN_STEP_DISTANCE:
        return ("step distance %.6g is below klipsim's bound of %g (check"
                " rotation_distance, microsteps, full_steps_per_rotation,"
                " gear_ratio)" % (step_dist, MIN_STEP_DISTANCE))
    return None


def _coords(position):
    return " ".join("%.6g" % v for v in position)
