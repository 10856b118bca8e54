"""The step solver appends and commits steps through inlined fast paths
(stepcompress_append_inline / stepcompress_commit_inline in
chelper/src/stepcompress_internal.h) that must do exactly what the full
functions do. Two compressors get the same random operations, one
through the full functions and one through the fast paths: steps in
either direction, alone or in bursts (quick reversals inside the step+dir+step window too),
commits, flushes, far gaps, an inverted direction pin; their messages,
positions and solver directions must be equal after every operation."""
from hypothesis import given, settings, strategies as st

from klipsim.chelper import motion
from klipsim.chelper._chelper import lib

FREQ = 16e6

operation = st.one_of(
    st.tuples(st.just("step"), st.integers(0, 1),
              st.sampled_from([1e-7, 2e-5, 3e-4, 7e-4, 2e-3, .05, 60.])),
    st.tuples(st.just("burst"), st.integers(0, 1), st.integers(2, 60),
              st.floats(1e-5, 2e-3), st.floats(.98, 1.02)),
    st.tuples(st.just("commit")),
    st.tuples(st.just("flush"), st.floats(0., 1.)),
    st.tuples(st.just("invert")),
)


def state(sc):
    return (list(map(tuple, sc.take_messages().tolist())), sc.position,
            lib.stepcompress_step_dir(sc._sc), sc.last_step_clock)


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(operation, max_size=300), max_error=st.sampled_from([0, 25, 400]),
       move_time=st.floats(0., 5.))
def test_fast_paths_equal_the_full_functions(ops, max_error, move_time):
    full, fast = (motion.StepCompress(5, max_error) for _ in range(2))
    for sc in (full, fast):
        sc.set_time(.25, FREQ)
    t, invert = 0., False
    for op in ops:
        if op[0] in ("step", "burst"):
            # one step, or a burst of steps at a growing or shrinking interval
            n, dt, growth = (1, op[2], 1.) if op[0] == "step" else op[2:]
            rets = [0, 0]
            for _ in range(n):
                t += dt
                dt *= growth
                rets[0] |= lib.stepcompress_append(full._sc, op[1], move_time, t)
                rets[1] |= lib.stepcompress_append_fast(fast._sc, op[1], move_time, t)
        elif op[0] == "commit":
            rets = [lib.stepcompress_commit(full._sc),
                    lib.stepcompress_commit_fast(fast._sc)]
        elif op[0] == "flush":
            clock = int((.25 + move_time + t * op[1]) * FREQ)
            rets = [lib.stepcompress_flush(sc._sc, clock) for sc in (full, fast)]
        else:
            invert = not invert
            for sc in (full, fast):
                sc.set_invert_dir(invert)
            rets = [0, 0]
        assert rets[0] == rets[1]
        assert state(full) == state(fast)
    rets = [lib.stepcompress_flush(sc._sc, 2 ** 63) for sc in (full, fast)]
    assert rets[0] == rets[1] == 0
    assert state(full) == state(fast)
