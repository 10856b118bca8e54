"""Input shaping wrapper: coefficients sum to 1 with zero centroid, the
shaped position is the pulse-weighted sum of the true position (checked
against the closed form), a shaped move ends where the move ends with
the closed-form step count, scan windows are the pulse extent, and the
first shaped move of Klipper's shaper_basic is reproduced exactly."""
import math
import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _motion_helpers import decode_steps, trapezoid_distance, trapezoid_times  # noqa: E402
from klipsim.chelper import motion, shapers  # noqa: E402
from klipsim.golden.reference import case, find_file, open_text  # noqa: E402

names = st.sampled_from(sorted(shapers.SHAPERS))
freqs = st.floats(20., 120.)
dampings = st.floats(0., .2)


@settings(max_examples=60, deadline=None)
@given(name=names, freq=freqs, zeta=dampings)
def test_coefficients_sum_to_one_and_are_centred(name, freq, zeta):
    amps, times = shapers.get_shaper(name, freq, zeta)
    assert all(a >= 0 for a in amps) and times == sorted(times)
    sk = motion.input_shaper(motion.cartesian_stepper("x"))
    sk.set_shaper("x", amps, times)
    a, t = sk.pulses("x")
    assert abs(sum(a) - 1.) < 1e-12
    assert abs(sum(ai * ti for ai, ti in zip(a, t))) < 1e-12
    na, nt = shapers.normalized(amps, times)
    assert np.allclose(a, na, rtol=0, atol=1e-15) and np.allclose(t, nt, rtol=0, atol=1e-15)
    assert sk.gen_steps_pre_active == max(t) and sk.gen_steps_post_active == -min(t)


def test_unshaped_axes_and_bad_pulses():
    sk = motion.input_shaper(motion.cartesian_stepper("y"))
    sk.set_shaper("x", *shapers.get_shaper("ei", 40.))
    assert sk.pulses("x") == ([], []) and sk.gen_steps_pre_active == 0.
    with pytest.raises(motion.MotionError):
        sk.set_shaper("y", [1., -1.], [0., .01])
    with pytest.raises(KeyError):
        shapers.get_shaper("bogus", 40.)


@st.composite
def xy_moves(draw):
    """Rest-to-rest XY moves with short dwells."""
    pos, t, moves = [draw(st.floats(-10., 10.)), draw(st.floats(-10., 10.))], 1., []
    for _ in range(draw(st.integers(1, 3))):
        angle = draw(st.floats(0., 2 * math.pi))
        dist = draw(st.floats(.1, 20.))
        accel = draw(st.floats(1000., 8000.))
        v = min(draw(st.floats(10., 200.)), math.sqrt(dist * accel))
        times = trapezoid_times(dist, 0., v, 0., accel)
        moves.append((t, list(pos), (math.cos(angle), math.sin(angle)), dist, v, accel, times))
        pos = [pos[0] + math.cos(angle) * dist, pos[1] + math.sin(angle) * dist]
        t += sum(times) + draw(st.sampled_from([0., .002, .05]))
    return moves


def true_xy(moves, t):
    pos = moves[0][1]
    for start, spos, unit, dist, v, accel, times in moves:
        if t < start:
            break
        d = trapezoid_distance(t - start, 0., v, accel, *times)
        pos = [spos[0] + unit[0] * d, spos[1] + unit[1] * d]
    return pos


def shaped_setup(moves, kind, shaper_x, shaper_y):
    tq = motion.TrapQ()
    for start, spos, unit, dist, v, accel, times in moves:
        tq.append(start, *times, (spos[0], spos[1], 0.), (unit[0], unit[1], 0.), 0., v, accel)
    sk = motion.input_shaper(motion.corexy_stepper(kind))
    sk.set_shaper("x", *shaper_x)
    sk.set_shaper("y", *shaper_y)
    sk.set_trapq(tq)
    return tq, sk


@settings(max_examples=25, deadline=None)
@given(moves=xy_moves(), kind=st.sampled_from("+-"), nx=names, ny=names,
       fx=freqs, fy=freqs, fractions=st.lists(st.floats(-.05, 1.05), min_size=1, max_size=6))
def test_shaped_position_is_weighted_sum(moves, kind, nx, ny, fx, fy, fractions):
    sx, sy = shapers.get_shaper(nx, fx), shapers.get_shaper(ny, fy)
    tq, sk = shaped_setup(moves, kind, sx, sy)
    ax, tx = shapers.normalized(*sx)
    ay, ty = shapers.normalized(*sy)
    sign = 1 if kind == "+" else -1
    end = moves[-1][0] + sum(moves[-1][6])
    for f in fractions:
        t = 1. + f * (end - 1.)
        x = sum(a * true_xy(moves, t + o)[0] for a, o in zip(ax, tx))
        y = sum(a * true_xy(moves, t + o)[1] for a, o in zip(ay, ty))
        assert abs(sk.position_at(t) - (x + sign * y)) < 1e-9


@settings(max_examples=20, deadline=None)
@given(moves=xy_moves(), kind=st.sampled_from("+-"), nx=names, fx=freqs)
def test_shaped_move_ends_in_place_with_closed_form_steps(moves, kind, nx, fx):
    shaper = shapers.get_shaper(nx, fx)
    tq, sk = shaped_setup(moves, kind, shaper, shaper)
    freq, step = 180e6, .0125
    sc = motion.StepCompress(4, 25e-6 * freq)
    sc.set_time(0., freq)
    sk.set_stepcompress(sc, step)
    sk.set_position(moves[0][1][0], moves[0][1][1], 0.)
    start_cmd = sk.commanded_position
    end = moves[-1][0] + sum(moves[-1][6])
    final = true_xy(moves, end)
    sign = 1 if kind == "+" else -1
    target = final[0] + sign * final[1]
    after = end + sk.gen_steps_post_active + 1e-6
    assert abs(sk.position_at(after) - target) < 1e-9
    t = .9
    while t < end + .3:
        t += .2
        sk.generate_steps(t)
        sc.flush(int(t * freq))
    sc.flush(2 ** 63)
    clocks, dirs = decode_steps(sc.take_messages())
    net = int(np.sum(np.where(dirs == 1, 1, -1)))
    assert net == sc.position == round((target - start_cmd) / step)
    assert np.all(np.diff(clocks) > 0)


def test_first_shaped_move_of_shaper_basic_matches_klipper_exactly():
    # corexy, mzv 48 Hz on X, ei 39 Hz on Y; G1 X120 from X100 Y100 at
    # 100 mm/s, accel 4000, ending at the 5 mm/s corner (180 MHz, 80/mm).
    freq = 180e6
    tq = motion.TrapQ()
    sk = motion.input_shaper(motion.corexy_stepper("+"))
    sk.set_shaper("x", *shapers.get_shaper("mzv", 48.))
    sk.set_shaper("y", *shapers.get_shaper("ei", 39.))
    sk.set_trapq(tq)
    sc = motion.StepCompress(2, 25e-6 * freq)
    sc.set_time(0., freq)
    sk.set_stepcompress(sc, 40 / 3200)
    sk.set_position(100., 100., 10.)
    tq.append(.25, *trapezoid_times(20., 0., 100., 5., 4000.), (100., 100., 10.),
              (1., 0., 0.), 0., 100., 4000.)
    sk.generate_steps(.4)
    sc.flush(int(.4 * freq))
    msgs = sc.take_messages()
    ours = ["interval=%d count=%d add=%d" % (m["p0"], m["p1"], m["p2"])
            for m in msgs if m["kind"] == motion.QUEUE_STEP][:10]
    theirs = []
    with open_text(find_file(case("shaper_basic").folder, "klipper.txt")) as f:
        for line in f:
            if line.startswith("queue_step oid=2 "):
                theirs.append(line.split(" ", 2)[2].strip())
                if len(theirs) == 10:
                    break
    assert ours == theirs


def _shaped_corexy_stepper(tq, freq, step):
    sk = motion.input_shaper(motion.corexy_stepper("+"))
    sk.set_shaper("x", *shapers.get_shaper("ei", 62.4, .08))
    sk.set_shaper("y", *shapers.get_shaper("mzv", 44.8))
    sk.set_trapq(tq)
    sc = motion.StepCompress(2, 25e-6 * freq)
    sc.set_time(0., freq)
    sk.set_stepcompress(sc, step)
    return sk, sc


def _step_clocks(sk, sc, flush_time, freq, earlier=()):
    """Clocks of the steps generated up to flush_time (messages `earlier`
    taken from the same compressor before set the direction state)."""
    sk.generate_steps(flush_time)
    sc.flush(2 ** 63)
    msgs = sc.take_messages()
    return decode_steps(np.concatenate([*earlier, msgs]))[0], msgs


@settings(max_examples=10, deadline=None)
@given(delay=st.sampled_from([.0085, .02, .1, 2.]),
       dist=st.floats(-20., 20.).filter(lambda d: abs(d) > .5))
def test_first_move_after_set_position_gets_the_shaper_lead_in(delay, dist):
    # As after homing: a move, steps generated past its end, set_position
    # (a new coordinate frame), then a move starting `delay` after the
    # last flush (the host keeps delay >= kin_flush_delay >= pre_active).
    # Its steps must be those of the same move on a fresh queue: the
    # shaper's lead-in starts pre_active before the move.
    freq, step, accel = 180e6, 40 / 6400, 5000.
    v = min(60., math.sqrt(abs(dist) * accel))
    times = trapezoid_times(abs(dist), 0., v, 0., accel)
    unit = (1. if dist > 0 else -1., 0., 0.)
    tq = motion.TrapQ()
    sk, sc = _shaped_corexy_stepper(tq, freq, step)
    sk.set_position(0., 0., 5.)
    tq.append(1., *trapezoid_times(30., 0., v, 0., accel), (0., 0., 5.), (1., 0., 0.), 0., v, accel)
    first_end = 1. + sum(trapezoid_times(30., 0., v, 0., accel))
    last_flush = first_end + .02
    before, first_msgs = _step_clocks(sk, sc, last_flush, freq)
    tq.finalize_moves(last_flush, 0.)
    start = last_flush + delay
    tq.set_position(start, (235., 0., 5.))
    sk.set_position(235., 0., 5.)
    tq.append(start, *times, (235., 0., 5.), unit, 0., v, accel)
    got = _step_clocks(sk, sc, start + sum(times) + .1, freq, [first_msgs])[0][len(before):]

    fresh_tq = motion.TrapQ()
    fresh, fresh_sc = _shaped_corexy_stepper(fresh_tq, freq, step)
    fresh.set_position(235., 0., 5.)
    fresh_tq.append(start, *times, (235., 0., 5.), unit, 0., v, accel)
    want = _step_clocks(fresh, fresh_sc, start + sum(times) + .1, freq)[0]

    assert len(want) == round(abs(dist) / step)
    assert sk.gen_steps_pre_active < delay
    assert (start - sk.gen_steps_pre_active) * freq <= want[0] < start * freq
    assert np.array_equal(got, want)
