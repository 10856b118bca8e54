"""Stepper commands: queue_step timing, direction, position, reset, stop,
the scheduler's "Timer too close" rule and the 32-bit clock wrap."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import MS, PULSE, queue_step_times, stepper_fw  # noqa: E402


def qs(interval, count, add=0, oid=0):
    return ("queue_step", {"oid": oid, "interval": interval, "count": count, "add": add})


def run_all(fw, until=10**10):
    fw.run_until(until)
    fw.read_output()                 # periodic stats reports
    return fw.take_pulses()


def test_queue_step_arithmetic_and_continuation():
    fw = stepper_fw()
    moves = [(1_000_000, 5, 10), (20_000, 3, -5), (7_777, 1, 0), (30_000, 4, 1000)]
    fw.send(*[qs(*m) for m in moves])
    pulses = run_all(fw)
    assert pulses["clock"].tolist() == queue_step_times(0, moves)
    assert set(pulses["pin"].tolist()) == {fw.pin("PF0")}


def test_direction_applies_from_the_next_queued_move():
    fw = stepper_fw()
    fw.send("set_next_step_dir oid=0 dir=1", qs(100_000, 2),
            qs(100_000, 2), "set_next_step_dir oid=0 dir=0", qs(100_000, 3))
    pulses = run_all(fw)
    assert pulses["dir"].tolist() == [1, 1, 1, 1, 0, 0, 0]
    assert fw.pin_level("PF1") == 0
    fw.send("stepper_get_position oid=0")
    assert fw.responses() == [("stepper_position", {"oid": 0, "pos": 4 - 3})]


def test_position_counts_only_steps_taken():
    fw = stepper_fw()
    fw.send("set_next_step_dir oid=0 dir=1", qs(10 * MS, 10))
    fw.run_until(35 * MS)                # 3 steps taken
    fw.send("stepper_get_position oid=0")
    assert fw.responses() == [("stepper_position", {"oid": 0, "pos": 3})]


def test_reset_step_clock_restarts_timing():
    fw = stepper_fw()
    fw.send(qs(50_000, 2))
    run_all(fw, 10 * MS)
    fw.send("reset_step_clock oid=0 clock=%d" % (20 * MS), qs(1000, 2))
    pulses = run_all(fw, 30 * MS)
    assert pulses["clock"].tolist() == [20 * MS + 1000, 20 * MS + 2000]


def test_reset_step_clock_while_active_shuts_down():
    fw = stepper_fw()
    fw.send(qs(10 * MS, 3), "reset_step_clock oid=0 clock=0")
    assert fw.shutdown_reason == "Can't reset time when stepper active"


def test_steps_closer_than_two_pulses_are_pushed_back():
    fw = stepper_fw()
    fw.send(qs(10_000, 1), qs(PULSE, 3))     # intervals of one pulse width
    pulses = run_all(fw)
    expected = [10_000 + 2 * PULSE * k for k in range(4)]
    assert pulses["clock"].tolist() == expected


def test_stepper_too_far_in_past():
    fw = stepper_fw()
    # the next move's first step 2 ms before the previous step (interval
    # wraps the 32-bit clock backwards)
    fw.send(qs(10 * MS, 1), qs((1 << 32) - 2 * MS, 1))
    run_all(fw)
    assert fw.shutdown_reason == "Stepper too far in past"


def test_timer_too_close_on_idle_stepper():
    fw = stepper_fw()
    fw.run_until(5 * MS)
    fw.send(qs(5 * MS, 1))                   # first step exactly now: allowed
    assert not fw.is_shutdown
    run_all(fw, 10 * MS)
    fw.send(qs(5 * MS - 1, 1))               # first step one tick in the past
    assert fw.shutdown_reason == "Timer too close"
    assert fw.shutdown_clock == 10 * MS


def test_busy_stepper_accepts_moves_without_check():
    fw = stepper_fw()
    fw.send(qs(10 * MS, 2))
    fw.run_until(15 * MS)
    fw.send(qs(1, 1))       # would be long past on an idle stepper: appended
    pulses = run_all(fw)
    assert not fw.is_shutdown
    assert pulses["clock"].tolist() == [10 * MS, 20 * MS, 20 * MS + 2 * PULSE]


def test_steps_across_the_32bit_clock_wrap():
    fw = stepper_fw()
    base = (1 << 32) - 30 * MS
    fw.run_until(base)
    fw.send("reset_step_clock oid=0 clock=%d" % (base & 0xFFFFFFFF), qs(10 * MS, 6, 7))
    pulses = run_all(fw, base + MS * 100)
    assert pulses["clock"].tolist() == queue_step_times(base, [(10 * MS, 6, 7)])


def test_invalid_count():
    fw = stepper_fw()
    fw.send(qs(1000, 0))
    assert fw.shutdown_reason == "Invalid count parameter"


def test_move_queue_overflow():
    fw = stepper_fw()
    fw.send(*[qs(10 * MS, 1)] * 501)          # 500 slots, one loaded at once
    assert not fw.is_shutdown
    fw.send(qs(10 * MS, 1))
    assert fw.shutdown_reason == "Move queue overflow"


def test_shutdown_stops_steps_and_reports():
    fw = stepper_fw()
    fw.send(qs(10 * MS, 100))
    fw.run_until(25 * MS)
    fw.send("emergency_stop")
    pulses = run_all(fw)
    assert len(pulses) == 2
    assert fw.moves_in_use == 0 and fw.pending_steps == 0
