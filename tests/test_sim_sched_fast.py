"""The scheduler's fast paths change nothing: random thread sets (classes,
nice values, affinities, autogroups, GIL users, signals, sleeps, bursts
bounded by time) run once with `Scheduler.fast_paths` off (the general
rules, the reference model) and once on, and must give the same trace
bytes, the same program-step log (time, thread, step) and the same
per-thread and per-core metrics."""
import numpy as np
from hypothesis import given, settings, strategies as st

from klipsim.sim.hostcpu.gil import GIL
from klipsim.sim.kernel.events import Kernel, NS_PER_MS, NS_PER_US
from klipsim.sim.hostcpu.scheduler import SchedConfig, Scheduler
from klipsim.sim.hostcpu.stats import thread_report

THREAD = st.fixed_dictionaries({
    "policy": st.sampled_from(["other", "other", "other", "fifo", "rr"]),
    "nice": st.integers(-10, 10),
    "priority": st.integers(1, 3),
    "cpus": st.sampled_from([None, [0], [1], [0, 1]]),
    "group": st.sampled_from([None, "a", "b"]),
    "python": st.booleans(),
    "work_us": st.lists(st.integers(1, 3000), min_size=1, max_size=4),
    "gap_us": st.lists(st.integers(0, 8000), min_size=1, max_size=4),
})
CONFIG = st.fixed_dictionaries({
    "cores": st.integers(1, 3),
    "rt_throttle": st.sampled_from(["classic", "fair_server", "none"]),
    "context_switch_ns": st.sampled_from([0, 10_000]),
    "autogroup": st.booleans(),
    "tick_hz": st.sampled_from([0, 250, 1000]),
})


def run(config, threads, fast, seconds_ms=150, probe=None):
    """Run the thread set; returns everything observable (`probe`, a
    list, receives the scheduler)."""
    kernel = Kernel(np.random.default_rng(3), trace=True)
    cfg = dict(config, rt_runtime_ns=30 * NS_PER_MS, rt_period_ns=40 * NS_PER_MS)
    cfg["cores"] = max(cfg["cores"], 2)
    sched = Scheduler(kernel, SchedConfig(**cfg))
    sched.fast_paths = fast
    if probe is not None:
        probe.append(sched)
    for core in sched.cores:
        core.fair.shortcut = fast
    gil = GIL(sched, 2 * NS_PER_MS)
    kick = sched.signal("kick")
    log = []

    def program(i, spec):
        step = [0]

        def start():
            t = sched.current
            k = step[0]
            step[0] += 1
            log.append((kernel.now, i, k, "start"))
            work = spec["work_us"][k % len(spec["work_us"])] * NS_PER_US
            if spec["python"]:
                gil.run(t, work, lambda: after(t, k))
            elif k % 3 == 2:
                t.compute(work, lambda: after(t, k), until=kernel.now + work // 2 + 1)
            else:
                t.compute(work, lambda: after(t, k))

        def after(t, k):
            log.append((kernel.now, i, k, "after"))
            if spec["python"]:
                gil.release(t)
            gap = spec["gap_us"][k % len(spec["gap_us"])] * NS_PER_US
            if k % 4 == 1:
                kick.post()
                t.sleep(gap, start)
            elif k % 4 == 3:
                t.wait(kick, start, until=kernel.now + gap)
            else:
                t.sleep(gap, start)
        return start

    for i, spec in enumerate(threads):
        prio = spec["priority"] if spec["policy"] != "other" else 0
        cpus = [c for c in spec["cpus"]] if spec["cpus"] else None
        sched.spawn(f"t{i}", program(i, spec), policy=spec["policy"],
                    nice=spec["nice"], priority=prio, cpus=cpus,
                    group=spec["group"], at=i * 137 * NS_PER_US)
    kernel.run(until=seconds_ms * NS_PER_MS)
    cores = [(c.busy_ns, c.overhead_ns) for c in sched.cores]
    return (kernel.trace_bytes(), log, thread_report(sched), cores,
            kernel.now, gil.drop_requests)


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
