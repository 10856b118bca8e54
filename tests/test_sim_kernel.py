"""Discrete-event kernel: ordering, integer time, cancellation, run(until)."""
import numpy as np
import pytest

from klipsim.sim.kernel.events import Kernel, SimError


def test_events_run_in_time_priority_sequence_order():
    k = Kernel(np.random.default_rng(0))
    order = []
    for name, at, prio in [("c", 20, 0), ("a", 10, 0), ("b2", 10, 1),
                           ("a2", 10, 0), ("b1", 10, -1)]:
        k.schedule(at, lambda n=name: order.append((k.now, n)), prio)
    k.run()
    assert order == [(10, "b1"), (10, "a"), (10, "a2"), (10, "b2"), (20, "c")]


def test_cancel_and_peek():
    k = Kernel()
    hits = []
    ev = k.schedule(5, lambda: hits.append(5))
    k.schedule(7, lambda: hits.append(7))
    ev.cancel()
    assert k.peek() == 7
    k.run()
    assert hits == [7] and k.now == 7


def test_run_until_stops_before_and_sets_now():
    k = Kernel()
    hits = []
    k.schedule(10, lambda: hits.append(10))
    k.schedule(20, lambda: hits.append(20))
    k.run(until=20)
    assert hits == [10] and k.now == 20
    k.run(until=21)
    assert hits == [10, 20] and k.now == 21


def test_events_can_schedule_more_events_at_same_time():
    k = Kernel()
    hits = []

    def first():
        hits.append("first")
        k.schedule(k.now, lambda: hits.append("nested"))
    k.schedule(3, first)
    k.schedule(3, lambda: hits.append("second"))
    k.run()
    assert hits == ["first", "second", "nested"]


@pytest.mark.parametrize("bad", [1.5, np.int64(3), "3"])
def test_time_must_be_python_int(bad):
    k = Kernel()
    with pytest.raises(SimError):
        k.schedule(bad, lambda: None)


def test_no_time_travel():
    k = Kernel()
    k.run(until=100)
    with pytest.raises(SimError):
        k.schedule(99, lambda: None)


def test_trace_bytes_identical_for_identical_runs():
    def run(seed):
        k = Kernel(np.random.default_rng(seed), trace=True)
        for _ in range(50):
            at = int(k.rng.integers(0, 1000))
            k.schedule(at, lambda: k.record("tick", "x", k.now))
        k.run()
        return k.trace_bytes()
    assert run(1) == run(1)
    assert run(1) != run(2)


def _ticker(k, period, log):
    """A periodic model that wakes itself through idle_until when it can,
    else through an event; logs (now, kernel events run so far)."""
    def tick():
        while True:
            log.append(k.now)
            if not k.idle_until(k.now + period):
                break
        k.after(period, tick)
    k.after(period, tick)


def test_idle_until_gives_the_same_order_as_events():
    """A ticker using idle_until sees the same times, interleaved the
    same way with other events (ties included), as one using events."""
    def run(use_idle):
        k = Kernel()
        log = []
        if use_idle:
            _ticker(k, 5, log)
        else:
            def tick():
                log.append(k.now)
                k.after(5, tick)
            k.after(5, tick)
        for at in (12, 20, 20, 33):     # 20: ties with a tick
            k.schedule(at, lambda: log.append(("event", k.now)))
        k.run(until=31)
        k.run(until=50)
        return log, k.now
    plain, with_idle = run(False), run(True)
    assert with_idle == plain
    log = plain[0]
    # the events at 20 were queued before the tick at 20 was: they run first
    assert log.index(("event", 20)) < log.index(20) and 30 in log


def test_idle_until_refuses_past_events_and_the_run_horizon():
    k = Kernel()
    k.schedule(10, lambda: None)
    assert not k.idle_until(3)          # not inside run(): no horizon
    results = []
    k.schedule(2, lambda: results.extend([k.idle_until(9), k.now, k.idle_until(10),
                                          k.idle_until(30)]))
    k.run(until=30)
    assert results == [True, 9, False, False] and k.now == 30
