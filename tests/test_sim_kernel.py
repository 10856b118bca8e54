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


def test_request_stop_ends_a_stoppable_run_after_the_event():
    """A stoppable run ends right after the event that asked (now at its
    time, later events at the same time still queued); the next run goes
    on from there as if it had not stopped; a run that is not stoppable
    ignores the request; a step is never stopped."""
    k = Kernel()
    hits = []
    k.schedule(10, lambda: (hits.append("a"), k.request_stop()))
    k.schedule(10, lambda: hits.append("b"))
    k.schedule(30, lambda: hits.append("c"))
    assert k.run(until=50, stoppable=True) is True
    assert hits == ["a"] and k.now == 10
    assert k.run(until=50, stoppable=True) is False
    assert hits == ["a", "b", "c"] and k.now == 50
    k.schedule(60, k.request_stop)
    k.schedule(70, lambda: hits.append("d"))
    assert k.run(until=80) is False
    assert hits[-1] == "d" and k.now == 80
    k.request_stop()
    k.schedule(90, lambda: hits.append("e"))
    assert k.step() is True and hits[-1] == "e"
