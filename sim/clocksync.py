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
"""

NS = 10 ** 9


class McuClock:
    def __init__(self, freq, offset_ticks=0, drift_ppb=0):
        self.freq = int(freq)
        self.offset = int(offset_ticks)
        self.drift_ppb = int(drift_ppb)
        self._num = self.freq * (NS + self.drift_ppb)   # ticks per 1e18 ns

    def clock(self, t_ns):
        """MCU ticks at host time t_ns."""
        return self.offset + t_ns * self._num // (NS * NS)

    def time_ns(self, clock):
        """Earliest host ns at which the MCU clock has reached `clock`."""
        ticks = clock - self.offset
        if ticks <= 0:
            return 0
        return -(-ticks * NS * NS // self._num)


class ExactClockSource:
    """estimated_print_time for the host: the true MCU clock / CLOCK_FREQ."""

    def __init__(self, clock):
        self.mcu_clock = clock
        self.freq = float(clock.freq)

    def estimated_print_time(self, eventtime):
        return self.mcu_clock.clock(int(eventtime * 1e9)) / self.freq
