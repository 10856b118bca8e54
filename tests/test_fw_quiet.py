"""fw_quiet_until (the earliest clock the firmware could transmit at with
no input, which the simulation wakes the MCU for instead of polling it)
and the stop before a watched ADC sample (the heaters' plants set the
value first)."""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import MS, PULSE, configured, queue_step_times, stepper_fw  # noqa: E402

from klipsim.firmware.simulator.mcu import (NEVER, RUN_OUTPUT, RUN_REACHED,  # noqa: E402
                                            RUN_SAMPLE, STOP_OUTPUT, STOP_SAMPLE)

STATS_MS = 5000          # the firmware's stats report period (basecmd.c)


def qs(interval, count, add=0, oid=0):
    return ("queue_step", {"oid": oid, "interval": interval, "count": count, "add": add})


def test_safe_moves_leave_only_the_stats_report():
    """Moves whose intervals are all >= 2 pulse widths cannot shut down at
    their loads: the next transmission is the stats report, due 5 s after
    the last one, at the periodic timer's pass (100 ms multiples)."""
    fw = stepper_fw()
    fw.send(qs(10 * MS, 5), qs(20 * MS, 10, add=-MS), qs(2 * PULSE, 100))
    fw.read_output()                      # (the acks)
    assert fw.quiet_until == STATS_MS * MS
    assert fw.run(STATS_MS * MS - 1, STOP_OUTPUT) == RUN_REACHED
    assert fw.run(STATS_MS * MS, STOP_OUTPUT) == RUN_OUTPUT
    assert fw.now == STATS_MS * MS
    assert [n for n, _ in fw.responses()] == ["stats"]


def test_an_unsafe_move_is_looked_at_when_it_loads():
    """The next move's first step 2 ms before the previous step (its
    interval wraps the clock backwards) shuts down at the load, the last
    step of the move before: the bound is that step."""
    fw = stepper_fw()
    fw.send(qs(10 * MS, 3), qs((1 << 32) - 2 * MS, 1))
    fw.read_output()
    assert fw.quiet_until == 30 * MS
    assert fw.run(30 * MS - 1, STOP_OUTPUT) == RUN_REACHED
    assert fw.run(40 * MS, STOP_OUTPUT) == RUN_OUTPUT
    assert fw.shutdown_reason == "Stepper too far in past"
    assert fw.shutdown_clock == 30 * MS
    assert fw.quiet_until == NEVER


def test_analog_input_transmits_at_the_last_sample_of_a_report():
    fw = configured(["config_analog_in oid=0 pin=PF4"])
    fw.set_adc("PF4", 1000)
    fw.send("query_analog_in oid=0 clock=%d sample_ticks=%d sample_count=8 rest_ticks=%d"
            " bytes_per_report=2 min_value=0 max_value=30000 range_check_count=0"
            % (10 * MS, MS, 300 * MS))
    fw.read_output()
    assert fw.quiet_until == 17 * MS
    assert fw.run(17 * MS - 1, STOP_OUTPUT) == RUN_REACHED
    assert fw.quiet_until == 17 * MS           # (mid-report: the same last sample)
    assert fw.run(17 * MS, STOP_OUTPUT) == RUN_OUTPUT
    assert [n for n, _ in fw.responses()] == ["analog_in_state"]
    assert fw.quiet_until == 317 * MS


def test_digital_out_deadline_and_queued_update():
    """max_duration: a queued update may shut down when applied (the one
    after it too late), and the deadline itself shuts down."""
    fw = configured(["config_digital_out oid=0 pin=PA2 value=0 default_value=0"
                     " max_duration=%d" % (30 * MS)])
    fw.send("queue_digital_out oid=0 clock=%d on_ticks=1" % (10 * MS))
    fw.read_output()
    assert fw.quiet_until == 10 * MS
    assert fw.run(10 * MS, STOP_OUTPUT) == RUN_REACHED
    assert fw.quiet_until == 40 * MS
    assert fw.run(40 * MS, STOP_OUTPUT) == RUN_OUTPUT
    assert fw.shutdown_reason == "Missed scheduling of next digital out event"


def test_watched_adc_sample_stops_until_its_value_is_set():
    """Samples at 10, 11, ... 17 ms; values valid up to 12 ms: the run stops
    before the 13 ms sample, the new value counts from there."""
    fw = configured(["config_analog_in oid=0 pin=PF4"])
    fw.set_adc("PF4", 100)
    fw.watch_adc("PF4")
    fw.set_adc_valid_until(12 * MS)
    fw.send("query_analog_in oid=0 clock=%d sample_ticks=%d sample_count=8 rest_ticks=%d"
            " bytes_per_report=2 min_value=0 max_value=30000 range_check_count=0"
            % (10 * MS, MS, 300 * MS))
    fw.read_output()
    assert fw.run(20 * MS, STOP_OUTPUT | STOP_SAMPLE) == RUN_SAMPLE
    assert fw.now == 13 * MS
    fw.set_adc("PF4", 200)
    fw.set_adc_valid_until(20 * MS)
    assert fw.run(20 * MS, STOP_OUTPUT | STOP_SAMPLE) == RUN_OUTPUT
    (name, args), = fw.responses()
    assert int.from_bytes(args["values"], "little") == 3 * 100 + 5 * 200
    assert fw.run(20 * MS, STOP_SAMPLE) == RUN_REACHED
    # without STOP_SAMPLE the watch is ignored
    assert fw.run(400 * MS, STOP_OUTPUT) == RUN_OUTPUT
    assert fw.now == 317 * MS


class _Stream:
    """Random commands that mostly keep the firmware running: moves on two
    steppers (a reset_step_clock when one ran dry; some intervals below a
    pulse period; rarely one wrapping backwards) and heater-like updates
    of a digital out with max_duration (rarely too late or missing)."""

    def __init__(self, rng):
        self.rng = rng
        self.end = [0, 0]          # scheduled clock of each stepper's last step
        self.update = 0            # clock of the last queued digital out update

    def commands(self, now):
        rng, out = self.rng, []
        for oid in (0, 1):
            if rng.random() < 0.3:
                continue
            if self.end[oid] + MS < now:
                self.end[oid] = now + MS
                out.append(("reset_step_clock", {"oid": oid, "clock": self.end[oid]}))
            if self.end[oid] > now + 5 * MS and rng.random() < 0.03:
                out.append(qs((1 << 32) - rng.randrange(MS, 3 * MS), 1, oid=oid))
                continue
            interval = (rng.randrange(1, 3 * PULSE) if rng.random() < 0.2
                        else rng.randrange(2 * PULSE, 2 * MS))
            count = rng.randrange(1, 40)
            add = rng.randrange(-(interval // count // 2), 50)
            out.append(qs(interval, count, add, oid=oid))
            self.end[oid] = queue_step_times(self.end[oid], [(interval, count, add)])[-1]
        if rng.random() < 0.97:
            self.update = max(self.update, now + MS) + rng.randrange(MS, 30 * MS)
            if rng.random() < 0.01:
                self.update += 100 * MS
            out.append(("queue_digital_out", {"oid": 2, "clock": self.update,
                                              "on_ticks": rng.choice([0, 1, 5 * MS])}))
        return out


def test_quiet_until_is_a_lower_bound_on_random_streams():
    """Whatever arrives, running to just before quiet_until transmits
    nothing (the property the event-driven MCU node rests on); the runs
    end in shutdowns of several kinds (commands and timers)."""
    checked, reasons = 0, set()
    for seed in range(30):
        rng = random.Random(seed)
        fw = configured(["config_stepper oid=0 step_pin=PF0 dir_pin=PF1 invert_step=0"
                         " step_pulse_ticks=%d" % PULSE,
                         "config_stepper oid=1 step_pin=PF2 dir_pin=PF3 invert_step=0"
                         " step_pulse_ticks=%d" % PULSE,
                         "config_digital_out oid=2 pin=PA2 value=0 default_value=0"
                         " max_duration=%d" % (80 * MS),
                         "config_analog_in oid=3 pin=PF4"])
        fw.set_adc("PF4", 1000)
        fw.send(("query_analog_in", {"oid": 3, "clock": 5 * MS, "sample_ticks": MS // 2,
                                     "sample_count": 4, "rest_ticks": 70 * MS,
                                     "bytes_per_report": 2, "min_value": 0,
                                     "max_value": 30000, "range_check_count": 0}))
        stream = _Stream(rng)
        while not fw.is_shutdown and fw.now < 3000 * MS:
            fw.send(*stream.commands(fw.now))
            fw.read_output()
            horizon = fw.now + rng.randrange(1, 20 * MS)
            while not fw.is_shutdown and fw.now < horizon:
                quiet = fw.quiet_until
                assert quiet > fw.now
                state = fw.run(min(quiet - 1, horizon), STOP_OUTPUT)
                assert state == RUN_REACHED, (seed, fw.now, quiet)
                checked += 1
                if fw.now < horizon and fw.run(quiet, STOP_OUTPUT) == RUN_OUTPUT:
                    fw.read_output()
        if fw.is_shutdown:
            reasons.add(fw.shutdown_reason)
    assert checked > 1000
    assert {"Stepper too far in past",
            "Scheduled digital out event will exceed max_duration"} <= reasons
