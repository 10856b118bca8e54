"""The MCU's clock against host time, and the host's view of it.

Contract: `McuClock(freq, offset_ticks=0, drift_ppb=0)` maps host time
(integer ns) to the MCU's tick counter and back, in integer arithmetic:
clock(t) = offset + floor(t * freq * (1e9 + drift_ppb) / 1e18). The MCU
runs at its nominal `freq` (the dictionary's CLOCK_FREQ) times
(1 + drift_ppb / 1e9) and had counted `offset` ticks at host time 0.

`ExactClockSource(clock)` is the host's clock estimate as a documented
first step (brief: "the exact MCU clock mapping plus transmit latency"):
estimated_print_time(eventtime) = clock(eventtime) / freq, i.e. the host
knows the MCU clock perfectly. Klipper's regression over get_clock
samples (KLIPPER-FACTS 2.4) converges to this mapping within its
residual error; the get_clock traffic itself (every 0.9839 s, handled in
serialhdl) is still simulated, so its CPU and wire cost is present.
Print time is main MCU clock / CLOCK_FREQ, as in Klipper.

`RegressionClockSource` is Klipper's estimate proper (FACTS 2.4), fed by
the get_clock replies the serialhdl thread handles; `SerialQueueClock` is
the conservative view of it the serial queue schedules with. simulate.py
picks one or the other (SimOptions.clock_sync).

`SecondarySync(main_estimate, own_estimate)` is the clock source of a
secondary MCU (FACTS 2.4, clocksync's secondary sync): print time stays
the main MCU's clock / its CLOCK_FREQ, and the secondary's print time ->
clock mapping (offset, freq) is re-fitted by `calibrate_clock` so both
MCUs' estimates agree a few seconds ahead; drift between the MCUs is
absorbed there.
"""

import math

NS = 10 ** 9
NS2 = NS * NS


class McuClock:
    def __init__(self, freq, offset_ticks=0, drift_ppb=0):
        self.freq = int(freq)
        self.offset = int(offset_ticks)
        self.drift_ppb = int(drift_ppb)
        self._num = self.freq * (NS + self.drift_ppb)   # ticks per 1e18 ns

    def clock(self, t_ns):
        """MCU ticks at host time t_ns."""
        return self.offset + t_ns * self._num // NS2

    def time_ns(self, clock):
        """Earliest host ns at which the MCU clock has reached `clock`."""
        ticks = clock - self.offset
        if ticks <= 0:
            return 0
        return -(-ticks * NS2 // self._num)

    def c_clock(self):
        """The mapping for the serial link in C (sim/link/linkio.py)."""
        return "exact", (self.offset, self._num)

    def watch(self, callback):
        """Call callback() when the mapping changes: never."""


class ExactClockSource:
    """estimated_print_time for the host: the true MCU clock / CLOCK_FREQ."""

    def __init__(self, clock):
        self.mcu_clock = clock
        self.freq = float(clock.freq)

    def estimated_print_time(self, eventtime):
        return self.mcu_clock.clock(int(eventtime * 1e9)) / self.freq

    def estimated_clock(self, eventtime):
        return float(self.mcu_clock.clock(int(eventtime * 1e9)))

    def time_of_clock(self, clock):
        """Host seconds at which the clock reaches `clock` (inverse)."""
        return self.mcu_clock.time_ns(int(clock)) / 1e9


# ---- Klipper's estimate over get_clock samples (FACTS 2.4) -----------------
DECAY = 1. / 30.              # clocksync.py exponential decay of the averages
RTT_AGE = 0.000010 / 3600.    # min half-RTT ages by 10 us per hour
TRANSMIT_EXTRA = 0.001        # serialqueue's estimate: time_avg + 1 ms ...
CONSERVATIVE_SIGMAS = 3.      # ... and clock_avg - 3 standard deviations
OUTLIER_SIGMA2 = 25.          # 5 sigma, squared
OUTLIER_MIN_S = 0.000500      # ... and at least 500 us of ticks
RESET_VARIANCE_S = 0.001      # prediction variance after an accepted jump
LATE_WINDOW_S = 10.           # outliers are only ignored this soon after a fit
START_VARIANCE = 0.001        # seed variance: the nominal frequency, weakly


class RegressionClockSource:
    """The host's estimate of one MCU clock from (sent, received, clock)
    samples of get_clock replies, as FACTS 2.4 describes Klipper's
    ClockSync: exponentially decayed regression of clock on send time,
    frequency = covariance / variance, minimum half round trip added to
    the sample time, outliers ignored. Seeded with one exact reading at
    connect (standing in for the start-up get_uptime/get_clock burst),
    which the first reply replaces.

    Also offers the McuClock interface (clock(t_ns), time_ns(clock),
    freq) on the estimate, for the serial queue's clock conversions."""

    def __init__(self, nominal_freq, t0, clock0, freq0=None):
        self.nominal = float(nominal_freq)
        self.freq_int = int(nominal_freq)
        self.time_avg = t0
        self.clock_avg = float(clock0)
        # freq0: the rate the start-up burst measured (default: nominal)
        self.est_freq = float(freq0) if freq0 else self.nominal
        self.time_var = START_VARIANCE
        self.clock_cov = START_VARIANCE * self.est_freq
        self.min_half_rtt = 0.
        self.min_rtt_time = t0
        self.prediction_var = (RESET_VARIANCE_S * self.nominal) ** 2
        self.last_prediction_time = t0
        self.samples = self.ignored = 0
        self.updates = 0          # counts sample() calls (views cache on it)
        self.listeners = []       # f() called after every sample (views kept in C)

    @property
    def freq(self):
        return self.freq_int

    def _restart(self, sent, clock):
        """The first reply replaces the connect-time seed (as Klipper's
        regression starts from its start-up queries), keeping only a weak
        pull towards the nominal frequency."""
        self.time_avg, self.clock_avg = sent, float(clock)
        self.time_var = START_VARIANCE
        self.clock_cov = START_VARIANCE * self.est_freq
        self.last_prediction_time = sent

    def sample(self, sent, received, clock):
        """One get_clock reply: query sent at `sent`, reply read at
        `received` (host seconds), MCU `clock` (64-bit ticks)."""
        self._sample(sent, received, clock)
        for listener in self.listeners:
            listener()

    def _sample(self, sent, received, clock):
        self.samples += 1
        self.updates += 1
        half_rtt = .5 * (received - sent)
        if self.samples == 1:
            self._restart(sent, clock)
        aged = self.min_half_rtt + (sent - self.min_rtt_time) * RTT_AGE
        if half_rtt < aged or self.samples == 1:
            self.min_half_rtt, self.min_rtt_time = half_rtt, sent
        expected = self.clock_avg + (sent - self.time_avg) * self.est_freq
        error2 = (clock - expected) ** 2
        if error2 > OUTLIER_SIGMA2 * self.prediction_var \
                and error2 > (OUTLIER_MIN_S * self.nominal) ** 2:
            if clock > expected and sent < self.last_prediction_time + LATE_WINDOW_S:
                self.ignored += 1
                return
            self.prediction_var = (RESET_VARIANCE_S * self.nominal) ** 2
        else:
            self.last_prediction_time = sent
            self.prediction_var = (1. - DECAY) * (self.prediction_var + error2 * DECAY)
        diff = sent - self.time_avg
        self.time_avg += DECAY * diff
        self.time_var = (1. - DECAY) * (self.time_var + diff * diff * DECAY)
        clock_diff = clock - self.clock_avg
        self.clock_avg += DECAY * clock_diff
        self.clock_cov = (1. - DECAY) * (self.clock_cov + diff * clock_diff * DECAY)
        self.est_freq = self.clock_cov / self.time_var

    def estimated_clock(self, eventtime):
        return self.clock_avg + (eventtime - self.time_avg - self.min_half_rtt) * self.est_freq

    def estimated_print_time(self, eventtime):
        return self.estimated_clock(eventtime) / self.nominal

    def time_of_clock(self, clock):
        """Host seconds at which the estimate reaches `clock` (inverse of
        estimated_clock)."""
        return self.time_avg + self.min_half_rtt + (clock - self.clock_avg) / self.est_freq

    # McuClock interface on the estimate (serial queue conversions)
    def clock(self, t_ns):
        return int(self.estimated_clock(t_ns / 1e9))

    def time_ns(self, clock):
        t = self.time_avg + self.min_half_rtt + (clock - self.clock_avg) / self.est_freq
        return max(0, int(math.ceil(t * 1e9)))


class SerialQueueClock:
    """The deliberately conservative estimate Klipper hands its serial
    queue (FACTS 2.4): sample time + TRANSMIT_EXTRA, clock - 3 sigma.
    McuClock interface (clock(t_ns), time_ns(clock), freq)."""

    def __init__(self, estimate):
        self.est = estimate
        self._cached = (-1, None)     # (estimate.updates, _base() then)

    @property
    def freq(self):
        return self.est.freq_int

    def _base(self):
        """(t0, c0, f), recomputed only after the estimate took a sample
        (the serial queue converts clocks far more often than that)."""
        e = self.est
        updates, base = self._cached
        if updates == e.updates:
            return base
        sigma = math.sqrt(e.prediction_var)
        base = (e.time_avg + e.min_half_rtt + TRANSMIT_EXTRA,
                e.clock_avg - CONSERVATIVE_SIGMAS * sigma, e.est_freq)
        self._cached = (e.updates, base)
        return base

    def clock(self, t_ns):
        t0, c0, f = self._base()
        return int(c0 + (t_ns / 1e9 - t0) * f)

    def c_clock(self):
        """The mapping for the serial link in C (sim/link/linkio.py:
        clock and time_ns above, same operations)."""
        return "float", self._base()

    def watch(self, callback):
        """Call callback() whenever the estimate took a sample."""
        self.est.listeners.append(callback)

    def time_ns(self, clock):
        t0, c0, f = self._base()
        return max(0, int(math.ceil((t0 + (clock - c0) / f) * 1e9)))


SYNC_AHEAD_S = 4.        # secondary sync: agree at least 4 s ahead ...
SYNC_LEAD_FACTOR = 2.5   # ... and 2.5 x the queued lead past print_time (FACTS 2.4)


class SecondarySync:
    """A secondary MCU's print time mapping onto the main MCU's clock.

    Print time is the main MCU's estimated clock / its CLOCK_FREQ. The
    secondary converts print time to its own clock as
    (print_time - offset) * freq; `connect` picks the offset so both
    MCUs' estimates give the same print time now; `calibrate_clock`
    keeps the mapping continuous at sync1 = max(print_time, estimated
    print time) and bends its frequency so that at sync2 = max(sync1 +
    4 s, last sync2, print_time + 2.5 x (print_time - estimate)) it gives
    the clock the secondary's own estimate expects at the host time the
    main estimate reaches sync2 (FACTS 2.4)."""

    def __init__(self, main, own):
        self.main = main              # estimate of the main MCU's clock
        self.own = own                # estimate of this MCU's clock
        self.nominal = float(own.freq)
        self.main_nominal = float(main.freq)
        self.clock_adj = (0., self.nominal)
        self.last_sync_time = 0.

    @property
    def freq(self):
        return self.own.freq

    def connect(self, eventtime):
        main_time = self.main.estimated_print_time(eventtime)
        own_time = self.own.estimated_clock(eventtime) / self.nominal
        self.clock_adj = (main_time - own_time, self.nominal)
        self.calibrate_clock(0., eventtime)

    def estimated_print_time(self, eventtime):
        offset, freq = self.clock_adj
        return self.own.estimated_clock(eventtime) / freq + offset

    def calibrate_clock(self, print_time, eventtime):
        est = self.main.estimated_print_time(eventtime)
        sync1 = max(print_time, est)
        sync2 = max(sync1 + SYNC_AHEAD_S, self.last_sync_time,
                    print_time + SYNC_LEAD_FACTOR * (print_time - est))
        sync2_host = self.main.time_of_clock(sync2 * self.main_nominal)
        offset, freq = self.clock_adj
        sync1_clock = (sync1 - offset) * freq
        sync2_clock = self.own.estimated_clock(sync2_host)
        new_freq = (sync2_clock - sync1_clock) / (sync2 - sync1)
        self.clock_adj = (sync1 - sync1_clock / new_freq, new_freq)
        self.last_sync_time = sync2
        return self.clock_adj
