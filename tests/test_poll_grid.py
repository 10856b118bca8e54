"""PollGrid.replay (fw_grid_replay in C), the chain of heater plant update
points on the MCU node's poll grid, against `replay_reference` below (the
reference model: the Python the node ran before, on McuClock's integer
conversions) for random clocks, grids, periods and spans."""
from hypothesis import given, settings, strategies as st

from klipsim.firmware.simulator.mcu import PollGrid
from klipsim.sim.link.clocksync import McuClock
from klipsim.sim.mcus.thermal import UPDATE_PERIOD


def grid_after_ns(grid0, poll, t_ns):
    """The first poll grid point after t_ns (McuNode._grid_after_ns)."""
    k = (t_ns - grid0) // poll + 1
    return grid0 + max(k, 1) * poll


def replay_reference(clock, grid0, poll, period, due, upto):
    """Each update point is the first grid point whose clock is >= due,
    as long as it is <= upto; the next one is due `period` ticks later."""
    count, last = 0, None
    while True:
        point = clock.clock(grid_after_ns(grid0, poll, clock.time_ns(due) - 1))
        if point > upto:
            return count, last, due, point
        count, last, due = count + 1, point, point + period


FREQS = st.sampled_from([16_000_000, 48_000_000, 50_000_000, 72_000_000, 180_000_000,
                         400_000_000, 520_000_000])


@settings(max_examples=300, deadline=None)
@given(freq=FREQS, offset=st.integers(-10 ** 9, 10 ** 10),
       drift=st.integers(-200_000, 200_000), grid0=st.integers(0, 10 ** 10),
       poll=st.integers(1, 20_000_000), due=st.integers(0, 10 ** 12),
       span=st.integers(-10 ** 7, 10 ** 9))
def test_replay_equals_the_python_chain(freq, offset, drift, grid0, poll, due, span):
    clock = McuClock(freq, offset, drift)
    period = int(UPDATE_PERIOD * freq)
    upto = due + span
    got = PollGrid(clock, grid0, poll, period).replay(due, upto)
    want = replay_reference(clock, grid0, poll, period, due, upto)
    if want[0] == 0:
        assert got[0] == 0 and got[2:] == want[2:]      # (no point: `last` unset)
    else:
        assert got == want


def test_a_long_wait_replays_every_update_point():
    """60 s without the firmware looking: points at 6 ms (the first grid
    point) + 20 ms * j up to 59.986 s, 3000 of them."""
    clock = McuClock(180_000_000, 12345, 37)
    poll = 5_000_000
    period = int(UPDATE_PERIOD * clock.freq)
    upto = clock.clock(60 * 10 ** 9)
    got = PollGrid(clock, 1_000_000, poll, period).replay(0, upto)
    assert got == replay_reference(clock, 1_000_000, poll, period, 0, upto)
    assert got[0] == 3000
    assert got[1] == clock.clock(59_986_000_000)
