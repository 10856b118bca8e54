"""GIL model: CPython's rules (KLIPPER-FACTS 5.3) on the virtual scheduler."""
import numpy as np
from hypothesis import given, settings, strategies as st

from klipsim.sim.hostcpu.gil import GIL
from klipsim.sim.kernel.events import Kernel, NS_PER_MS, NS_PER_S
from klipsim.sim.hostcpu.load import spawn_hog
from klipsim.sim.hostcpu.scheduler import SchedConfig, Scheduler

INTERVAL = 5 * NS_PER_MS


def make(cores=2, **kw):
    kernel = Kernel(np.random.default_rng(3))
    kw.setdefault("rt_throttle", "none")
    sched = Scheduler(kernel, SchedConfig(cores=cores, **kw))
    return kernel, sched, GIL(sched, INTERVAL, record=True)


def python_burst(sched, gil, ns, got=None):
    """Program: take the GIL, run ns of Python, release, exit."""
    def start():
        t = sched.current
        gil.acquire(t, lambda: (got.append(sched.kernel.now) if got is not None else None,
                                t.compute(ns, finish)))

    def finish():
        gil.release(sched.current)
        sched.current.exit()
    return start


def test_waiter_gets_gil_after_one_interval_when_holder_runs():
    kernel, sched, gil = make()
    sched.spawn("main", python_burst(sched, gil, 100 * NS_PER_MS), cpus=[0])
    got = []
    ask = 10 * NS_PER_MS
    waiter = sched.spawn("serialhdl", python_burst(sched, gil, NS_PER_MS, got),
                         cpus=[1], at=ask)
    kernel.run(until=NS_PER_S)
    assert got == [ask + INTERVAL]
    assert waiter.gil_waits == [INTERVAL]


def test_preempted_holder_keeps_the_gil():
    """Priority inversion: the holder must run to drop the GIL."""
    kernel, sched, gil = make()
    sched.spawn("main", python_burst(sched, gil, 100 * NS_PER_MS), cpus=[0])
    hog_end = 60 * NS_PER_MS
    sched.spawn("hog", lambda: sched.current.compute(55 * NS_PER_MS, sched.current.exit),
                policy="fifo", priority=50, cpus=[0], at=5 * NS_PER_MS)
    got = []
    sched.spawn("serialhdl", python_burst(sched, gil, NS_PER_MS, got),
                policy="fifo", priority=90, cpus=[1], at=10 * NS_PER_MS)
    kernel.run(until=NS_PER_S)
    # drop requested at 15 ms, but the holder only runs again at 60 ms
    assert got == [hog_end]
    assert gil.drop_requests == 1


def test_convoy_costs_one_interval_per_message():
    """An I/O thread that drops the GIL between messages pays one switch
    interval per message against a CPU-bound thread (bugs.python.org 7946):
    the CPU-bound thread, woken by the drop, takes the GIL while the I/O
    thread is in its C call."""
    PULL_NS = 5_000
    kernel, sched, gil = make()
    sched.spawn("main", python_burst(sched, gil, 10 * NS_PER_S), cpus=[0])
    messages = sched.signal("responses")
    handled = []

    def wait_message():
        # serialqueue_pull: a short C call without the GIL, then the wait
        t = sched.current
        t.compute(PULL_NS, lambda: t.wait(messages, lambda: gil.acquire(t, handle)))

    def handle():
        t = sched.current
        t.compute(20_000, done)

    def done():
        handled.append(sched.kernel.now)
        gil.release(sched.current)
        wait_message()

    sched.spawn("serialhdl", wait_message, cpus=[1])

    def post_all():
        for _ in range(10):
            messages.post()
    kernel.schedule(100 * NS_PER_MS, post_all)
    kernel.run(until=NS_PER_S)
    assert len(handled) == 10
    gaps = [b - a for a, b in zip(handled, handled[1:])]
    assert gaps == [INTERVAL + 20_000 + PULL_NS] * 9, gaps
    assert handled[0] == 100 * NS_PER_MS + INTERVAL + 20_000


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_gil_never_held_by_two_and_python_runs_only_with_it(data):
    cores = data.draw(st.integers(1, 3))
    kernel, sched, gil = make(cores=cores, rt_throttle="classic",
                              context_switch_ns=data.draw(st.sampled_from([0, 5000])))
    violations = []
    nthreads = data.draw(st.integers(2, 5))
    for i in range(nthreads):
        py_ns = data.draw(st.integers(1, 40)) * NS_PER_MS // 4
        io_ns = data.draw(st.integers(0, 20)) * NS_PER_MS // 4
        c_ns = data.draw(st.integers(0, 8)) * NS_PER_MS // 4
        policy = data.draw(st.sampled_from(["other", "fifo"]))
        prio = 0 if policy == "other" else data.draw(st.integers(1, 50))
        nice = data.draw(st.integers(-5, 5)) if policy == "other" else 0
        sched.spawn(f"py{i}", _looping_python(sched, gil, py_ns, io_ns, c_ns, violations),
                    policy=policy, priority=prio, nice=nice,
                    at=data.draw(st.integers(0, 3 * NS_PER_MS)))
    for i in range(data.draw(st.integers(0, 2))):
        spawn_hog(sched, f"hog{i}", nice=data.draw(st.integers(-5, 5)))
    kernel.run(until=400 * NS_PER_S // 1000)
    assert not violations
    holder = None
    for _, kind, name in gil.history:
        if kind == "take":
            assert holder is None
            holder = name
        else:
            assert holder == name
            holder = None
    assert sum(1 for h in gil.history if h[1] == "take") > nthreads


def _looping_python(sched, gil, py_ns, io_ns, c_ns, violations):
    """Python work, a C call without the GIL, blocking I/O, repeat; checks
    at every step that Python work only completes while holding the GIL."""
    def loop():
        t = sched.current
        gil.run(t, py_ns, after_python)

    def after_python():
        t = sched.current
        if gil.holder is not t:
            violations.append((sched.kernel.now, t.name))
        gil.c_call(t, c_ns, after_c)

    def after_c():
        t = sched.current
        if gil.holder is not t:
            violations.append((sched.kernel.now, t.name))
        gil.release(t)
        t.sleep(io_ns, loop)
    return loop
