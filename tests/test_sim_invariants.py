"""Scheduler invariants on random workloads (hypothesis): one thread per
core at a time, a thread on one core at a time, CPU time conserved, no
runnable thread left waiting beside an idle core it may use for longer
than one balance interval."""
import numpy as np
from hypothesis import given, settings, strategies as st

from klipsim.sim.hostcpu.gil import GIL
from klipsim.sim.kernel.events import Kernel, NS_PER_MS, NS_PER_US
from klipsim.sim.hostcpu.load import spawn_periodic
from klipsim.sim.hostcpu.scheduler import SchedConfig, Scheduler

SPAN = 200 * NS_PER_MS


def build(data, min_cores=1, min_threads=1):
    cores = data.draw(st.integers(min_cores, 4), label="cores")
    config = SchedConfig(
        cores=cores,
        tick_hz=data.draw(st.sampled_from([0, 250, 1000])),
        context_switch_ns=data.draw(st.sampled_from([0, 3000])),
        rt_throttle=data.draw(st.sampled_from(["classic", "fair_server", "none"])),
        autogroup=data.draw(st.booleans()))
    kernel = Kernel(np.random.default_rng(0), trace=True)
    sched = Scheduler(kernel, config)
    gil = GIL(sched, 5 * NS_PER_MS)
    for i in range(data.draw(st.integers(min_threads, 7), label="threads")):
        policy = data.draw(st.sampled_from(["other", "other", "fifo", "rr"]))
        kw = dict(policy=policy,
                  nice=data.draw(st.integers(-10, 10)) if policy == "other" else 0,
                  priority=data.draw(st.integers(1, 99)) if policy != "other" else 0,
                  cpus=sorted(data.draw(st.sets(st.integers(0, cores - 1), min_size=1))),
                  group=data.draw(st.sampled_from(["a", "b", None])))
        work = data.draw(st.integers(1, 3000)) * NS_PER_US
        period = work + data.draw(st.integers(0, 5000)) * NS_PER_US
        if data.draw(st.booleans(), label="python"):
            sched.spawn(f"py{i}", _python(sched, gil, work, period), **kw)
        else:
            spawn_periodic(sched, f"t{i}", work, period,
                           data.draw(st.integers(0, 2 * NS_PER_MS)), **kw)
    return kernel, sched


def _python(sched, gil, work, period):
    def run():
        gil.run(sched.current, work, done)

    def done():
        gil.release(sched.current)
        sched.current.sleep(period - work, run)
    return run


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_invariants(data):
    kernel, sched = build(data)
    kernel.run(until=SPAN)
    sched.flush()
    # CPU conserved: every core's busy time is thread work plus switches
    for core in sched.cores:
        assert core.busy_ns <= SPAN
    work = sum(t.cpu_ns for t in sched.threads)
    assert work + sum(c.overhead_ns for c in sched.cores) == sum(c.busy_ns for c in sched.cores)
    # one thread per core, one core per thread, at every instant
    on_core = {}
    where = {}
    for time, kind, name, core in kernel.trace:
        if kind != "run":
            continue
        old = on_core.get(core)
        if old is not None:
            del where[old]
        if name == "-":
            on_core[core] = None
            continue
        assert name not in where, f"{name} on cores {where[name]} and {core} at {time}"
        on_core[core] = name
        where[name] = core
    for t in sched.threads:
        assert all(type(x) is int and x >= 0 for x in t.runq_waits)


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_no_thread_waits_long_beside_an_idle_core(data):
    """Work conservation: a runnable thread never waits more than one
    balance interval while a core it may use sits idle."""
    kernel, sched = build(data, min_cores=2, min_threads=3)
    interval = sched.config.balance_interval_ns
    since = {}
    while kernel.peek() is not None and kernel.peek() < SPAN:
        kernel.step()
        now = kernel.now
        idle = {c.index for c in sched.cores
                if c.curr is None and c.switch_until <= now and c.load() == 0}
        for t in sched.threads:
            waiting = (t.state == "runnable" and sched.cores[t.core].curr is not t
                       and any(i in idle for i in t.cpus))
            if not waiting:
                since.pop(t.name, None)
                continue
            start = since.setdefault(t.name, now)
            assert now - start <= interval, (t.name, start, now)
