"""Shared helpers for the tests/test_motion_*.py files: independent
closed forms and a decoder of compressor messages back to step clocks."""
import numpy as np

from klipsim.chelper import motion


def trapezoid_distance(t, start_v, cruise_v, accel, accel_t, cruise_t,
                       decel_t):
    """Distance along a trapezoid at time t after its start (closed form,
    written independently of the C segment representation)."""
    t = min(max(t, 0.), accel_t + cruise_t + decel_t)
    if t <= accel_t:
        return start_v * t + .5 * accel * t * t
    d = start_v * accel_t + .5 * accel * accel_t ** 2
    if t <= accel_t + cruise_t:
        return d + cruise_v * (t - accel_t)
    d += cruise_v * cruise_t
    td = t - accel_t - cruise_t
    return d + cruise_v * td - .5 * accel * td * td


def trapezoid_times(distance, start_v, cruise_v, end_v, accel):
    """(accel_t, cruise_t, decel_t) of a trapezoid covering `distance`."""
    accel_d = (cruise_v ** 2 - start_v ** 2) / (2 * accel)
    decel_d = (cruise_v ** 2 - end_v ** 2) / (2 * accel)
    cruise_d = distance - accel_d - decel_d
    assert cruise_d >= -1e-9 * distance
    cruise_d = max(cruise_d, 0.)
    return ((cruise_v - start_v) / accel, cruise_d / cruise_v,
            (cruise_v - end_v) / accel)


def decode_steps(messages, invert_dir=False):
    """Absolute step clocks and directions (1 = positive) from compressor
    messages, following the MCU's queue_step semantics."""
    clock, direction = 0, None
    clocks, dirs = [], []
    for m in messages:
        if m["kind"] == motion.SET_NEXT_STEP_DIR:
            direction = int(m["p0"]) ^ int(invert_dir)
        elif m["kind"] == motion.RESET_STEP_CLOCK:
            clock = int(m["p0"])
        else:
            interval, count, add = int(m["p0"]), int(m["p1"]), int(m["p2"])
            for _ in range(count):
                clock += interval
                interval += add
                clocks.append(clock)
                dirs.append(direction)
    return np.array(clocks, dtype=np.int64), np.array(dirs, dtype=np.int64)
