"""The C scheduler core makes the reference model's decisions: random
thread sets (classes, nice values, RT priorities, affinities, autogroups
with group nice, GIL users and so interrupts, signals with posts,
broadcasts and timed waits, sleeps, blocks woken from kernel events,
bursts bounded by time, exits) on random machines (cores, throttling
mode, tick rate, context-switch cost, fast paths on or off) run once on
the Python reference (PyKernel + PyScheduler) and once on the C core
(Kernel + Scheduler), and must give the same trace bytes, program-step
log, per-thread and per-core metrics and GIL figures."""
import os
import sys

from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _sched_programs import CONFIG, THREAD, run  # noqa: E402
from klipsim.sim.hostcpu.pyscheduler import PyScheduler  # noqa: E402
from klipsim.sim.hostcpu.scheduler import SchedConfig, Scheduler  # noqa: E402
from klipsim.sim.kernel.events import NS_PER_MS, Kernel  # noqa: E402
from klipsim.sim.kernel.pyevents import PyKernel  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(CONFIG, st.lists(THREAD, min_size=1, max_size=7), st.booleans())
def test_c_core_matches_reference(config, threads, fast):
    reference = run(PyKernel, PyScheduler, config, threads, fast)
    port = run(Kernel, Scheduler, config, threads, fast)
    assert port[1] == reference[1]          # program steps, same times
    assert port[2:] == reference[2:]        # metrics, states, event counts
    assert port[0] == reference[0]          # every wake and dispatch


def test_comparison_sees_a_one_ns_difference():
    """The comparison is not vacuous: the same set with one thread's work
    1 us longer differs on both models alike."""
    config = {"cores": 2, "rt_throttle": "classic", "context_switch_ns": 0,
              "autogroup": True, "tick_hz": 250, "rr_slice_ns": 100 * NS_PER_MS,
              "group_nice": {}}
    spec = {"policy": "other", "nice": 0, "priority": 1, "cpus": None, "group": "a",
            "python": True, "work_us": [300, 1200], "gap_us": [700], "steps": 50}
    other = dict(spec, python=False, group="b", work_us=[2500])
    a = run(Kernel, Scheduler, config, [spec, other], True)
    b = run(Kernel, Scheduler, config, [spec, dict(other, work_us=[2501])], True)
    assert a[2] != b[2] and a[0] != b[0]
    assert run(PyKernel, PyScheduler, config, [spec, other], True) == a


def test_signal_time_out_from_outside():
    """Signal.time_out called by a model (not by the wait's own timer):
    the waiter leaves at once, timed out, on both models alike."""
    def scenario(kernel_cls, sched_cls):
        kernel = kernel_cls(trace=True)
        sched = sched_cls(kernel, SchedConfig(cores=1))
        sig = sched.signal("s")
        log = []

        def waiter():
            sched.current.wait(sig, woke, until=kernel.now + 50 * NS_PER_MS)

        def woke():
            t = sched.current
            log.append((kernel.now, t.timed_out, sig.count))
            t.exit()
        t = sched.spawn("w", waiter)
        kernel.schedule(3 * NS_PER_MS, lambda: sig.time_out(t))
        kernel.run(until=100 * NS_PER_MS)
        return log, kernel.trace_bytes(), kernel.events_run
    reference = scenario(PyKernel, PyScheduler)
    assert reference[0] == [(3 * NS_PER_MS, True, 0)]
    assert scenario(Kernel, Scheduler) == reference


def test_rr_thread_dispatched_with_an_exhausted_slice():
    """Two RR threads on one core, one whose slice ran out just before it
    blocked: rotated in on a tick boundary it gets a fresh slice (as
    Linux refills at the tick). Before, both models re-armed the core at
    the same instant for ever (found by the property test above)."""
    config = {"cores": 2, "context_switch_ns": 0, "rt_throttle": "classic",
              "rr_slice_ns": 2 * NS_PER_MS, "autogroup": False, "group_nice": {},
              "tick_hz": 100}
    rr = {"policy": "rr", "python": False, "priority": 3, "work_us": [3663], "steps": 4,
          "gap_us": [135, 195], "group": None, "nice": 18, "cpus": [1]}
    other = {"policy": "other", "python": False, "priority": 1, "group": None,
             "cpus": None}
    threads = [rr, dict(other, work_us=[1527], gap_us=[346, 4139, 483], nice=-9, steps=4),
               dict(other, work_us=[381, 2836], gap_us=[43], nice=-3, steps=18), dict(rr)]
    reference = run(PyKernel, PyScheduler, config, threads, True)
    assert run(Kernel, Scheduler, config, threads, True) == reference
