"""Pressure advance in the extruder kinematics: the smoothed position is
the triangular-weighted average of x + pa*v (checked against numerical
quadrature), PA = 0 gives the plain extruder's steps, total extrusion is
preserved, scan windows are smooth_time / 2."""
import os
import sys

import numpy as np
from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _motion_helpers import decode_steps, trapezoid_times  # noqa: E402
from klipsim.chelper import motion  # noqa: E402

FREQ = 168e6
STEP = 33.5 / 3200


@st.composite
def extrusions(draw):
    """Chained extruder moves: (distance signed, cruise_v, accel, pa_flag,
    dwell after), each from and to rest."""
    moves = []
    for _ in range(draw(st.integers(1, 5))):
        dist = draw(st.floats(.05, 5.)) * draw(st.sampled_from([1, 1, -1]))
        accel = draw(st.floats(200., 3000.))
        v = min(draw(st.floats(1., 40.)), np.sqrt(abs(dist) * accel))
        moves.append((dist, v, accel, draw(st.booleans()),
                      draw(st.sampled_from([0., 0., .003, .05]))))
    return moves


def build(moves, start=1.):
    tq = motion.TrapQ()
    t, e, segments = start, 0., []
    for dist, v, accel, pa_flag, dwell in moves:
        times = trapezoid_times(abs(dist), 0., v, 0., accel)
        r = 1. if dist > 0 else -1.
        tq.append(t, *times, (e, 0., 0.), (r, 1. if pa_flag else 0., 0.), 0., v, accel)
        segments.append((t, e, r, v, accel, times, pa_flag))
        t += sum(times) + dwell
        e += dist
    return tq, segments, t, e


def plain_position_velocity(segments, t):
    """Nominal filament position, velocity and PA flag at times t (array),
    closed form per trapezoid phase."""
    t = np.asarray(t, dtype=float)
    pos = np.full(t.shape, segments[0][1])
    vel = np.zeros(t.shape)
    flag = np.zeros(t.shape, dtype=bool)
    for start, e0, r, v, accel, (at, ct, dt), pa_flag in segments:
        u = np.clip(t - start, 0., at + ct + dt)
        ua, uc, ud = np.minimum(u, at), np.clip(u - at, 0., ct), np.clip(u - at - ct, 0., dt)
        d = .5 * accel * ua * ua + v * uc + v * ud - .5 * accel * ud * ud
        s = np.where(u <= at, accel * ua, np.where(u <= at + ct, v, v - accel * ud))
        s = np.where(t - start >= at + ct + dt, 0., s)
        here = t >= start
        pos = np.where(here, e0 + r * d, pos)
        vel = np.where(here, r * s, vel)
        flag = np.where(here, pa_flag, flag)
    return pos, vel, flag


def smoothed_reference(segments, pa, smooth_time, t, n=20001):
    h = smooth_time / 2
    taus = np.linspace(t - h, t + h, n)
    p, v, flag = plain_position_velocity(segments, taus)
    vals = p + np.where(flag, pa * v, 0.)
    weights = h - np.abs(taus - t)
    return np.trapezoid(vals * weights, taus) / (h * h)


@settings(max_examples=20, deadline=None)
@given(moves=extrusions(), pa=st.floats(0., .2), smooth_time=st.floats(.005, .1),
       fractions=st.lists(st.floats(0., 1.), min_size=1, max_size=5))
def test_smoothed_position_matches_quadrature(moves, pa, smooth_time, fractions):
    tq, segments, end, _ = build(moves)
    sk = motion.extruder_stepper()
    sk.set_trapq(tq)
    sk.set_pressure_advance(pa, smooth_time)
    for f in fractions:
        t = 1. + f * (end - 1.)
        want = smoothed_reference(segments, pa, smooth_time, t)
        got = sk.position_at(t)
        # quadrature error of the trapezoid rule on kinks of the window
        assert abs(got - want) < 1e-6 * (1 + pa * 40), (t, got, want)


def generate(moves, pa, smooth_time, set_pa=True):
    tq, segments, end, e = build(moves)
    sk = motion.extruder_stepper()
    sk.set_trapq(tq)
    if set_pa:
        sk.set_pressure_advance(pa, smooth_time)
    sc = motion.StepCompress(9, 25e-6 * FREQ)
    sc.set_time(0., FREQ)
    sk.set_stepcompress(sc, STEP)
    sk.set_position(0., 0., 0.)
    t = .5
    while t < end + .2:
        t += .137
        sk.generate_steps(t)
        sc.flush(int(t * FREQ))
    sc.flush(2 ** 63)
    return sc, sk, e


@settings(max_examples=20, deadline=None)
@given(moves=extrusions())
def test_zero_advance_gives_plain_extruder_steps(moves):
    plain, _, _ = generate(moves, 0., 0., set_pa=False)
    zero, _, _ = generate(moves, 0., 0.)
    a, b = plain.take_messages(), zero.take_messages()
    assert len(a) and np.array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(moves=extrusions(), pa=st.floats(0., .2), smooth_time=st.floats(.005, .1))
def test_total_extrusion_is_preserved(moves, pa, smooth_time):
    sc, sk, total = generate(moves, pa, smooth_time)
    clocks, dirs = decode_steps(sc.take_messages())
    net = int(np.sum(np.where(dirs == 1, 1, -1)))
    assert net == sc.position == round(total / STEP)
    assert abs(sk.commanded_position - net * STEP) < 1e-9
    assert np.all(np.diff(clocks) > 0)


def test_scan_windows_are_half_the_smooth_time():
    sk = motion.extruder_stepper()
    sk.set_pressure_advance(.05, .04)
    assert sk.gen_steps_pre_active == sk.gen_steps_post_active == .02


def test_constant_velocity_is_unchanged_by_smoothing_without_advance():
    tq = motion.TrapQ()
    tq.append(1., 0., 2., 0., (3., 0., 0.), (1., 1., 0.), 4., 4., 0.)
    sk = motion.extruder_stepper()
    sk.set_trapq(tq)
    sk.set_pressure_advance(0., .04)
    for t in (1.1, 1.5, 2.9):
        assert abs(sk.position_at(t) - (3. + 4. * (t - 1.))) < 1e-10
    # with an advance the position leads by pa * v in steady state
    sk.set_pressure_advance(.05, .04)
    assert abs(sk.position_at(1.5) - (3. + 4. * .5 + .05 * 4.)) < 1e-10


def test_advance_changes_apply_to_moves_starting_after_their_time():
    tq = motion.TrapQ()
    # two identical eligible constant-velocity moves, the second from t=2
    tq.append(1., 0., 1., 0., (0., 0., 0.), (1., 1., 0.), 4., 4., 0.)
    tq.append(2., 0., 1., 0., (4., 0., 0.), (1., 1., 0.), 4., 4., 0.)
    sk = motion.extruder_stepper()
    sk.set_trapq(tq)
    sk.set_pressure_advance(.05, .04, print_time=0.)
    sk.set_pressure_advance(.10, .04, print_time=2.)
    # steady state inside each move leads by its own pa * v
    assert abs(sk.position_at(1.5) - (2. + .05 * 4.)) < 1e-10
    assert abs(sk.position_at(2.5) - (6. + .10 * 4.)) < 1e-10
