"""The MCU clock model and the host's clock regression (FACTS 2.4)."""
import os

from hypothesis import given, settings, strategies as st

from klipsim.host.mcu import extend_clock32
from klipsim.sim.link.clocksync import McuClock, RegressionClockSource
from klipsim.sim.simulate.simulation import SimOptions, Simulation

REF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "golden", "klipper")


@settings(max_examples=200, deadline=None)
@given(st.integers(1_000_000, 600_000_000), st.integers(0, 1 << 40),
       st.integers(-200_000, 200_000), st.integers(0, 10 ** 13))
def test_clock_and_time_are_inverse(freq, offset, drift_ppb, t_ns):
    clock = McuClock(freq, offset, drift_ppb)
    c = clock.clock(t_ns)
    back = clock.time_ns(c)
    assert back <= t_ns or c == offset       # the clock had reached c by t
    assert clock.clock(back) >= c            # ... and not one ns earlier
    if back > 0:
        assert clock.clock(back - 1) < c


def synthetic_samples(est, true_clock, half_rtt, times):
    """Replies whose clock was read half an RTT after the query left."""
    for sent in times:
        est.sample(sent, sent + 2 * half_rtt, true_clock(sent + half_rtt))


def test_regression_learns_a_drifting_clock():
    freq = 16_000_000 * (1 + 100e-6)          # 100 ppm fast
    offset = 987_654_321.

    def true_clock(t):
        return offset + t * freq
    est = RegressionClockSource(16_000_000, 0., true_clock(0.))
    synthetic_samples(est, true_clock, 0.0004, [0.9839 * k for k in range(1, 80)])
    assert abs(est.est_freq / freq - 1.) < 1e-7
    for t in (50., 80., 90.):
        assert abs(est.estimated_clock(t) - true_clock(t)) < 16    # < 1 us


def test_a_late_outlier_is_ignored():
    freq = 16_000_000.

    def true_clock(t):
        return t * freq
    est = RegressionClockSource(freq, 0., 0.)
    synthetic_samples(est, true_clock, 0.0002, [0.9839 * k for k in range(1, 40)])
    before = (est.clock_avg, est.est_freq)
    sent = 0.9839 * 40
    est.sample(sent, sent + 0.0004, true_clock(sent) + 0.005 * freq)   # 5 ms late
    assert est.ignored == 1
    assert (est.clock_avg, est.est_freq) == before


def test_extend_clock32_picks_the_nearest():
    assert extend_clock32(5, (3 << 32) + 10) == (3 << 32) + 5
    assert extend_clock32(0xFFFFFFF0, (3 << 32) + 10) == (3 << 32) - 16
    assert extend_clock32(10, (3 << 32) - 16) == (3 << 32) + 10


def test_simulated_host_tracks_a_drifting_mcu():
    gcode = os.path.join(REF, "cartesian_basic", "input.gcode")
    config = os.path.join(REF, "cartesian_basic", "printer.cfg")
    sim = Simulation(gcode, config, SimOptions(profile="atmega2560", drift_ppb=80_000,
                                               clock_offset=123_456_789))
    result = sim.run()
    assert result.shutdown is None
    est = sim.clock_source
    assert est.samples >= 14                  # one reply per 0.9839 s
    true_freq = sim.clock.freq * (1 + 80e-6)
    assert abs(est.est_freq / true_freq - 1.) < 1e-6
    now = sim.kernel.now
    error_s = (est.estimated_clock(now / 1e9) - sim.clock.clock(now)) / sim.clock.freq
    # Klipper adds the minimum half round trip to the send time; the MCU
    # reads its clock when the query has arrived, so the estimate runs
    # ahead by about the reply's way back (well under a millisecond)
    assert 0. < -error_s < 0.0005
