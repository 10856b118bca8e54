"""Step solver: every step happens where the true stepper position
crosses the midpoint to the next step position, step times strictly
increase, and the net step count is the closed form.

Steps are taken through a compressor with max_error 0 on a 1 GHz clock, so
decoded step clocks are the solver's times rounded to 1 ns."""
import math
import os
import sys

import numpy as np
from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _motion_helpers import decode_steps, trapezoid_distance, trapezoid_times  # noqa: E402
from klipsim.chelper import motion  # noqa: E402

FREQ = 1e9


@st.composite
def paths(draw, dims):
    """Moves with dwells between them, or chained at a junction speed
    (corners included): list of (start_time, start_pos, unit vector,
    distance, cruise_v, accel, phase times, start_v)."""
    pos = [draw(st.floats(-20., 20.)) for _ in range(3)]
    pos[2] = abs(pos[2])
    t = draw(st.floats(.1, 1.))
    moves = []
    start_v = 0.
    count = draw(st.integers(1, 4))
    for i in range(count):
        vec = [draw(st.floats(-1., 1.)) if d < dims else 0. for d in range(3)]
        norm = math.sqrt(sum(v * v for v in vec))
        if norm < .1:
            vec, norm = [1., 0., 0.], 1.
        unit = [v / norm for v in vec]
        accel = draw(st.floats(500., 10000.))
        # long enough to stop from the entry speed
        distance = draw(st.floats(.05, 15.)) + start_v ** 2 / (2 * accel)
        chained = i + 1 < count and draw(st.booleans())
        end_v = min(draw(st.floats(0., 20.)),
                    math.sqrt(start_v ** 2 + 2 * accel * distance)) if chained else 0.
        # the highest speed reachable between both edge speeds
        top = math.sqrt((2 * distance * accel + start_v ** 2 + end_v ** 2) / 2)
        cruise_v = min(max(draw(st.floats(5., 250.)), start_v, end_v), top)
        times = trapezoid_times(distance, start_v, cruise_v, end_v, accel)
        moves.append((t, list(pos), unit, distance, cruise_v, accel, times, start_v))
        pos = [p + u * distance for p, u in zip(pos, unit)]
        t += sum(times)
        if not chained:
            t += draw(st.floats(.002, .3))
        start_v = end_v
    return moves


def toolhead_at(moves, t):
    """Toolhead (x, y, z) at print time t from the closed form."""
    pos = moves[0][1]
    for start, spos, unit, dist, cv, accel, times, sv in moves:
        if t < start:
            break
        d = trapezoid_distance(t - start, sv, cv, accel, *times)
        pos = [p + u * d for p, u in zip(spos, unit)]
    return pos


def run_solver(sk, moves, flush_fractions, step_dist, freq=FREQ):
    tq = motion.TrapQ()
    sk.set_trapq(tq)
    sc = motion.StepCompress(7, 0)
    sc.set_time(0., freq)
    sk.set_stepcompress(sc, step_dist)
    sk.set_position(*moves[0][1])
    start_cmd = sk.commanded_position
    for start, spos, unit, dist, cv, accel, times, sv in moves:
        tq.append(start, *times, spos, unit, sv, cv, accel)
    end_time = moves[-1][0] + sum(moves[-1][6]) + .01
    for f in sorted(flush_fractions) + [1.]:
        ft = f * end_time
        sk.generate_steps(ft)
        sc.flush(int(ft * freq))
        tq.finalize_moves(ft - .1, ft - 1.)
    sc.flush(2 ** 63)
    messages = sc.take_messages()
    clocks, dirs = decode_steps(messages)
    return start_cmd, clocks, dirs, sc, end_time, messages


def check_steps(position_at, moves, sk, start_cmd, clocks, dirs, sc, step_dist,
                end_time, tol):
    half = step_dist / 2
    assert np.all(np.diff(clocks) > 0), "step times must strictly increase"
    cmd = start_cmd
    for clock, d in zip(clocks, dirs):
        sign = 1 if d else -1
        midpoint = cmd + sign * half
        pos = position_at(toolhead_at(moves, clock / FREQ))
        assert abs(pos - midpoint) < tol, (clock, pos, midpoint)
        cmd += sign * step_dist
    net = int(np.sum(np.where(dirs == 1, 1, -1))) if len(dirs) else 0
    final = position_at(toolhead_at(moves, end_time))
    assert net == round((final - start_cmd) / step_dist)
    assert sc.position == net
    assert abs(sk.commanded_position - (start_cmd + net * step_dist)) < 1e-9


@settings(max_examples=25, deadline=None)
@given(moves=paths(dims=2), kind=st.sampled_from(["x", "y", "+", "-"]),
       step_dist=st.sampled_from([.0125, .00625, .1]),
       flush_fractions=st.lists(st.floats(0., 1.), max_size=6))
def test_cartesian_corexy_steps_at_midpoint_crossings(moves, kind, step_dist,
                                                      flush_fractions):
    if kind in "xy":
        sk = motion.cartesian_stepper(kind)
        axis = "xy".index(kind)
        position_at = lambda p: p[axis]  # noqa: E731
    else:
        sk = motion.corexy_stepper(kind)
        sign = 1 if kind == "+" else -1
        position_at = lambda p: p[0] + sign * p[1]  # noqa: E731
    result = run_solver(sk, moves, flush_fractions, step_dist)
    check_steps(position_at, moves, sk, *result[:4], step_dist, result[4],
                tol=1e-6)


@settings(max_examples=40, deadline=None)
@given(moves=paths(dims=3), kind=st.sampled_from(["x", "y", "z", "+", "-", "e"]),
       step_dist=st.sampled_from([.0125, .00625, .1, .0025]),
       flush_fractions=st.lists(st.floats(0., 1.), max_size=6),
       pressure_advance=st.sampled_from([0., .04]),
       smooth_time=st.sampled_from([0., 0., .04]))
def test_specialised_solvers_match_the_generic_solver(moves, kind, step_dist,
                                                      flush_fractions,
                                                      pressure_advance,
                                                      smooth_time):
    """The cartesian, corexy and extruder solvers with the position
    inlined (itersolve_solve.h; the extruder's unsmoothed position) give
    the generic solver's step times bit for bit: on a 2^52 Hz clock with
    max_error 0 a step's clock is its time's bits (every step is then its
    own message, requested at its full clock), and every message and the
    final commanded position are equal. The extruder follows x, with pressure advance on
    moves with a y component, with and without smoothing."""
    def make():
        if kind in "xyz":
            return motion.cartesian_stepper(kind)
        if kind == "e":
            sk = motion.extruder_stepper()
            sk.set_pressure_advance(pressure_advance, smooth_time)
            return sk
        return motion.corexy_stepper(kind)
    fast, generic = make(), make()
    generic.use_generic_solver()
    runs = [run_solver(sk, moves, flush_fractions, step_dist, freq=2. ** 52)
            for sk in (fast, generic)]
    (_, _, _, sc_a, _, msgs_a), (_, _, _, sc_b, _, msgs_b) = runs
    assert msgs_a.tolist() == msgs_b.tolist()
    assert fast.commanded_position == generic.commanded_position
    assert sc_a.position == sc_b.position


@settings(max_examples=15, deadline=None)
@given(moves=paths(dims=3), tower=st.integers(0, 2),
       flush_fractions=st.lists(st.floats(0., 1.), max_size=4))
def test_delta_steps_at_midpoint_crossings(moves, tower, flush_fractions):
    arm, radius = 333., 174.75
    angle = math.radians((210., 330., 90.)[tower])
    tx, ty = radius * math.cos(angle), radius * math.sin(angle)
    sk = motion.delta_stepper(arm * arm, tx, ty)

    def position_at(p):
        return p[2] + math.sqrt(arm * arm - (tx - p[0]) ** 2 - (ty - p[1]) ** 2)
    step_dist = .0125
    result = run_solver(sk, moves, flush_fractions, step_dist)
    check_steps(position_at, moves, sk, *result[:4], step_dist, result[4],
                tol=1e-5)


def test_check_active_reports_first_move_of_this_stepper():
    tq = motion.TrapQ()
    sk = motion.cartesian_stepper("y")
    sk.set_trapq(tq)
    tq.append(1., .1, 0., .1, (0., 0., 0.), (1., 0., 0.), 0., 1., 10.)
    tq.append(2., .1, 0., .1, (0.1, 0., 0.), (0., 1., 0.), 0., 1., 10.)
    assert sk.check_active(1.5) == 0.
    assert sk.check_active(3.) == 2.
    assert motion.cartesian_stepper("z").check_active(3.) == 0.


@settings(max_examples=15, deadline=None)
@given(x=st.floats(-60., -5.), y0=st.floats(5., 40.), y1=st.floats(-40., -5.))
def test_polar_bed_steps_through_the_pi_seam(x, y0, y1):
    # a straight move left of the origin sweeps the bed angle across +-pi
    step = 2 * math.pi / (200 * 16 * 5)
    moves = [(.5, [x, y0, 0.], [0., -1., 0.], y0 - y1,
              min(50., math.sqrt((y0 - y1) * 1000.)), 1000.,
              trapezoid_times(y0 - y1, 0., min(50., math.sqrt((y0 - y1) * 1000.)), 0., 1000.),
              0.)]
    sk = motion.polar_stepper("a")
    start_cmd, clocks, dirs, sc, end_time = run_solver(sk, moves, [.3, .6], step)[:5]
    net = int(np.sum(np.where(dirs == 1, 1, -1)))
    sweep = math.atan2(y1, x) - math.atan2(y0, x)      # through pi: wrap
    sweep = (sweep + math.pi) % (2 * math.pi) - math.pi
    assert abs(net * step - sweep) <= step
    assert np.all(dirs == (1 if sweep > 0 else 0))
    assert -math.pi <= sk.commanded_position <= math.pi
