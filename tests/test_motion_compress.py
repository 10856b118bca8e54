"""Step compression: every compressed step is within its window (early by
at most max_error and by at most half the gap, never late), step counts
and directions are preserved, the step+dir+step filter cancels quick
reversals, messages carry Klipper's req/min clocks, and Klipper's own
compression of the first moves of cartesian_basic is reproduced."""
import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _motion_helpers import decode_steps, trapezoid_times  # noqa: E402
from klipsim.chelper import motion  # noqa: E402
from klipsim.golden.reference import case, find_file, open_text  # noqa: E402

FILTER_TICKS = 750e-6 * 16e6        # step+dir+step window at 16 MHz


@st.composite
def step_segments(draw):
    """Ideal step clocks as segments of accelerating, constant or
    decelerating intervals, each in one direction, separated by more than
    the step+dir+step window when the direction changes."""
    clock = draw(st.integers(0, 10 ** 7))
    clocks, dirs = [], []
    direction = draw(st.integers(0, 1))
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            direction ^= 1
            clock += int(FILTER_TICKS) + draw(st.integers(1, 100000))
        interval = draw(st.floats(30., 50000.))
        growth = draw(st.sampled_from([1., .97, .995, 1.005, 1.03]))
        for _ in range(draw(st.integers(1, 400))):
            clock += max(1, int(interval + draw(st.floats(-.5, .5)) * interval * .02))
            interval = min(max(interval * growth, 20.), 2e6)
            clocks.append(clock)
            dirs.append(direction)
    return clocks, dirs


def compress(clocks, dirs, max_error, flush_every, invert=False):
    sc = motion.StepCompress(3, max_error, invert_dir=invert)
    sc.set_time(0., 16e6)
    for i, (c, d) in enumerate(zip(clocks, dirs)):
        sc.append_clock(d, c)
        if flush_every and i % flush_every == 0:
            sc.flush(c)
    sc.flush(2 ** 63)
    return sc


@settings(max_examples=80, deadline=None)
@given(seq=step_segments(), max_error=st.sampled_from([0, 5, 400, 4500]),
       flush_every=st.sampled_from([0, 1, 7, 100]), invert=st.booleans())
def test_every_step_in_window_never_late(seq, max_error, flush_every, invert):
    ideal, dirs = np.array(seq[0]), np.array(seq[1])
    sc = compress(seq[0], seq[1], max_error, flush_every, invert)
    got, got_dirs = decode_steps(sc.take_messages(), invert)
    assert len(got) == len(ideal)
    assert np.array_equal(got_dirs, dirs)
    assert np.all(got <= ideal), "a step is late"
    prev = np.concatenate(([0], got[:-1]))
    slack = np.minimum(max_error, (ideal - prev) // 2)
    assert np.all(got >= ideal - slack), "a step is too early"
    assert sc.position == int(np.sum(np.where(dirs == 1, 1, -1)))
    assert sc.last_step_clock == got[-1]


@settings(max_examples=30, deadline=None)
@given(seq=step_segments())
def test_messages_carry_request_clocks(seq):
    sc = compress(seq[0], seq[1], 400, 0)
    last = 0
    for m in sc.take_messages():
        if m["kind"] == motion.QUEUE_STEP:
            assert m["req_clock"] == m["min_clock"] == last
            last += m["p0"] * m["p1"] + m["p2"] * m["p1"] * (m["p1"] - 1) // 2
            assert 1 <= m["p1"] <= 65535 and -32768 <= m["p2"] <= 32767
        else:
            assert m["kind"] == motion.SET_NEXT_STEP_DIR
            assert m["req_clock"] == last and m["min_clock"] == 0


def test_quick_reversal_cancels_both_steps():
    sc = compress([1000, 2000, 2000 + int(FILTER_TICKS) - 1, 50000],
                  [1, 1, 0, 0], 400, 0)
    got, dirs = decode_steps(sc.take_messages())
    assert list(dirs) == [1, 0] and got[0] <= 1000 and got[1] <= 50000
    assert sc.position == 0


def test_committed_step_survives_reversal():
    sc = motion.StepCompress(3, 400)
    sc.set_time(0., 16e6)
    sc.append_clock(1, 1000)
    sc.append_clock(1, 2000)
    sc.commit()
    sc.append_clock(0, 2100)
    sc.flush(2 ** 63)
    got, dirs = decode_steps(sc.take_messages())
    assert list(dirs) == [1, 1, 0]


def test_far_step_is_sent_alone_at_its_own_clock():
    far = 3 << 28
    sc = compress([100, 200, 200 + far + 5], [1, 1, 1], 400, 0)
    msgs = sc.take_messages()
    last = msgs[-1]
    assert (last["p0"], last["p1"], last["req_clock"]) == (far + 5, 1, 200 + far + 5)
    assert last["min_clock"] == 200


def test_time_going_backwards_names_the_oid():
    sc = motion.StepCompress(42, 400)
    sc.append_clock(1, 5000)
    sc.append_clock(1, 6000)
    with pytest.raises(motion.MotionError, match="oid=42"):
        sc.append_clock(1, 4000)
        sc.flush(2 ** 63)


def test_reset_step_clock_message():
    sc = compress([100, 200], [1, 1], 10, 0)
    sc.reset(0)
    sc.queue_reset_step_clock(0)
    sc.append_clock(1, 300)
    sc.flush(2 ** 63)
    kinds = list(sc.take_messages()["kind"])
    assert kinds == [1, 0, 2, 1, 0]


def klipper_lines(case_name, oid, count):
    path = find_file(case(case_name).folder, "klipper.txt")
    out = []
    with open_text(path) as f:
        for line in f:
            if " oid=%d " % oid in line and line.startswith(("queue_step", "set_next")):
                out.append(line.split(" ", 1)[1].strip())
                if len(out) == count:
                    break
    return out


def our_lines(msgs, oid):
    out = []
    for m in msgs:
        if m["kind"] == motion.QUEUE_STEP:
            out.append("oid=%d interval=%d count=%d add=%d" % (oid, m["p0"], m["p1"], m["p2"]))
        elif m["kind"] == motion.SET_NEXT_STEP_DIR:
            out.append("oid=%d dir=%d" % (oid, m["p0"]))
    return out


def test_first_move_of_cartesian_basic_matches_klipper_exactly():
    # G1 X120 from X100 at 100 mm/s, accel 3000, ending at the 5 mm/s
    # square-corner junction with the +Y move (16 MHz, 80 steps/mm).
    tq = motion.TrapQ()
    sk = motion.cartesian_stepper("x")
    sk.set_trapq(tq)
    sc = motion.StepCompress(2, 25e-6 * 16e6)
    sc.set_time(0., 16e6)
    sk.set_stepcompress(sc, 1 / 80)
    sk.set_position(100., 100., 10.)
    tq.append(.25, *trapezoid_times(20., 0., 100., 5., 3000.), (100., 100., 10.),
              (1., 0., 0.), 0., 100., 3000.)
    sk.generate_steps(1.)
    sc.flush(2 ** 63)
    ours = our_lines(sc.take_messages(), 2)
    assert ours == klipper_lines("cartesian_basic", 2, len(ours))
    assert len(ours) == 17


@settings(max_examples=30, deadline=None)
@given(seq=step_segments(), probes=st.lists(st.floats(0., 1.), min_size=1, max_size=10))
def test_past_position_counts_emitted_steps(seq, probes):
    sc = compress(seq[0], seq[1], 400, 0)
    got, dirs = decode_steps(sc.take_messages())
    signs = np.where(dirs == 1, 1, -1)
    for f in probes:
        clock = int(f * (got[-1] + 1000))
        want = int(np.sum(signs[got <= clock]))
        assert sc.find_past_position(clock) == want
    sc.expire_history(int(got[-1]) + 1)
    assert sc.find_past_position(int(got[-1]) + 5) == int(np.sum(signs))


@settings(max_examples=12, deadline=None)
@given(n_steps=st.integers(200, 12000), seed=st.integers(0, 2 ** 32 - 1))
def test_past_position_over_a_long_history(n_steps, seed):
    """Steps at irregular intervals with max_error 0 make about one run
    per step, flushed in chunks with the history expired after each: the
    history ring grows from 256 runs (also after its head has moved),
    keeps the newest 8192 and drops the oldest.  Every clock from the
    last expiry and the oldest kept run on reads the emitted position."""
    rng = np.random.default_rng(seed)
    dirs = (np.cumsum(rng.random(n_steps) < .02) % 2).astype(int)
    gaps = rng.integers(40, 4000, n_steps)
    # a reversal waits out the step+dir+step window (750 us = 12000 ticks)
    gaps[1:][dirs[1:] != dirs[:-1]] += 20000
    clocks = (np.cumsum(gaps) + 1000).tolist()
    sc = motion.StepCompress(3, 0)
    sc.set_time(0., 16e6)
    done, expired = 0, 0
    while done < n_steps:
        start, done = done, min(n_steps, done + int(rng.integers(50, 3000)))
        for i in range(start, done):
            sc.append_clock(int(dirs[i]), clocks[i])
        sc.flush(2 ** 63)
        # expire up to a step of the chunk's first half
        expired = clocks[int(rng.integers(start, start + (done - start) // 2 + 1))]
        sc.expire_history(expired)
    got, got_dirs = decode_steps(sc.take_messages())
    assert got.tolist() == clocks
    positions = np.cumsum(np.where(got_dirs == 1, 1, -1))
    # the newest 8192 runs hold at least the newest 8192 steps
    first = max(expired, clocks[max(0, n_steps - 8192)])
    probes = rng.integers(first, clocks[-1] + 100, 40).tolist()
    for clock in probes + [first, clocks[-1]]:
        want = int(positions[got <= clock][-1]) if (got <= clock).any() else 0
        assert sc.find_past_position(clock) == want


def test_set_last_position_renumbers_later_positions():
    sc = compress([1000, 2000, 3000], [1, 1, 1], 10, 0)
    sc.set_last_position(5000, 100)
    assert sc.position == 100
    sc.append_clock(0, 6000)
    sc.flush(2 ** 63)
    assert sc.find_past_position(2500) == 2        # before the marker
    assert sc.find_past_position(5500) == 100      # marker, no step yet
    assert sc.find_past_position(7000) == 99


def test_long_unflushed_runs_are_compressed_early():
    # more than 67535 queued steps without a flush: the oldest are
    # compressed while appending, and nothing is lost
    n = 70000
    clocks = list(range(1000, 1000 + 200 * n, 200))
    sc = motion.StepCompress(1, 10)
    sc.set_time(0., 16e6)
    for c in clocks:
        sc.append_clock(1, c)
    assert len(sc.take_messages()) > 0
    sc.flush(2 ** 63)
    assert sc.position == n and clocks[-1] - 10 <= sc.last_step_clock <= clocks[-1]


def test_step_after_a_long_idle_wraps_its_interval_but_keeps_position():
    # an idle longer than 2^32 ticks: the MCU adds 32-bit intervals, so the
    # interval is sent modulo 2^32; the host-side history stays exact
    far = (1 << 32) + 12345
    sc = compress([100, 200, 200 + far], [1, 1, 1], 10, 0)
    last = sc.take_messages()[-1]
    assert (last["p0"], last["p1"], last["req_clock"]) == (12345, 1, 200 + far)
    assert sc.find_past_position(200 + far - 1) == 2
    assert sc.find_past_position(200 + far) == 3


@settings(max_examples=40, deadline=None)
@given(seq=step_segments(), switch_at=st.floats(0., 1.), invert=st.booleans(),
       flush_before=st.booleans())
def test_invert_dir_flips_the_physical_direction_of_later_steps(
        seq, switch_at, invert, flush_before):
    # A negative SET_EXTRUDER_ROTATION_DISTANCE inverts the direction pin
    # mid-stream: every step keeps its time, steps after the switch move
    # the pin the other way, and a direction message is sent only when the
    # physical direction changes.
    clocks, dirs = seq
    cut = int(switch_at * len(clocks))
    sc = motion.StepCompress(3, 400, invert_dir=invert)
    for clock, sdir in zip(clocks[:cut], dirs[:cut]):
        sc.append_clock(sdir, clock)
    if flush_before:
        sc.flush(2 ** 63)
    sc.set_invert_dir(not invert)
    assert sc.invert_dir == (not invert)
    for clock, sdir in zip(clocks[cut:], dirs[cut:]):
        sc.append_clock(sdir, clock)
    sc.flush(2 ** 63)
    msgs = sc.take_messages()
    got_clocks, physical = decode_steps(msgs)
    assert len(got_clocks) == len(clocks)
    assert np.all(got_clocks <= np.array(clocks))
    assert np.all(got_clocks >= np.array(clocks) - 400)
    # physical pin = logical ^ invert at the time the step entered the
    # queue; the held-back (pending) step of an unflushed stream enters
    # it after the switch
    entered_before = cut if flush_before else max(cut - 1, 0)
    want = [d ^ invert for d in dirs[:entered_before]]
    want += [d ^ (not invert) for d in dirs[entered_before:]]
    assert list(physical) == want
    # no redundant direction messages
    sent = [int(m["p0"]) for m in msgs if m["kind"] == motion.SET_NEXT_STEP_DIR]
    assert all(a != b for a, b in zip(sent, sent[1:]))


def test_drip_segments_of_cartesian_homing_match_klipper_exactly():
    # Homing X (G28 X): a drip move from X300 towards -X at 50 mm/s, accel
    # 3000, stepped in 50 ms segments that each flush up to the generation
    # end.  The step just before each segment end may still be cancelled
    # by a reverse step, so it stays held back and goes out with the next
    # segment (Klipper: 118 steps, then 200 per segment, not 119).
    freq = 16e6
    tq = motion.TrapQ()
    sk = motion.cartesian_stepper("x")
    sk.set_trapq(tq)
    sc = motion.StepCompress(2, 25e-6 * freq)
    sc.set_time(0., freq)
    sk.set_stepcompress(sc, 1 / 80)
    sk.set_position(300., 0., 0.)
    start = .252
    tq.append(start, 1 / 60, 5.9833333333333325, 1 / 60, (300., 0., 0.),
              (-1., 0., 0.), 0., 50., 3000.)
    ours = []
    for segment in range(6):
        flush_time = start + .05 * segment
        sk.generate_steps(flush_time)
        sc.flush(int(flush_time * freq))
        ours += our_lines(sc.take_messages(), 2)
    assert ours == klipper_lines("cartesian_homing", 2, len(ours))
    assert [line.split()[2] for line in ours[-5:]] == ["count=118"] + ["count=200"] * 4
