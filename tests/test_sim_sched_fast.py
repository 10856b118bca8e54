"""The scheduler's fast paths change nothing: random thread sets (classes,
nice values, affinities, autogroups, GIL users, signals, sleeps, bursts
bounded by time) run once with `Scheduler.fast_paths` off (the general
rules, the reference model) and once on, and must give the same trace
bytes, the same program-step log (time, thread, step) and the same
per-thread and per-core metrics."""
import os
import sys

import numpy as np
from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _sched_programs import CONFIG, THREAD  # noqa: E402
from _sched_programs import run as run_on  # noqa: E402
from klipsim.sim.kernel.events import Kernel, NS_PER_MS  # noqa: E402
from klipsim.sim.hostcpu.scheduler import SchedConfig, Scheduler  # noqa: E402


def run(config, threads, fast, seconds_ms=150, probe=None):
    return run_on(Kernel, Scheduler, config, threads, fast, seconds_ms, probe)


@settings(max_examples=40, deadline=None)
@given(CONFIG, st.lists(THREAD, min_size=1, max_size=6))
def test_fast_paths_change_nothing(config, threads):
    slow = run(config, threads, fast=False)
    fast = run(config, threads, fast=True)
    assert fast[1] == slow[1]          # program steps, same times
    assert fast[2:] == slow[2:]        # metrics
    assert fast[0] == slow[0]          # every wake and dispatch


def test_fast_paths_are_taken():
    """A lone periodic thread is the uncontended case: the comparison
    above is not vacuous (the fast path must really run there)."""
    config = {"cores": 1, "rt_throttle": "classic", "context_switch_ns": 0,
              "autogroup": True, "tick_hz": 250}
    threads = [{"policy": "other", "nice": 0, "priority": 1, "cpus": None,
                "group": "a", "python": False, "work_us": [100], "gap_us": [900]}]
    probe = []
    fast = run(config, threads, fast=True, seconds_ms=20, probe=probe)
    # the C core counts its uncontended wake-ups (fastpath.py _wake_idle)
    assert probe[0]._vs.fast_wakes >= 19    # one per 1 ms period after the first
    assert fast[1:] == run(config, threads, fast=False, seconds_ms=20)[1:]


def test_one_action_per_program_step():
    """compute and wait keep the rule of exactly one action per program
    step, inside the step (their check is written out for speed)."""
    import pytest
    from klipsim.sim.kernel.events import SimError

    kernel = Kernel(np.random.default_rng(0))
    sched = Scheduler(kernel, SchedConfig(cores=1))
    sig = sched.signal("s")

    def twice():
        t = sched.current
        t.compute(10, twice)
        t.wait(sig, twice)

    def sleeper():
        sched.current.sleep(NS_PER_MS, sleeper)
    quiet = sched.spawn("quiet", sleeper)
    with pytest.raises(SimError, match="action outside its program step"):
        quiet.compute(10, sleeper)
    with pytest.raises(SimError, match="two actions in one program step"):
        sched.spawn("twice", twice)
