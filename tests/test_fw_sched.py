"""The scheduler and the virtual clock, seen through the firmware API."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import MS, PULSE, configured, queue_step_times  # noqa: E402


def three_steppers():
    return configured(["config_stepper oid=%d step_pin=PF%d dir_pin=PG%d invert_step=0"
                       " step_pulse_ticks=%d" % (i, i, i, PULSE) for i in range(3)])


def test_timers_of_all_objects_fire_in_time_order():
    fw = three_steppers()
    moves = {0: [(3 * MS, 20, 0)], 1: [(5 * MS, 12, -1000)], 2: [(7 * MS, 9, 333)]}
    fw.send(*[("queue_step", {"oid": oid, "interval": i, "count": c, "add": a})
              for oid, mv in moves.items() for i, c, a in mv])
    fw.run_until(200 * MS)
    pulses = fw.take_pulses()
    clocks = pulses["clock"].tolist()
    assert clocks == sorted(clocks)
    for oid, mv in moves.items():
        mine = pulses[pulses["pin"] == fw.pin("PF%d" % oid)]
        assert mine["clock"].tolist() == queue_step_times(0, mv)
    assert fw.timer_dispatches >= len(clocks)


def test_clock_moves_only_in_run_until_and_commands_see_it():
    fw = configured()
    assert fw.now == 0
    fw.run_until(123_456)
    fw.send("get_clock")
    assert fw.now == 123_456
    assert fw.responses() == [("clock", {"clock": 123_456})]


def test_run_until_stops_on_output():
    fw = configured()
    # the first stats report is due at 5 s: the run stops there
    assert fw.run_until(60_000 * MS, stop_on_output=True)
    assert fw.now == 5000 * MS
    assert [n for n, _ in fw.responses()] == ["stats"]
    assert not fw.run_until(5050 * MS, stop_on_output=True)
    assert fw.now == 5050 * MS


def test_equal_times_run_in_scheduling_order():
    fw = three_steppers()
    fw.send(*[("queue_step", {"oid": oid, "interval": 10 * MS, "count": 1, "add": 0})
              for oid in (2, 0, 1)])
    fw.run_until(20 * MS)
    pins = fw.take_pulses()["pin"].tolist()
    assert pins == [fw.pin("PF2"), fw.pin("PF0"), fw.pin("PF1")]
