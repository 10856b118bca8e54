"""Virtual CPU scheduler: expected values come from the Linux rules in
KLIPPER-FACTS 5.1/5.2/8 (weight table, RT limits, RR slice), not from runs."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from klipsim.sim.hostcpu.gil import GIL
from klipsim.sim.kernel.events import Kernel, NS_PER_MS, NS_PER_S
from klipsim.sim.hostcpu.load import spawn_hog, spawn_periodic
from klipsim.sim.hostcpu.scheduler import SchedConfig, Scheduler
from klipsim.sim.hostcpu.eevdf import nice_weight
from klipsim.sim.hostcpu.stats import thread_report


def make(cores=1, trace=False, **kw):
    kernel = Kernel(np.random.default_rng(1), trace=trace)
    kw.setdefault("rt_throttle", "none")
    return kernel, Scheduler(kernel, SchedConfig(cores=cores, **kw))


def runs(kernel):
    """(time, thread, core) of every dispatch in the trace."""
    return [(t, a, b) for t, kind, a, b in kernel.trace if kind == "run"]


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(-10, 10), min_size=2, max_size=4))
def test_cpu_shares_follow_nice_weights(nices):
    kernel, sched = make(cores=1)
    hogs = [spawn_hog(sched, f"h{i}", nice=n, cpus=[0]) for i, n in enumerate(nices)]
    span = 10 * NS_PER_S
    kernel.run(until=span)
    sched.flush()
    total = sum(nice_weight(n) for n in nices)
    for hog, nice in zip(hogs, nices):
        expected = nice_weight(nice) / total
        assert abs(hog.cpu_ns / span - expected) < 0.02, (nices, hog.name)


def test_fifo_never_preempted_by_other():
    kernel, sched = make(cores=1, trace=True, rt_throttle="classic")
    for i in range(3):
        spawn_hog(sched, f"hog{i}", nice=-20, cpus=[0])
    done = []

    def work():
        sched.current.compute(3 * NS_PER_MS, finished)

    def finished():
        done.append(kernel.now)
        sched.current.sleep(7 * NS_PER_MS, work)

    fifo = sched.spawn("fifo", work, policy="fifo", priority=1, cpus=[0])
    kernel.run(until=2 * NS_PER_S)
    # every 3 ms burst ends exactly 3 ms after its wake-up: never interrupted
    assert len(done) == 200
    assert all(b - a == 10 * NS_PER_MS for a, b in zip(done, done[1:]))
    assert set(fifo.wake_latencies) == {0}
    # and no SCHED_OTHER dispatch happens while the FIFO thread is mid-burst
    for t, name, _ in runs(kernel):
        if name.startswith("hog") and t > 0:
            assert (t % (10 * NS_PER_MS)) >= 3 * NS_PER_MS


@pytest.mark.parametrize("tick_hz", [0, 250])
def test_classic_rt_throttling_leaves_five_percent(tick_hz):
    kernel, sched = make(cores=1, trace=True, rt_throttle="classic", tick_hz=tick_hz)
    spawn_hog(sched, "fifo", policy="fifo", priority=50, cpus=[0])
    other = spawn_hog(sched, "other", cpus=[0])
    kernel.run(until=10 * NS_PER_S)
    sched.flush()
    # 1 - rt_runtime / rt_period = 1 - 950/1000; with ticks the overrun is
    # only noticed at the next tick (952 ms = 238 ticks of 4 ms)
    limit = 950 * NS_PER_MS if not tick_hz else 952 * NS_PER_MS
    assert other.cpu_ns == 10 * (NS_PER_S - limit)
    # the normal thread only runs at the end of each 1 s window
    for t, name, _ in runs(kernel):
        if name == "other":
            assert t % NS_PER_S == limit


def test_fair_server_starves_950ms_then_50ms_per_period():
    kernel, sched = make(cores=1, trace=True, rt_throttle="fair_server", tick_hz=0)
    spawn_hog(sched, "fifo", policy="fifo", priority=50, cpus=[0])
    start = 200 * NS_PER_MS
    other = sched.spawn("other", lambda: sched.current.compute(10 * NS_PER_S, None),
                        cpus=[0], at=start)
    kernel.run(until=start + 3 * NS_PER_S)
    sched.flush()
    dispatches = [t for t, name, _ in runs(kernel) if name == "other"]
    # starved from its wake-up for period - runtime, then every period
    assert dispatches == [start + 950 * NS_PER_MS + k * NS_PER_S for k in range(3)]
    assert other.cpu_ns == 3 * 50 * NS_PER_MS
    assert other.wake_latencies == [950 * NS_PER_MS]


def test_fair_server_short_fifo_spike_starves_fully():
    """A FIFO spike shorter than 950 ms starves a normal thread for all of it."""
    kernel, sched = make(cores=1, rt_throttle="fair_server", tick_hz=0)
    spawn_periodic(sched, "main", NS_PER_MS // 10, 10 * NS_PER_MS, cpus=[0])
    spike_at, spike_len = 105 * NS_PER_MS, 300 * NS_PER_MS
    sched.spawn("spike", lambda: sched.current.compute(
        spike_len, sched.current.exit), policy="fifo", priority=50, cpus=[0], at=spike_at)
    kernel.run(until=NS_PER_S)
    main = sched.threads[0]
    assert max(main.wake_latencies) == spike_len - 5 * NS_PER_MS


def test_rr_rotates_equal_priorities_every_slice():
    kernel, sched = make(cores=1, trace=True)
    a = spawn_hog(sched, "a", policy="rr", priority=10, cpus=[0])
    b = spawn_hog(sched, "b", policy="rr", priority=10, cpus=[0])
    low = spawn_hog(sched, "low", policy="rr", priority=5, cpus=[0])
    kernel.run(until=NS_PER_S)
    sched.flush()
    switches = runs(kernel)
    names = [name for _, name, _ in switches]
    assert names[:6] == ["a", "b", "a", "b", "a", "b"]
    times = [t for t, _, _ in switches]
    assert all(t2 - t1 == 100 * NS_PER_MS for t1, t2 in zip(times[1:], times[2:]))
    assert low.cpu_ns == 0
    assert a.cpu_ns == b.cpu_ns == NS_PER_S // 2


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_affinity_respected(data):
    cores = data.draw(st.integers(2, 4))
    kernel, sched = make(cores=cores, trace=True, rt_throttle="classic")
    allowed = {}
    for i in range(data.draw(st.integers(2, 7))):
        cpus = data.draw(st.sets(st.integers(0, cores - 1), min_size=1))
        policy = data.draw(st.sampled_from(["other", "fifo", "rr"]))
        prio = 0 if policy == "other" else data.draw(st.integers(1, 99))
        work = data.draw(st.integers(1, 20)) * NS_PER_MS // 10
        period = work + data.draw(st.integers(0, 30)) * NS_PER_MS // 10
        spawn_periodic(sched, f"t{i}", work, period, data.draw(st.integers(0, 5000)),
                       policy=policy, priority=prio, cpus=sorted(cpus))
        allowed[f"t{i}"] = cpus
    kernel.run(until=300 * NS_PER_MS)
    seen = 0
    for _, name, core in runs(kernel):
        if name != "-":
            assert core in allowed[name]
            seen += 1
    assert seen > 0


def test_threads_spread_over_idle_cores():
    kernel, sched = make(cores=2)
    hogs = [spawn_hog(sched, f"h{i}") for i in range(2)]
    kernel.run(until=NS_PER_S)
    sched.flush()
    assert [h.cpu_ns for h in hogs] == [NS_PER_S, NS_PER_S]


def test_normal_thread_leaves_core_taken_by_fifo():
    """Balancing moves a starved SCHED_OTHER thread off a core running RT."""
    kernel, sched = make(cores=2, rt_throttle="classic")
    main = spawn_hog(sched, "main")
    sched.spawn("fifo", lambda: sched.current.compute(NS_PER_S, None),
                policy="fifo", priority=50, at=10 * NS_PER_MS,
                cpus=[main.core])
    spawn_hog(sched, "other", at=5 * NS_PER_MS)
    kernel.run(until=510 * NS_PER_MS)
    sched.flush()
    # main shares the free core with "other" instead of starving
    assert main.cpu_ns > 200 * NS_PER_MS


def test_autogroup_shares_by_group_first():
    kernel, sched = make(cores=1, autogroup=True)
    alone = spawn_hog(sched, "alone", group="a", cpus=[0])
    crowd = [spawn_hog(sched, f"c{i}", group="b", cpus=[0]) for i in range(3)]
    kernel.run(until=6 * NS_PER_S)
    sched.flush()
    # two equal groups: half the CPU each, the crowd splits its half
    assert alone.cpu_ns == pytest.approx(3 * NS_PER_S, rel=0.02)
    for c in crowd:
        assert c.cpu_ns == pytest.approx(NS_PER_S, rel=0.03)


@pytest.mark.parametrize("hogs", [1, 2])
def test_waker_gets_cpu_within_protected_slices(hogs):
    """EEVDF with RUN_TO_PARITY: a woken thread waits at most for the
    protected slices of the threads ahead of it (slice expiry is noticed at
    the next 4 ms tick), and a light thread gets all the CPU it asks for."""
    kernel, sched = make(cores=1, tick_hz=250)
    for i in range(hogs):
        spawn_hog(sched, f"hog{i}", cpus=[0])
    waker = spawn_periodic(sched, "waker", 50_000, NS_PER_MS, 500_000,
                           catch_up=True, cpus=[0])
    kernel.run(until=NS_PER_S)
    sched.flush()
    assert waker.cpu_ns >= 50 * NS_PER_MS - 2 * 50_000
    tick = 4 * NS_PER_MS
    assert max(waker.wake_latencies) <= hogs * tick
    # its positive lag makes the running hog ineligible: mostly no wait
    assert sorted(waker.wake_latencies)[len(waker.wake_latencies) // 2] == 0


def test_context_switch_cost_is_overhead():
    kernel, sched = make(cores=1, context_switch_ns=10_000)
    a = spawn_hog(sched, "a", cpus=[0])
    b = spawn_hog(sched, "b", cpus=[0])
    kernel.run(until=NS_PER_S)
    sched.flush()
    core = sched.cores[0]
    assert a.cpu_ns + b.cpu_ns + core.overhead_ns == NS_PER_S
    assert core.overhead_ns == 10_000 * (a.switches + b.switches - 1) or \
        core.overhead_ns == 10_000 * (a.switches + b.switches)


def scenario_trace(seed):
    kernel = Kernel(np.random.default_rng(seed), trace=True)
    sched = Scheduler(kernel, SchedConfig(cores=2, rt_throttle="fair_server",
                                          context_switch_ns=3000, autogroup=True))
    gil = GIL(sched)
    rng = kernel.rng
    for i in range(5):
        spawn_periodic(sched, f"p{i}", int(rng.integers(50_000, 3 * NS_PER_MS)),
                       int(rng.integers(3, 20)) * NS_PER_MS,
                       int(rng.integers(0, NS_PER_MS)), nice=int(rng.integers(-5, 6)),
                       group=f"g{i % 3}")

    def python():
        gil.run(sched.current, int(rng.integers(10_000, 2 * NS_PER_MS)), release)

    def release():
        gil.release(sched.current)
        sched.current.sleep(int(rng.integers(0, 5 * NS_PER_MS)), python)
    for i in range(2):
        sched.spawn(f"py{i}", python, group="g0")
    spawn_hog(sched, "hog", group="g1")
    spawn_hog(sched, "fifo", policy="fifo", priority=9, at=NS_PER_S)
    kernel.run(until=3 * NS_PER_S)
    return kernel.trace_bytes(), thread_report(sched)


def test_deterministic_trace_bytes():
    first, report1 = scenario_trace(7)
    second, report2 = scenario_trace(7)
    assert first == second and report1 == report2
    assert scenario_trace(8)[0] != first


def test_time_and_metrics_are_integers():
    kernel, sched = make(cores=2, trace=True, rt_throttle="classic")
    spawn_periodic(sched, "p", 333_333, 1_234_567)
    spawn_hog(sched, "h", policy="rr", priority=3)
    kernel.run(until=NS_PER_S)
    assert type(kernel.now) is int
    assert all(type(t) is int for t, *_ in kernel.trace)
    for values in thread_report(sched).values():
        assert type(values["cpu_ns"]) is int
        for key in ("runq_wait_ns", "wake_latency_ns", "gil_wait_ns"):
            assert all(type(v) is int for v in values[key].values())


def test_hogs_switch_only_at_ticks():
    """Without wake-ups, SCHED_OTHER threads change only when a slice runs
    out, which Linux notices at a scheduler tick (HZ 250: every 4 ms)."""
    kernel, sched = make(cores=1, trace=True, tick_hz=250, autogroup=True,
                         context_switch_ns=2000)
    for i in range(4):
        spawn_hog(sched, f"h{i}", group=f"g{i % 2}", cpus=[0])
    kernel.run(until=NS_PER_S)
    times = [t for t, name, _ in runs(kernel) if t > 0]
    assert len(times) > 100
    assert all(t % (4 * NS_PER_MS) == 0 for t in times)


def test_rt_wakeup_goes_to_core_running_least_important_work():
    kernel, sched = make(cores=3, trace=True)
    spawn_hog(sched, "fifo10", policy="fifo", priority=10, cpus=[0])
    spawn_hog(sched, "other", cpus=[1])
    spawn_hog(sched, "fifo30", policy="fifo", priority=30, cpus=[2])
    rt = sched.spawn("rt20", lambda: sched.current.compute(NS_PER_MS, sched.current.exit),
                     policy="fifo", priority=20, at=10 * NS_PER_MS)
    kernel.run(until=20 * NS_PER_MS)
    assert [core for _, name, core in runs(kernel) if name == "rt20"] == [1]
    assert rt.wake_latencies == [0]


def test_fair_server_on_all_cores_during_fifo_spike():
    """A FIFO spike on every core: normal threads cannot move away, so each
    core's fair server lets them run 50 ms after 950 ms."""
    kernel, sched = make(cores=2, rt_throttle="fair_server", tick_hz=0)
    normal = [spawn_hog(sched, f"n{i}") for i in range(2)]
    for i in range(2):
        sched.spawn(f"spike{i}", lambda: sched.current.compute(2 * NS_PER_S, sched.current.exit),
                    policy="fifo", priority=50, cpus=[i], at=100 * NS_PER_MS)
    kernel.run(until=2100 * NS_PER_MS)
    sched.flush()
    # 100 ms alone, then 2 x 50 ms inside the 2 s spike
    assert [n.cpu_ns for n in normal] == [200 * NS_PER_MS] * 2


def test_group_shares_split_between_cores_by_load():
    """calc_group_shares: group A busy on two cores has half its shares on
    each, so group B's single hog gets 1024 / (1024 + 512) = 2/3 of core 0
    (the real 6.18 kernel of our VM gave 0.667 in the same setup)."""
    kernel, sched = make(cores=2, autogroup=True)
    a0 = spawn_hog(sched, "a0", group="A", cpus=[0])
    spawn_hog(sched, "a1", group="A", cpus=[1])
    b0 = spawn_hog(sched, "b0", group="B", cpus=[0])
    kernel.run(until=4 * NS_PER_S)
    sched.flush()
    share = b0.cpu_ns / (a0.cpu_ns + b0.cpu_ns)
    assert share == pytest.approx(2 / 3, abs=0.01)


def test_wait_with_timeout_like_poll():
    kernel, sched = make(cores=1)
    sig = sched.signal("fd")
    seen = []

    def loop():
        t = sched.current
        t.wait(sig, lambda: (seen.append((kernel.now, t.timed_out)), loop()),
               until=kernel.now + 10 * NS_PER_MS)
    sched.spawn("poller", loop)
    kernel.schedule(25 * NS_PER_MS, sig.post)
    kernel.schedule(26 * NS_PER_MS, sig.post)
    kernel.run(until=40 * NS_PER_MS)
    assert seen == [(10 * NS_PER_MS, True), (20 * NS_PER_MS, True), (25 * NS_PER_MS, False),
                    (26 * NS_PER_MS, False), (36 * NS_PER_MS, True)]
    assert sig.waiters and sig.count == 0


def test_idle_core_pulls_waiting_thread_at_once():
    """Three periodic threads on two cores: whenever a core goes idle it
    takes a waiting thread, so nobody waits beside an idle core."""
    kernel, sched = make(cores=2)
    for name, work in (("a", 3), ("b", 3), ("c", 1)):
        spawn_periodic(sched, name, work * NS_PER_MS, 4 * NS_PER_MS)
    kernel.run(until=200 * NS_PER_MS)
    sched.flush()
    # together they ask for 7 ms per 4 ms on 2 cores (8 ms): all served
    assert [t.cpu_ns for t in sched.threads] == [150 * NS_PER_MS, 150 * NS_PER_MS,
                                                50 * NS_PER_MS]


def test_balance_tick_moves_preempted_thread_to_idle_core():
    kernel, sched = make(cores=2, rt_throttle="none")
    main = spawn_hog(sched, "main", cpus=[0, 1])
    core = main.core
    sched.spawn("rt", lambda: sched.current.compute(20 * NS_PER_MS, sched.current.exit),
                policy="fifo", priority=10, cpus=[core], at=NS_PER_MS)
    kernel.run(until=21 * NS_PER_MS)
    sched.flush()
    # preempted at 1 ms, moved at the next 4 ms balance tick (4 ms)
    assert main.cpu_ns == 21 * NS_PER_MS - 3 * NS_PER_MS
    assert main.core != core


# ---- fair server (Linux 6.12+): throttles RT only after real starvation ----------
# KLIPPER-FACTS 8: SCHED_OTHER tasks starved by RT tasks run only after about
# the throttling threshold (period - runtime = 950 ms of starvation), then
# get up to 50 ms per period. An RT thread that leaves the CPU to normal
# threads or to idle starves nobody, so nothing ever holds it back.
@settings(max_examples=15, deadline=None)
@given(work_ms=st.integers(1, 900), gap_ms=st.integers(1, 200),
       hogs=st.integers(0, 2), start_ms=st.integers(0, 500))
def test_fair_server_never_throttles_a_fifo_thread_that_sleeps(work_ms, gap_ms, hogs,
                                                              start_ms):
    kernel, sched = make(cores=1, rt_throttle="fair_server", tick_hz=0)
    for i in range(hogs):
        spawn_hog(sched, f"other{i}", cpus=[0])
    fifo = spawn_periodic(sched, "fifo", work_ms * NS_PER_MS, (work_ms + gap_ms) * NS_PER_MS,
                          start_ms * NS_PER_MS, catch_up=True, policy="fifo",
                          priority=90, cpus=[0])
    kernel.run(until=4 * NS_PER_S)
    # every period starts on time: the FIFO thread was never held back
    assert len(fifo.wake_latencies) >= (4000 - start_ms) // (work_ms + gap_ms) - 1
    assert set(fifo.wake_latencies) == {0}
    assert set(fifo.runq_waits) == {0}


@settings(max_examples=10, deadline=None)
@given(start_ms=st.integers(0, 999), seconds=st.integers(2, 5))
def test_fair_server_fifo_hog_leaves_50ms_per_second(start_ms, seconds):
    """A FIFO hog at 100 %: the normal thread first runs 950 ms after the
    hog took the core, then 50 ms in every further second."""
    kernel, sched = make(cores=1, trace=True, rt_throttle="fair_server", tick_hz=0)
    other = spawn_hog(sched, "other", cpus=[0])
    start = start_ms * NS_PER_MS
    sched.spawn("fifo", lambda: sched.current.compute(100 * NS_PER_S, None),
                policy="fifo", priority=50, cpus=[0], at=start)
    kernel.run(until=start + seconds * NS_PER_S)
    sched.flush()
    assert other.cpu_ns == start + seconds * 50 * NS_PER_MS
    runs_other = [t for t, name, _ in runs(kernel) if name == "other" and t > start]
    assert runs_other == [start + 950 * NS_PER_MS + k * NS_PER_S for k in range(seconds)]
