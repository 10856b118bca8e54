"""fw_arrive (Firmware.arrive), the MCU node's one C call per arrival of
host bytes, against the calls it replaces (`arrive_reference` below, the
reference model: run to the clock with the node's stop flags, then
receive and read what the firmware wrote, and query the receive losses,
the quiet bound and the clock). Two instances of one profile get the same random
streams, one through each; everything they do must agree."""
import os
import random
import sys

from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import MS, PULSE, configured  # noqa: E402
from test_fw_quiet import _Stream  # noqa: E402

from klipsim.firmware.simulator.mcu import (ARRIVE_TX_MAX, RUN_OUTPUT,  # noqa: E402
                                            RUN_REACHED, RUN_SAMPLE, STOP_OUTPUT,
                                            STOP_SAMPLE)

CONFIG = ["config_stepper oid=0 step_pin=PF0 dir_pin=PF1 invert_step=0"
          " step_pulse_ticks=%d" % PULSE,
          "config_stepper oid=1 step_pin=PF2 dir_pin=PF3 invert_step=0"
          " step_pulse_ticks=%d" % PULSE,
          "config_digital_out oid=2 pin=PA2 value=0 default_value=0"
          " max_duration=%d" % (80 * MS),
          "config_analog_in oid=3 pin=PF4"]
ANALOG = ("query_analog_in", {"oid": 3, "clock": 5 * MS, "sample_ticks": MS // 2,
                              "sample_count": 4, "rest_ticks": 70 * MS,
                              "bytes_per_report": 2, "min_value": 0,
                              "max_value": 30000, "range_check_count": 0})


def arrive_reference(fw, clock, stop, data):
    """What fw.arrive(clock, stop, data) stands for, call by call."""
    state = fw.run(clock, stop)
    if state != RUN_REACHED:
        return state, None, 0, 0, 0
    if fw.is_shutdown:
        return RUN_OUTPUT, None, 0, 0, 0
    fw.receive(data)
    return state, fw.read_output(), fw.rx_overflow, fw.quiet_until, fw.now


def _instance(rx_buffer):
    fw = configured(CONFIG)
    fw.set_adc("PF4", 1000)
    fw.watch_adc("PF4")
    fw.set_adc_valid_until(0)
    if rx_buffer:
        fw.set_rx_buffer(rx_buffer)
    return fw


def _extra(rng):
    """Now and then commands with long answers (identify's data, beyond
    ARRIVE_TX_MAX when several come at once) or a clock query."""
    out = []
    if rng.random() < 0.15:
        out += [("identify", {"offset": 40 * k, "count": 40}) for k in range(8)]
    if rng.random() < 0.1:
        out.append(("get_clock", {}))
    return out


def _run_pair(seed, stop, rx_buffer):
    rng = random.Random(seed)
    ref, fast = _instance(rx_buffer), _instance(rx_buffer)
    framer = _instance(0)          # frames the host's bytes (its own sequence)
    stream = _Stream(rng)
    seen = set()
    messages = [ANALOG]
    while not ref.is_shutdown and ref.now < 1500 * MS:
        clock = ref.now + rng.randrange(0, 15 * MS)
        data = framer.frame(messages + stream.commands(clock) + _extra(rng))
        messages = []
        while True:
            want = arrive_reference(ref, clock, stop, data)
            got = fast.arrive(clock, stop, data)
            assert got == want, (seed, ref.now)
            assert fast.now == ref.now
            seen.add(want[0] if want[1] is None else ("out", len(want[1]) > ARRIVE_TX_MAX))
            if want[2]:
                seen.add("lost")
            if want[0] == RUN_REACHED:
                break
            if want[0] == RUN_SAMPLE:      # a plant would set the value here
                value = rng.randrange(500, 3000)
                until = ref.now + rng.randrange(0, 100 * MS)
                for fw in (ref, fast):
                    fw.set_adc("PF4", value)
                    fw.set_adc_valid_until(until)
            assert fast.read_output() == ref.read_output()
            if ref.is_shutdown:
                break
    assert fast.is_shutdown == ref.is_shutdown
    if ref.is_shutdown:        # bytes reaching a shut-down MCU are not received
        data = framer.frame([("get_clock", {})])
        clock = ref.now + MS
        assert fast.arrive(clock, stop, data) == arrive_reference(ref, clock, stop, data)
        seen.add("shutdown")
    assert fast.shutdown_reason == ref.shutdown_reason
    assert fast.take_pulses().tobytes() == ref.take_pulses().tobytes()
    assert fast.take_gpio_events().tobytes() == ref.take_gpio_events().tobytes()
    return seen


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1),
       stop=st.sampled_from([STOP_OUTPUT | STOP_SAMPLE, STOP_OUTPUT, STOP_SAMPLE]),
       rx_buffer=st.sampled_from([0, 0, 64, 192]))
def test_arrive_equals_the_calls_it_replaces(seed, stop, rx_buffer):
    _run_pair(seed, stop, rx_buffer)


def test_the_streams_reach_every_branch():
    """The random streams stop for output and samples, answer at once,
    with answers too long for the quick buffer, and lose bytes to a
    small receive buffer."""
    seen = set()
    for seed in range(6):
        seen |= _run_pair(seed, STOP_OUTPUT | STOP_SAMPLE, 64 if seed % 2 else 0)
    assert {RUN_OUTPUT, RUN_SAMPLE, ("out", False), ("out", True), "lost",
            "shutdown"} <= seen
