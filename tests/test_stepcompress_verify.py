"""The compressor's independent check of every run it emits
(sc_verify_run in chelper/src/stepcompress_run.c: each step of the
queue_step must land inside its window, early by at most max_error and
half the gap to the step before, never late) against a plain model of
the same rule, on random queued steps and random runs, accepted and
refused; and its error names the first step outside."""
from hypothesis import given, settings, strategies as st

from klipsim.chelper import motion
from klipsim.chelper._chelper import ffi, lib


def model_accepts(clocks, max_error, interval, count, add):
    """Does run (interval, count, add) put each of the first `count`
    queued steps (at `clocks`, after last_step_clock 0) in its window?"""
    if not (0 < count <= min(len(clocks), 65535) and 0 <= interval < 2 ** 31
            and -0x8000 <= add <= 0x7fff):
        return False
    at, prev = 0, 0
    for k, clock in enumerate(clocks[:count]):
        at += interval + add * k
        early = clock - min(max_error, (clock - prev) // 2)
        if not early <= at <= clock:
            return False
        prev = clock
    return True


@st.composite
def queued_steps(draw):
    """Increasing clocks (the compressor queues all but the last, which
    it holds back) and a run near or on them."""
    clocks, clock = [], 0
    interval = draw(st.integers(1, 5000))
    add = draw(st.integers(-20, 20))
    for _ in range(draw(st.integers(2, 80))):
        clock += max(1, interval + draw(st.integers(-3, 3)))
        interval = max(1, interval + add)
        clocks.append(clock)
    queued = clocks[:-1]
    count = draw(st.integers(1, len(queued)))
    # a run through the first step, with the add of the steps' own trend
    # or off by a little, so that both verdicts come up
    first = queued[0] - draw(st.integers(0, 3))
    run_add = add + draw(st.sampled_from([0, 0, 0, -1, 1, -5, 5]))
    return clocks, queued, (first, count, run_add)


@settings(max_examples=300, deadline=None)
@given(steps=queued_steps(), max_error=st.sampled_from([0, 2, 25, 400]))
def test_check_run_agrees_with_the_model(steps, max_error):
    clocks, queued, (interval, count, add) = steps
    sc = motion.StepCompress(3, max_error)
    for clock in clocks:
        sc.append_clock(1, clock)
    want = model_accepts(queued, max_error, interval, count, add)
    got = lib.stepcompress_check_run(sc._sc, interval, count, add)
    assert (got == 0) == want
    if not want and 0 < count <= len(queued) and 0 <= interval < 2 ** 31 \
            and -0x8000 <= add <= 0x7fff:
        message = ffi.string(lib.stepcompress_error(sc._sc)).decode()
        bad = next(k for k in range(count)
                   if not model_accepts(queued, max_error, interval, k + 1, add))
        assert "puts step %d at" % bad in message


def test_check_run_refuses_a_step_one_tick_late():
    sc = motion.StepCompress(3, 25)
    for clock in (1000, 2000, 3000, 4000):
        sc.append_clock(1, clock)
    assert lib.stepcompress_check_run(sc._sc, 1000, 3, 0) == 0
    assert lib.stepcompress_check_run(sc._sc, 1000, 3, 1) != 0
    message = ffi.string(lib.stepcompress_error(sc._sc)).decode()
    assert "puts step 1 at 2001 outside [1975, 2000]" in message
