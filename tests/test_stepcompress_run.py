"""The compressor's run search (chelper/src/stepcompress_run.c) against a
plain Python model of the same search.

The C walk of a trial is written for speed (one addition per bound and
step, divisions by reciprocal multiplication, two loops split at the
reciprocal table's end); the model below is the search as Klipper
documents it (KLIPPER-FACTS 2.6), with each step's interval bounds
divided out directly. Both must choose the same (interval, count, add)
for every run, so the compressor's messages are equal message for
message on random step sequences: accelerating, decelerating and
constant, short and longer than the reciprocal table (1023 steps), at
clock rates from 16 MHz-like to large intervals and max_error values
from 0 to 4500 ticks."""
from hypothesis import given, settings, strategies as st

from klipsim.chelper import motion

QUADRATIC_DEV = 11
LONG_RUN_COUNT = 0x200
MAX_RUN_COUNT = 65535


def ceil_div(n, d):
    return -(-n // d)


def step_windows(clocks, last, max_error):
    """(lo, hi) of each step relative to `last`: early by at most
    max_error and half the gap to the step before, never late."""
    out, prev = [], last
    for c in clocks:
        out.append((c - min(max_error, (c - prev) // 2) - last, c - last))
        prev = c
    return out


def longest_run(win, add, imin, imax):
    """(count, interval, reached_end, fail_imin, fail_imax) of trial add."""
    interval = imax
    for k in range(2, len(win) + 1):
        lo, hi = win[k - 1]
        tk = add * k * (k - 1) // 2
        imin = max(imin, ceil_div(lo - tk, k))
        imax = min(imax, (hi - tk) // k)
        if imin > imax:
            return k - 1, interval, False, imin, imax
        interval = imax
    return len(win), interval, True, None, None


def find_run(win, max_error):
    """(interval, count, add) the search chooses for windows `win`."""
    win = win[:MAX_RUN_COUNT]
    outer_min, outer_max = win[0]
    add, add_lo, add_hi = 0, -0x8000, 0x7fff
    best, best_reach, zero = (0, 1, 1), None, (0, 0)
    while True:
        count, interval, end, fmin, fmax = longest_run(win, add, outer_min, outer_max)
        if end:
            return interval, count, add
        reach = add * (count * (count - 1) // 2) + interval * count
        if best_reach is None or reach > best_reach or (
                reach == best_reach and interval > best[0]):
            best, best_reach = (interval, count, add), reach
            if add == 0:
                zero = (interval, count)
            if count > LONG_RUN_COUNT:
                break
        nk = count + 1
        nf = nk * (nk - 1) // 2
        next_lo, next_hi = win[count]
        if add * nf + interval * nk < next_lo:
            add_lo, outer_max = add + 1, fmax
        else:
            add_hi, outer_min = add - 1, fmin
        if count > 1:
            dev = (max_error * QUADRATIC_DEV) // (count * count)
            add_lo, add_hi = max(add_lo, add - dev), min(add_hi, add + dev)
        if add_lo * nf < next_lo - outer_max * nk:
            add_lo = ceil_div(next_lo - outer_max * nk, nf)
        if add_hi * nf > next_hi - outer_min * nk:
            add_hi = (next_hi - outer_min * nk) // nf
        if add_lo > add_hi:
            break
        add = add_hi - (add_hi - add_lo) // 4
    if zero[1] + zero[1] // 16 >= best[1]:
        return zero[0], zero[1], 0
    return best


def model_runs(clocks, max_error):
    """Every (interval, count, add) the compressor emits for steps at
    `clocks` (one direction, all queued, then flushed)."""
    runs, last, i = [], 0, 0
    while i < len(clocks):
        r = find_run(step_windows(clocks[i:], last, max_error), max_error)
        interval, count, add = r
        runs.append(r)
        last += add * (count * (count - 1) // 2) + interval * count
        i += count
    return runs


def c_runs(clocks, max_error):
    sc = motion.StepCompress(1, max_error)
    for c in clocks:
        sc.append_clock(1, c)
    sc.flush(2 ** 63)
    return [(int(m["p0"]), int(m["p1"]), int(m["p2"]))
            for m in sc.take_messages() if m["kind"] == motion.QUEUE_STEP]


@st.composite
def step_clocks(draw):
    """Increasing step clocks: segments of intervals growing, shrinking or
    constant by a random factor, with jitter, some longer than 1023. The
    whole stays within 7e8 ticks, so every step is queued before the
    flush (the compressor compresses early a step 3 << 28 ticks ahead)."""
    clock = start = draw(st.integers(1, 10 ** 6))
    clocks = []
    for _ in range(draw(st.integers(1, 4))):
        interval = draw(st.floats(2., 200000.))
        growth = draw(st.sampled_from([1., 1., .9, .99, .999, 1.001, 1.01, 1.1]))
        jitter = draw(st.sampled_from([0., .001, .02, .3]))
        n = draw(st.sampled_from([1, 2, 3, 10, 60, 300, 1100, 2500]))
        for _ in range(n):
            clock += max(1, int(interval * (1. + jitter * draw(st.floats(-1., 1.)))))
            interval = min(max(interval * growth, 2.), 3e6)
            if clock - start > 7e8:
                return clocks
            clocks.append(clock)
    return clocks


@settings(max_examples=120, deadline=None)
@given(clocks=step_clocks(), max_error=st.sampled_from([0, 3, 25, 400, 4500]))
def test_c_run_search_chooses_the_models_runs(clocks, max_error):
    assert c_runs(clocks, max_error) == model_runs(clocks, max_error)


def test_model_reproduces_a_known_klipper_run():
    # Constant 1000-tick steps with any max_error: one add=0 run.
    clocks = [1000 * (i + 1) for i in range(50)]
    assert model_runs(clocks, 25) == [(1000, 50, 0)]
    assert c_runs(clocks, 25) == [(1000, 50, 0)]


def test_runs_past_the_reciprocal_table_and_huge_adds():
    # Trials walking past the reciprocal table's end (k = 1023) that move
    # a bound there without failing: slightly accelerating or decelerating
    # steps with a wide window (these fail when either division of the
    # walk beyond the table is off by one).  Then a few steps of wildly
    # growing gaps: trials with large adds, whose numerators pass 32 bits.
    cases = [[int(5000.5 * (i + 1) + curv * i * i) for i in range(4000)]
             for curv in (.0003, -.0003)]
    cases.append([10, 10 + 20000, 10 + 20000 + 4000000, 10 + 20000 + 4000000 + 2 ** 29])
    # Exactly quadratic steps (add 3, then add -1): a trial with a
    # nonzero add walks past k = 1023 into the second loop, which must
    # start from the first loop's state at its last step.
    cases += [[interval * k + add * k * (k - 1) // 2 for k in range(1, 4001)]
              for interval, add in ((3000, 3), (8000, -1))]
    for clocks in cases:
        for max_error in (0, 25, 4500):
            assert c_runs(clocks, max_error) == model_runs(clocks, max_error)
