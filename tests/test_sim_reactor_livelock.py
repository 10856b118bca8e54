"""SimReactor's livelock guard: host code that asks the time over and
over without pausing never sees it move in a simulation; monotonic()
looks at the clock every POLL_CHECK calls and raises ReactorLivelock once
LIVELOCK_CALLS calls (counted in whole checks) came at one instant."""
import pytest

from klipsim.sim.kernel.events import Kernel
from klipsim.sim.simulate import reactor as sim_reactor
from klipsim.sim.simulate.reactor import ReactorLivelock, SimReactor


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(sim_reactor, "LIVELOCK_CALLS", 2_000)
    monkeypatch.setattr(sim_reactor, "POLL_CHECK", 100)


def _run_polling(kernel, reactor, calls):
    """One timer callback that asks the time `calls` times."""
    def poll(eventtime):
        for _ in range(calls):
            reactor.monotonic()
        return reactor.NEVER
    reactor.register_timer(poll, reactor.NOW)
    assert reactor.run_due()


def test_polling_at_one_instant_raises(small_limits):
    kernel = Kernel()
    reactor = SimReactor(kernel)
    with pytest.raises(ReactorLivelock, match="2000 times"):
        _run_polling(kernel, reactor, 2_100)


def test_polling_below_the_limit_or_while_time_moves_is_fine(small_limits):
    kernel = Kernel()
    reactor = SimReactor(kernel)
    _run_polling(kernel, reactor, 1_999)      # below the limit at one instant
    for step in range(30):                    # the time moves between the polls:
        kernel.run(until=kernel.now + 1000)   # the count starts again
        _run_polling(kernel, reactor, 1_000)
