"""Endstops, trsync (homing) and analog inputs."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import MS, PULSE, configured, names  # noqa: E402

HOMING_CFG = [
    "config_endstop oid=0 pin=PG6 pull_up=0",
    "config_trsync oid=1",
    "config_stepper oid=2 step_pin=PF13 dir_pin=PF12 invert_step=0 step_pulse_ticks=%d" % PULSE,
]


def start_homing(fw, timeout=250 * MS, report=75 * MS):
    fw.send("trsync_start oid=1 report_clock=%d report_ticks=%d expire_reason=4"
            % (10 * MS, report),
            "stepper_stop_on_trigger oid=2 trsync_oid=1",
            "trsync_set_timeout oid=1 clock=%d" % (10 * MS + timeout),
            "endstop_home oid=0 clock=%d sample_ticks=%d sample_count=4 rest_ticks=%d"
            " pin_value=1 trsync_oid=1 trigger_reason=1" % (10 * MS, 2700, MS),
            "queue_step oid=2 interval=%d count=1 add=0" % (20 * MS),
            "queue_step oid=2 interval=%d count=1000 add=0" % MS)   # 20 ms .. 1020 ms


def test_trsync_reports_and_times_out_stopping_the_stepper():
    fw = configured(HOMING_CFG)
    start_homing(fw)
    fw.run_until(300 * MS)
    reports = [a for n, a in fw.responses() if n == "trsync_state"]
    clocks = [r["clock"] for r in reports]
    assert clocks[:4] == [10 * MS, 85 * MS, 160 * MS, 235 * MS]
    assert all(r["can_trigger"] == 1 for r in reports[:4])
    final = reports[-1]
    assert (final["can_trigger"], final["trigger_reason"], final["clock"]) == (0, 4, 260 * MS)
    pulses = fw.take_pulses()
    # steps at 20, 21, ... 259 ms; the expiry at 260 ms comes before that
    # step (equal times run in the order they were scheduled)
    assert pulses["clock"].max() == 259 * MS and len(pulses) == 240
    # further moves are ignored until reset_step_clock
    fw.send("queue_step oid=2 interval=%d count=3 add=0" % MS)
    fw.run_until(400 * MS)
    assert len(fw.take_pulses()) == 0
    fw.send("reset_step_clock oid=2 clock=%d" % (400 * MS),
            "queue_step oid=2 interval=%d count=3 add=0" % MS)
    fw.run_until(500 * MS)
    assert fw.take_pulses()["clock"].tolist() == [401 * MS, 402 * MS, 403 * MS]


def test_extending_the_timeout_keeps_homing_alive():
    fw = configured(HOMING_CFG)
    start_homing(fw)
    for _ in range(20):
        fw.run_until(fw.now + 75 * MS)
        for name, args in fw.responses():
            if name == "trsync_state" and args["can_trigger"]:
                fw.send("trsync_set_timeout oid=1 clock=%d" % (args["clock"] + 250 * MS))
    assert len(fw.take_pulses()) == 1001


def test_endstop_triggers_after_sample_count_matches():
    fw = configured(HOMING_CFG)
    start_homing(fw, timeout=10_000 * MS)
    fw.run_until(50 * MS + 1)
    fw.set_input("PG6", 1)                   # the endstop closes at 50 ms
    fw.run_until(100 * MS)
    reports = [a for n, a in fw.responses() if n == "trsync_state"]
    final = reports[-1]
    # sampled every ms: first match at 51 ms, 3 more 2700 ticks apart
    assert (final["can_trigger"], final["trigger_reason"]) == (0, 1)
    assert final["clock"] == 51 * MS + 3 * 2700
    assert fw.take_pulses()["clock"].max() < final["clock"]
    fw.send("endstop_query_state oid=0")
    (name, args), = fw.responses()
    assert name == "endstop_state" and args["homing"] == 0 and args["pin_value"] == 1


def test_endstop_home_stop_and_manual_trigger():
    fw = configured(HOMING_CFG)
    start_homing(fw, timeout=10_000 * MS)
    fw.send("endstop_home oid=0 clock=0 sample_ticks=0 sample_count=0 rest_ticks=0"
            " pin_value=0 trsync_oid=0 trigger_reason=0")
    fw.set_input("PG6", 1)
    fw.run_until(100 * MS)
    assert all(a["can_trigger"] for n, a in fw.responses() if n == "trsync_state")
    fw.send("trsync_trigger oid=1 reason=2")
    assert [(a["can_trigger"], a["trigger_reason"]) for n, a in fw.responses()
            if n == "trsync_state"] == [(0, 2)]


def analog_fw(value, count=8, lo=100, hi=30000):
    fw = configured(["config_analog_in oid=0 pin=PF4"])
    fw.set_adc("PF4", value)
    fw.send("query_analog_in oid=0 clock=%d sample_ticks=%d sample_count=%d rest_ticks=%d"
            " bytes_per_report=2 min_value=%d max_value=%d range_check_count=4"
            % (10 * MS, MS, count, 300 * MS, lo, hi))
    return fw


def test_analog_reports_oversampled_sum():
    fw = analog_fw(1234)
    fw.run_until(1000 * MS)
    reports = [a for n, a in fw.responses() if n == "analog_in_state"]
    assert [r["next_clock"] for r in reports] == [310 * MS, 610 * MS, 910 * MS, 1210 * MS]
    for r in reports:
        assert int.from_bytes(r["values"], "little") == 8 * 1234


def test_adc_out_of_range_after_four_readings():
    fw = analog_fw(5, lo=100)
    fw.run_until(10 * MS + 3 * 300 * MS + 7 * MS - 1)
    assert not fw.is_shutdown
    fw.run_until(2000 * MS)
    assert fw.shutdown_reason == "ADC out of range"
    assert fw.shutdown_clock == 10 * MS + 3 * 300 * MS + 7 * MS
    assert "shutdown" in names(fw.responses())


def test_zero_sample_periods_still_advance_the_clock():
    fw = configured(HOMING_CFG + ["config_analog_in oid=3 pin=PF4"])
    fw.send("trsync_start oid=1 report_clock=%d report_ticks=0 expire_reason=4" % MS,
            "endstop_home oid=0 clock=%d sample_ticks=0 sample_count=4 rest_ticks=0"
            " pin_value=1 trsync_oid=1 trigger_reason=1" % MS,
            "query_analog_in oid=3 clock=%d sample_ticks=0 sample_count=8 rest_ticks=0"
            " bytes_per_report=2 min_value=0 max_value=0 range_check_count=0" % MS)
    fw.run_until(MS + 1000)      # returns: samples are at least a tick apart
    assert fw.now == MS + 1000 and not fw.is_shutdown


def test_trsync_trigger_always_answers_with_the_first_reason():
    """trsync_trigger is a query (the host's stop after a homing move):
    every one is answered by one trsync_state with can_trigger=0, clock 0
    and the reason of the first trigger -- here the expiry (4)."""
    fw = configured(HOMING_CFG)
    start_homing(fw, timeout=50 * MS)
    fw.run_until(100 * MS)
    fw.responses()
    for _ in range(2):
        fw.send("trsync_trigger oid=1 reason=2")
        assert [(a["can_trigger"], a["trigger_reason"], a["clock"])
                for n, a in fw.responses() if n == "trsync_state"] == [(0, 4, 0)]
    fw.run_until(400 * MS)
    assert not [a for n, a in fw.responses() if n == "trsync_state"]
