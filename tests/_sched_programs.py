"""Random thread sets for the scheduler tests (test_vsched_port.py: the
C core against the Python reference; test_sim_sched_fast.py: fast paths
off against on): hypothesis strategies for threads and machines, and
`run()`, which runs a set on a given kernel and scheduler class and
returns everything observable."""
import numpy as np
from hypothesis import strategies as st

from klipsim.sim.hostcpu.gil import GIL
from klipsim.sim.hostcpu.scheduler import SchedConfig
from klipsim.sim.hostcpu.stats import thread_report
from klipsim.sim.kernel.events import NS_PER_MS, NS_PER_US

MAX_EVENTS = 200_000          # far above what a run needs (a few thousand)

THREAD = st.fixed_dictionaries({
    "policy": st.sampled_from(["other", "other", "other", "fifo", "rr"]),
    "nice": st.integers(-20, 19),
    "priority": st.integers(1, 4),
    "cpus": st.sampled_from([None, [0], [1], [0, 1], [1, 2], [2]]),
    "group": st.sampled_from([None, "a", "b", "c"]),
    "python": st.booleans(),
    "work_us": st.lists(st.integers(0, 5000), min_size=1, max_size=4),
    "gap_us": st.lists(st.integers(0, 9000), min_size=1, max_size=4),
    "steps": st.integers(3, 60),
})
CONFIG = st.fixed_dictionaries({
    "cores": st.integers(1, 3),
    "rt_throttle": st.sampled_from(["classic", "fair_server", "none"]),
    "context_switch_ns": st.sampled_from([0, 10_000, 250_000]),
    "autogroup": st.booleans(),
    "tick_hz": st.sampled_from([0, 100, 250, 1000]),
    "rr_slice_ns": st.sampled_from([2 * NS_PER_MS, 100 * NS_PER_MS]),
    "group_nice": st.sampled_from([{}, {"a": 5}, {"b": -3, "c": 10}]),
})


def run(kernel_cls, sched_cls, config, threads, fast, seconds_ms=200, probe=None):
    """Run the thread set; returns everything observable (`probe`, a
    list, receives the scheduler)."""
    kernel = kernel_cls(np.random.default_rng(3), trace=True)
    cfg = dict(config, rt_runtime_ns=30 * NS_PER_MS, rt_period_ns=40 * NS_PER_MS)
    cfg["cores"] = max(cfg["cores"], 1 + max(max(s["cpus"] or [0]) for s in threads))
    sched = sched_cls(kernel, SchedConfig(**cfg))
    sched.fast_paths = fast
    if probe is not None:
        probe.append(sched)
    for core in sched.cores:
        core.fair.shortcut = fast
    gil = GIL(sched, 2 * NS_PER_MS)
    kick = sched.signal("kick")
    log = []
    spawned = []

    def program(i, spec):
        step = [0]

        def start():
            t = sched.current
            k = step[0]
            step[0] += 1
            log.append((kernel.now, i, k, "start"))
            if k >= spec.get("steps", k + 1):
                t.exit()
                return
            work = spec["work_us"][k % len(spec["work_us"])] * NS_PER_US
            if spec["python"]:
                gil.run(t, work, lambda: after(t, k))
            elif k % 3 == 2:
                t.compute(work, lambda: after(t, k), until=kernel.now + work // 2 + 1)
            else:
                t.compute(work, lambda: after(t, k))

        def after(t, k):
            log.append((kernel.now, i, k, "after", t.timed_out))
            if spec["python"]:
                gil.release(t)
            gap = spec["gap_us"][k % len(spec["gap_us"])] * NS_PER_US
            mode = k % 6
            if mode == 1:
                kick.post()
                t.sleep(gap, start)
            elif mode == 3:
                t.wait(kick, start, until=kernel.now + gap)
            elif mode == 4:
                t.wait(kick, start)
                kernel.after(gap + 1, kick.wake_all)
            elif mode == 5:
                t.block(start)
                kernel.after(gap, lambda: sched.wake(t))
            elif mode == 2 and k % 12 == 8:      # (every other mode-2 step)
                n = 1 + k % 5
                for j in range(n):               # posts (any kick waiter may take them)
                    kernel.after(gap * j // n + 1, kick.post)
                t.wait_posts(kick, n, start)
            else:
                t.sleep(gap, start)
        return start

    for i, spec in enumerate(threads):
        prio = spec["priority"] if spec["policy"] != "other" else 0
        spawned.append(sched.spawn(f"t{i}", program(i, spec), policy=spec["policy"],
                                   nice=spec["nice"], priority=prio, cpus=spec["cpus"],
                                   group=spec["group"], at=i * 137 * NS_PER_US))
    end = seconds_ms * NS_PER_MS
    budget = MAX_EVENTS       # event by event: a livelocked model fails
    while (at := kernel.peek()) is not None and at < end:
        kernel.step()
        budget -= 1
        assert budget, f"livelock: {MAX_EVENTS} events before {end} ns"
    kernel.run(until=end)
    cores = [(c.busy_ns, c.overhead_ns, c.switch_until) for c in sched.cores]
    states = [(t.state, t.core, t.remaining, t.runnable_since, t.woke_at,
               t.runq_waits, t.wake_latencies, t.runq_wait_by_s) for t in spawned]
    return (kernel.trace_bytes(), log, thread_report(sched), cores, states,
            kernel.now, kernel.events_run, gil.drop_requests, gil.switch_number)


