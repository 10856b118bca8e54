"""Trapezoid queue: positions at random times equal the closed-form
trapezoid; gaps read as stationary; history and set_position."""
import math
import os
import sys

from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _motion_helpers import trapezoid_distance, trapezoid_times  # noqa: E402
from klipsim.chelper import motion  # noqa: E402

speeds = st.floats(1., 300.)


@st.composite
def trapezoids(draw):
    accel = draw(st.floats(100., 20000.))
    cruise_v = draw(speeds)
    start_v = draw(st.floats(0., 1.)) * cruise_v
    end_v = draw(st.floats(0., 1.)) * cruise_v
    min_d = ((cruise_v ** 2 - start_v ** 2) + (cruise_v ** 2 - end_v ** 2)) / (2 * accel)
    distance = min_d + draw(st.floats(.1, 50.))
    angle = draw(st.floats(0., 2 * math.pi))
    dz = draw(st.floats(-.5, .5))
    norm = math.sqrt(1 + dz * dz)
    axes_r = (math.cos(angle) / norm, math.sin(angle) / norm, dz / norm)
    start = tuple(draw(st.floats(-100., 100.)) for _ in range(3))
    return dict(distance=distance, start_v=start_v, cruise_v=cruise_v,
                end_v=end_v, accel=accel, axes_r=axes_r, start=start)


def expected_position(tr, times, t):
    d = trapezoid_distance(t, tr["start_v"], tr["cruise_v"], tr["accel"], *times)
    return [s + r * d for s, r in zip(tr["start"], tr["axes_r"])]


@settings(max_examples=60, deadline=None)
@given(tr=trapezoids(), print_time=st.floats(0., 100.),
       fractions=st.lists(st.floats(0., 1.), min_size=1, max_size=20))
def test_position_matches_closed_form(tr, print_time, fractions):
    times = trapezoid_times(tr["distance"], tr["start_v"], tr["cruise_v"],
                            tr["end_v"], tr["accel"])
    tq = motion.TrapQ()
    tq.append(print_time, *times, tr["start"], tr["axes_r"], tr["start_v"],
              tr["cruise_v"], tr["accel"])
    total = sum(times)
    for f in fractions:
        got = tq.position_at(print_time + f * total)
        want = expected_position(tr, times, f * total)
        assert max(abs(a - b) for a, b in zip(got, want)) < 1e-9 * (1 + tr["distance"])


@settings(max_examples=30, deadline=None)
@given(tr=trapezoids(), gap=st.floats(1e-3, 3.))
def test_gap_between_moves_is_stationary_and_history_keeps_positions(tr, gap):
    times = trapezoid_times(tr["distance"], tr["start_v"], tr["cruise_v"],
                            tr["end_v"], tr["accel"])
    total = sum(times)
    tq = motion.TrapQ()
    tq.append(1., *times, tr["start"], tr["axes_r"], tr["start_v"],
              tr["cruise_v"], tr["accel"])
    end = expected_position(tr, times, total)
    tq.append(1. + total + gap, 1., 0., 0., end, (1., 0., 0.), 0., 1., 1.)
    mid_gap = tq.position_at(1. + total + gap / 2)
    assert max(abs(a - b) for a, b in zip(mid_gap, end)) < 1e-9 * (1 + tr["distance"])
    # the gap is an explicit stationary segment for the solver
    moves = tq.extract_moves()
    assert any(m["start_v"] == 0. and m["half_accel"] == 0. and
               abs(m["print_time"] - (1. + total)) < 1e-12 for m in moves)
    # retire everything into history: positions remain
    tq.finalize_moves(1e9, 0.)
    got = tq.position_at(1. + total / 2)
    want = expected_position(tr, times, total / 2)
    assert max(abs(a - b) for a, b in zip(got, want)) < 1e-9 * (1 + tr["distance"])
    # clearing history forgets them
    tq.finalize_moves(1e9, 1e9)
    assert tq.position_at(1. + total / 2) is None


def test_set_position_starts_new_position_and_cuts_later_motion():
    tq = motion.TrapQ()
    tq.append(0., 1., 0., 0., (0., 0., 0.), (1., 0., 0.), 0., 10., 10.)
    tq.set_position(.5, (7., 8., 9.))
    assert tq.position_at(.75) == (7., 8., 9.)
    # before the new position, the old motion is still known
    assert abs(tq.position_at(.25)[0] - 5. * .25 ** 2) < 1e-12
    # the next move starts from a stationary lead-in at the new position
    tq.append(2., 0., 1., 0., (7., 8., 9.), (0., 1., 0.), 1., 1., 0.)
    assert tq.position_at(1.5) == (7., 8., 9.)
    assert abs(tq.position_at(2.5)[1] - 8.5) < 1e-12


def test_append_splits_into_three_segments_with_continuous_positions():
    tq = motion.TrapQ()
    tq.append(.25, .1, .2, .05, (1., 2., 3.), (0.6, 0.8, 0.), 2., 12., 100.)
    moves = [m for m in tq.extract_moves() if m["start_v"] or m["half_accel"]]
    assert [round(m["move_t"], 12) for m in moves] == [.1, .2, .05]
    assert [m["half_accel"] for m in moves] == [50., 0., -50.]
    for a, b in zip(moves, moves[1:]):
        t = a["move_t"]
        d = (a["start_v"] + a["half_accel"] * t) * t
        end = [s + r * d for s, r in zip(a["start_pos"], a["axes_r"])]
        assert max(abs(x - y) for x, y in zip(end, b["start_pos"])) < 1e-12
        assert abs(a["print_time"] + t - b["print_time"]) < 1e-12


def test_lead_in_after_set_position_reaches_back_but_history_wins_lookups():
    tq = motion.TrapQ()
    tq.append(0., 1., 0., 0., (0., 0., 0.), (1., 0., 0.), 0., 10., 10.)
    tq.set_position(1.5, (7., 8., 9.))
    tq.append(1.75, 0., 1., 0., (7., 8., 9.), (0., 1., 0.), 1., 1., 0.)
    # the stationary lead-in is a full second long (Klipper's null move)
    lead = [m for m in tq.extract_moves(start_time=.7, end_time=1.75)
            if m["move_t"] > 0 and not m["start_v"] and not m["half_accel"]]
    assert len(lead) == 1 and abs(lead[0]["print_time"] - .75) < 1e-12
    assert lead[0]["start_pos"] == (7., 8., 9.)
    # ...but positions before the set_position still come from history
    assert abs(tq.position_at(.8)[0] - 5. * .8 ** 2) < 1e-12
    assert tq.position_at(1.2) == (5., 0., 0.)
    assert tq.position_at(1.6) == (7., 8., 9.)
