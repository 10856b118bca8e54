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
from klipsim.sim.hostcpu.scheduler import Scheduler  # noqa: E402
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
