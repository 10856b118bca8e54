"""A pulse counter input (a fan's tachometer_pin): the MCU counts edges
and reports them periodically (config_counter / query_counter,
docs/MCU_Commands.md). Offline nobody answers, so only the configuration
reaches the stream; the measured speed stays unknown (rpm None).

Contract: `PulseCounter(mcu, pin, pullup, sample_time, poll_time)`. Its oid
is taken when it is created (not at connect, unlike output pins), as
Klipper's MCU_counter does; the first report is requested at Klipper's
"query slot": the whole second after est + 1.5 s, plus oid * 10 ms.
"""


class PulseCounter:
    def __init__(self, mcu, pin, pullup, sample_time, poll_time):
        self.mcu = mcu
        self.pin = pin
        self.pullup = pullup      # 1 pull-up, -1 pull-down (sent as is), 0 none
        self.sample_time = sample_time
        self.poll_time = poll_time
        self.oid = mcu.create_oid()
        mcu.register_config_callback(self._build_config)

    def _query_slot_clock(self):
        est = self.mcu.estimated_print_time(0.)
        return (self.mcu.print_time_to_clock(float(int(est + 1.5)))
                + self.mcu.seconds_to_clock(self.oid * .01))

    def _build_config(self):
        self.mcu.add_config_cmd("config_counter", {
            "oid": self.oid, "pin": self.pin, "pull_up": self.pullup})
        self.mcu.add_config_cmd("query_counter", {
            "oid": self.oid, "clock": self._query_slot_clock() & 0xffffffff,
            "poll_ticks": self.mcu.seconds_to_clock(self.poll_time),
            "sample_ticks": self.mcu.seconds_to_clock(self.sample_time)}, is_init=True)
