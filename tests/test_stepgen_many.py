"""chelper/src/stepgen.c (motion.StepperGroup: several steppers solved by
one C call per flush) against its reference model, the per-stepper loop
host/motion_queuing.py ran before (each StepperKinematics.generate_steps
in turn, stopping at the first error): on random moves and flush times
the compressors must hold the same messages, and a failing stepper must
be the same one with the same error."""
from hypothesis import given, settings, strategies as st

from klipsim.chelper import motion

CLOCK_FREQ = 180e6
MAX_ERROR = 4500                  # ticks (25 us at 180 MHz)


def make_rig(step_dists):
    """A corexy pair and z on one trapq, an extruder on its own, each with
    its compressor: (trapqs, kinematics, compressors)."""
    toolhead, filament = motion.TrapQ(), motion.TrapQ()
    kins = [motion.corexy_stepper("+"), motion.corexy_stepper("-"),
            motion.cartesian_stepper("z"), motion.extruder_stepper()]
    trapqs = [toolhead, toolhead, toolhead, filament]
    compressors = []
    for oid, (sk, tq, dist) in enumerate(zip(kins, trapqs, step_dists)):
        sc = motion.StepCompress(oid, MAX_ERROR)
        sc.set_time(0., CLOCK_FREQ)
        sk.set_stepcompress(sc, dist)
        sk.set_trapq(tq)
        compressors.append(sc)
    return (toolhead, filament), kins, compressors


def queue_moves(trapqs, moves):
    toolhead, filament = trapqs
    t = 0.25
    for accel_t, cruise_t, decel_t, axes, v, gap in moves:
        accel = v / max(accel_t, decel_t, 1e-3)
        toolhead.append(t, accel_t, cruise_t, decel_t, (0., 0., 0.), axes, 0., v, accel)
        filament.append(t, accel_t, cruise_t, decel_t, (0., 0., 0.), (1., 0., 0.),
                        0., .1 * v, .1 * accel)
        t += accel_t + cruise_t + decel_t + gap
    return t


def run_reference(kins, flush_time):
    """The old loop: None, or (index, error text) of the first failure."""
    for index, sk in enumerate(kins):
        try:
            sk.generate_steps(flush_time)
        except (motion.StepRateError, motion.MotionError) as e:
            return index, type(e), str(e)
    return None


def run_group(group, flush_time):
    failed = group.generate_steps(flush_time)
    if failed is None:
        return None
    index, ret = failed
    try:
        group.members[index].check_generated(ret)
    except (motion.StepRateError, motion.MotionError) as e:
        return index, type(e), str(e)
    raise AssertionError("check_generated(%r) raised nothing" % (ret,))


def messages(compressors):
    out = []
    for sc in compressors:
        sc.flush(1 << 62)
        out.append(sc.take_messages().tolist())
    return out


PHASE = st.sampled_from([0., 0.001, 0.013, 0.05, 0.2])
MOVE = st.tuples(PHASE, PHASE, PHASE,
                 st.sampled_from([(1., 0., 0.), (0., 1., 0.), (.6, -.8, 0.),
                                  (0., 0., 1.), (-.28, .96, 0.)]),
                 st.sampled_from([5., 40., 150.]), st.sampled_from([0., 0., 0.3]))
DIST = st.sampled_from([0.0125, 0.01, 0.0025, 1e-6])   # 1e-6: too many steps/s


@settings(max_examples=60, deadline=None)
@given(moves=st.lists(MOVE, min_size=1, max_size=8),
       dists=st.tuples(DIST, DIST, DIST, DIST),
       batch=st.sampled_from([0.05, 0.25, 1.0]))
def test_group_generates_what_the_loop_generates(moves, dists, batch):
    ref_tqs, ref_kins, ref_scs = make_rig(dists)
    tqs, kins, scs = make_rig(dists)
    end = queue_moves(ref_tqs, moves)
    queue_moves(tqs, moves)
    group = motion.StepperGroup(kins)
    t, ref_failed = 0., None
    while t < end + 1. and ref_failed is None:
        t += batch
        ref_failed = run_reference(ref_kins, t)
        assert run_group(group, t) == ref_failed
    if ref_failed is None:
        assert messages(scs) == messages(ref_scs)


def test_a_failure_names_the_failing_member_and_stops_there():
    # z (index 2) at 1e-6 mm per step moves 1e8 steps/s at 100 mm/s.
    tqs, kins, scs = make_rig((0.01, 0.01, 1e-6, 0.01))
    queue_moves(tqs, [(0.1, 0.1, 0.1, (0., 0., 1.), 100., 0.)])
    failed = motion.StepperGroup(kins).generate_steps(0.5)
    assert failed is not None and failed[0] == 2
    assert failed[1] == motion.STEP_RATE_ERROR
    assert messages(scs)[3] == []        # the extruder after it was not solved
