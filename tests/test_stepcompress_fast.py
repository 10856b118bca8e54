"""The step solver appends and commits steps through a cursor
(chelper/src/stepcompress_cursor.h) that keeps the compressor's common
fields in locals over a solved range; it must do exactly what the full
functions do. Two compressors get the same random operations, one
through the full functions (stepcompress_append / stepcompress_commit)
and one through the cursor, each run of consecutive steps and commits
in one cursor session as the solver makes them: steps in either
direction, alone or in bursts (quick reversals inside the
step+dir+step window too), commits, flushes, far gaps, an inverted
direction pin; their messages, positions and solver directions must be
equal after every session."""
from hypothesis import given, settings, strategies as st

from klipsim.chelper import motion
from klipsim.chelper._chelper import ffi, lib

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


def session_ops(ops, t):
    """The (op, time) list of a run of step/burst/commit operations (op 0
    or 1: a step in that direction, 2: a commit) and the time after."""
    out = []
    for op in ops:
        if op[0] == "commit":
            out.append((2, 0.))
            continue
        # one step, or a burst of steps at a growing or shrinking interval
        n, dt, growth = (1, op[2], 1.) if op[0] == "step" else op[2:]
        for _ in range(n):
            t += dt
            dt *= growth
            out.append((op[1], t))
    return out, t


def run_full(sc, move_time, session):
    for op, t in session:
        ret = (lib.stepcompress_commit(sc._sc) if op == 2
               else lib.stepcompress_append(sc._sc, op, move_time, t))
        if ret:
            return ret
    return 0


def run_cursor(sc, move_time, session):
    ops = ffi.new("int[]", [op for op, _ in session] or [0])
    times = ffi.new("double[]", [t for _, t in session] or [0.])
    return lib.stepcompress_cursor_run(sc._sc, move_time, len(session), ops, times)


def sessions(ops):
    """Split the operations into cursor sessions and single others."""
    run = []
    for op in ops:
        if op[0] in ("step", "burst", "commit"):
            run.append(op)
            continue
        if run:
            yield "session", run
            run = []
        yield op[0], op
    if run:
        yield "session", run


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(operation, max_size=300), max_error=st.sampled_from([0, 25, 400]),
       move_time=st.floats(.25, 5.))
def test_cursor_equals_the_full_functions(ops, max_error, move_time):
    full, fast = (motion.StepCompress(5, max_error) for _ in range(2))
    for sc in (full, fast):
        sc.set_time(.25, FREQ)
    t, invert = 0., False
    for kind, op in sessions(ops):
        if kind == "session":
            session, t_end = session_ops(op, t)
            rets = [run_full(full, move_time, session),
                    run_cursor(fast, move_time, session)]
            t = t_end
        elif kind == "flush":
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
