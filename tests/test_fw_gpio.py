"""Digital outputs: scheduled updates, soft PWM, max_duration checks."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import MS, configured  # noqa: E402

PIN = "PA2"


def dout(max_duration=0, value=0, default=0, cycle=None):
    lines = ["config_digital_out oid=0 pin=%s value=%d default_value=%d max_duration=%d"
             % (PIN, value, default, max_duration)]
    if cycle:
        lines.append("set_digital_out_pwm_cycle oid=0 cycle_ticks=%d" % cycle)
    return configured(lines)


def events(fw, pin=PIN):
    ev = fw.take_gpio_events()
    number = fw.pin(pin)
    return [(int(c), int(v)) for c, p, v in ev.tolist() if p == number]


def test_config_sets_level_and_updates_happen_at_their_clock():
    fw = dout(value=1, default=1)
    assert fw.pin_level(PIN) == 1
    fw.take_gpio_events()
    fw.send("queue_digital_out oid=0 clock=%d on_ticks=0" % (10 * MS),
            "queue_digital_out oid=0 clock=%d on_ticks=1" % (25 * MS))
    fw.run_until(100 * MS)
    assert events(fw) == [(10 * MS, 0), (25 * MS, 1)]
    assert fw.moves_in_use == 0


def test_soft_pwm_toggles_on_ticks_per_cycle():
    cycle, on = 10 * MS, 3 * MS
    fw = dout(cycle=cycle)
    fw.take_gpio_events()
    fw.send("queue_digital_out oid=0 clock=%d on_ticks=%d" % (20 * MS, on),
            "queue_digital_out oid=0 clock=%d on_ticks=0" % (50 * MS))
    fw.run_until(100 * MS)
    expected = []
    for k in range(3):
        start = 20 * MS + k * cycle
        expected += [(start, 1), (start + on, 0)]
    expected.append((50 * MS, 0))
    assert events(fw) == expected


def test_full_cycle_is_steady_on():
    fw = dout(cycle=10 * MS)
    fw.take_gpio_events()
    fw.send("queue_digital_out oid=0 clock=%d on_ticks=%d" % (5 * MS, 10 * MS))
    fw.run_until(100 * MS)
    assert events(fw) == [(5 * MS, 1)]


def test_missed_scheduling_after_max_duration():
    fw = dout(max_duration=30 * MS)
    fw.send("queue_digital_out oid=0 clock=%d on_ticks=1" % (10 * MS))
    fw.run_until(40 * MS - 1)
    assert not fw.is_shutdown
    fw.run_until(41 * MS)
    assert fw.shutdown_reason == "Missed scheduling of next digital out event"
    assert fw.shutdown_clock == 40 * MS
    assert fw.pin_level(PIN) == 0            # default value after shutdown


def test_default_level_needs_no_refresh():
    fw = dout(max_duration=30 * MS)
    fw.send("queue_digital_out oid=0 clock=%d on_ticks=0" % (10 * MS))
    fw.run_until(500 * MS)
    assert not fw.is_shutdown


def test_refresh_within_max_duration_keeps_running():
    fw = dout(max_duration=30 * MS)
    fw.send(*["queue_digital_out oid=0 clock=%d on_ticks=1" % (10 * MS + k * 25 * MS)
              for k in range(5)],
            "queue_digital_out oid=0 clock=%d on_ticks=0" % (130 * MS))
    fw.run_until(500 * MS)
    assert not fw.is_shutdown


def test_update_later_than_max_duration_is_refused():
    fw = dout(max_duration=30 * MS)
    fw.send("queue_digital_out oid=0 clock=%d on_ticks=1" % (10 * MS),
            "queue_digital_out oid=0 clock=%d on_ticks=0" % (50 * MS))
    fw.run_until(100 * MS)
    assert fw.shutdown_reason == "Scheduled digital out event will exceed max_duration"


def test_update_digital_out_and_its_queue_rule():
    fw = dout()
    fw.send("update_digital_out oid=0 value=1")
    assert fw.pin_level(PIN) == 1
    fw.send("queue_digital_out oid=0 clock=%d on_ticks=0" % (10 * MS),
            "update_digital_out oid=0 value=1")
    assert fw.shutdown_reason == "update_digital_out not valid with active queue"


def test_pwm_cycle_change_with_pending_updates():
    fw = dout(cycle=10 * MS)
    fw.send("queue_digital_out oid=0 clock=%d on_ticks=5" % (10 * MS),
            "set_digital_out_pwm_cycle oid=0 cycle_ticks=100")
    assert fw.shutdown_reason == "Can not set soft pwm cycle ticks while updates pending"


def test_late_first_update_is_timer_too_close():
    fw = dout()
    fw.run_until(20 * MS)
    fw.send("queue_digital_out oid=0 clock=%d on_ticks=1" % (10 * MS))
    assert fw.shutdown_reason == "Timer too close"


def test_set_digital_out_immediate():
    fw = configured()
    fw.send("set_digital_out pin=PB3 value=1")
    assert fw.pin_level("PB3") == 1


def test_recording_only_some_pins_drops_the_others_writes():
    """record_gpio_only (the heaters' plants read their pins' writes only):
    the kept pins' writes are those of a full recording, in order."""
    lines = ["config_digital_out oid=%d pin=%s value=0 default_value=0 max_duration=0"
             % (oid, pin) for oid, pin in enumerate(("PA2", "PA3", "PA4"))]
    streams = []
    for keep in (None, ["PA2", "PA4"], []):
        fw = configured(lines)
        fw.take_gpio_events()
        if keep is not None:
            fw.record_gpio_only([fw.pin(p) for p in keep])
        fw.send(*["queue_digital_out oid=%d clock=%d on_ticks=%d" % (oid, (5 + 3 * k + oid) * MS,
                                                                      k % 2)
                  for k in range(4) for oid in range(3)])
        fw.run_until(100 * MS)
        streams.append(fw.take_gpio_events().tolist())
    full, some, none = streams
    assert len(full) == 12
    kept = {fw.pin("PA2"), fw.pin("PA4")}
    assert some == [e for e in full if e[1] in kept]
    assert none == []
