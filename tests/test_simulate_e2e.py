"""klipsim simulate end to end: reference prints with no load, the stream
the simulated host sent against the pulses the firmware executed, and
against `klipsim compile` of the same input."""
import io
import os

import numpy as np
import pytest

from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.golden import stepdiff
from klipsim.host.mcu import MAX_STEPCOMPRESS_ERROR
from klipsim.sim.compile.batch import compile_gcode
from klipsim.sim.simulate.simulation import SimOptions, simulate

REF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "golden", "klipper")
CASES = [("cartesian_basic", "atmega2560"), ("corexy_basic", "stm32f446")]


def case_paths(case):
    folder = os.path.join(REF, case)
    gcode = os.path.join(folder, "input.gcode")
    if not os.path.exists(gcode):
        gcode += ".gz"
    return gcode, os.path.join(folder, "printer.cfg")


@pytest.fixture(scope="module", params=CASES, ids=[c for c, _ in CASES])
def run(request):
    case, profile = request.param
    gcode, config = case_paths(case)
    result = simulate(gcode, config, SimOptions(profile=profile, record_stream=True))
    return case, profile, result


def sent_programs(result, profile):
    """Step programs of the stream the simulated host sent (parsed back
    from its parsedump text with the firmware's dictionary)."""
    d = fwmcu.dictionary(profile)
    text = "\n".join(d.format_text(n, a) for n, a in result.stream) + "\n"
    steps = stepdiff.steps_from_text(text, d.parse_text)
    return steps, stepdiff.build_programs(steps)


def pulses_by_pin(result):
    out = {}
    for pin, name in result.pin_names.items():
        mine = result.pulses[result.pulses["pin"] == pin]
        if len(mine):
            out[name] = mine
    return out


def sent_and_executed(result, profile):
    """[(program, step clocks, dirs, executed pulses)] per stepper with
    steps in the sent stream; the pulse count is checked here."""
    _steps, programs = sent_programs(result, profile)
    executed = pulses_by_pin(result)
    out = []
    for program in programs.values():
        if program.total_steps:
            times, dirs = stepdiff.step_times(program, 0, program.total_steps)
            pulses = executed[program.step_pin]
            assert len(pulses) == len(times), program.label
            out.append((program, times, dirs, pulses))
    return out


def test_no_load_is_ok_with_positive_margins(run):
    _case, _profile, result = run
    assert result.shutdown is None
    present = [m for m in result.margins.minimum.values() if m is not None]
    assert result.margins.minimum["motion"] is not None
    assert min(present) > 0
    # FACTS 2.5/7: partly filled blocks are held until MIN_REQTIME_DELTA
    # (100 ms) before they are due, so the motion margin ends up just
    # under 100 ms, never far above (the lead is spent waiting).
    motion_ms = result.margins.minimum["motion"] * 1000. / result.clock_freq
    assert 90. < motion_ms < 101.
    assert result.link.retransmits == 0


def test_pulses_equal_the_sent_stream_tick_exact(run):
    _case, profile, result = run
    checked = 0
    for program, times, dirs, pulses in sent_and_executed(result, profile):
        assert np.array_equal(pulses["clock"].astype(np.int64), times), program.label
        assert np.array_equal(pulses["dir"].astype(np.int8), dirs), program.label
        checked += 1
    assert checked >= 4


def test_step_equivalent_to_compile(run):
    case, profile, result = run
    gcode, config = case_paths(case)
    out = io.StringIO()
    compile_gcode(gcode, config, fwmcu.dictionary(profile), out)
    compiled = stepdiff.build_programs(stepdiff.steps_from_text(
        out.getvalue(), fwmcu.dictionary(profile).parse_text))
    _steps, sent = sent_programs(result, profile)
    by_pin = {p.step_pin: p for p in compiled.values()}
    assert set(by_pin) == {p.step_pin for p in sent.values()}
    for program in sent.values():
        ref = by_pin[program.step_pin]
        assert program.total_steps == ref.total_steps, program.label
        _t, d_sim = stepdiff.step_times(program, 0, program.total_steps)
        _t, d_ref = stepdiff.step_times(ref, 0, ref.total_steps)
        assert np.array_equal(d_sim, d_ref), program.label


def test_step_times_follow_compile_within_the_compression_error(run):
    """With no load the live host moves exactly as batch mode does on
    these prints (no look-ahead runout in either), only later by the
    host's start-up delay: every step is at the compiled time plus one
    common offset, give or take the step compressor's max_error (25 us,
    stepper.py), since each compressed step lies within max_error of its
    ideal time and the two runs compress at different flush points."""
    case, profile, result = run
    gcode, config = case_paths(case)
    out = io.StringIO()
    d = fwmcu.dictionary(profile)
    compile_gcode(gcode, config, d, out)
    compiled = stepdiff.build_programs(stepdiff.steps_from_text(out.getvalue(), d.parse_text))
    by_pin = {p.step_pin: p for p in compiled.values()}
    _steps, sent = sent_programs(result, profile)
    max_error = int(MAX_STEPCOMPRESS_ERROR * result.clock_freq)
    offsets = set()
    for program in sent.values():
        if not program.total_steps:
            continue
        t_sim, _d = stepdiff.step_times(program, 0, program.total_steps)
        t_ref, _d = stepdiff.step_times(by_pin[program.step_pin], 0, program.total_steps)
        delta = t_sim - t_ref
        offset = int(np.median(delta))
        offsets.add(offset)
        assert np.abs(delta - offset).max() <= max_error + 1, program.label
    assert len(offsets) == 1
    offset_s = offsets.pop() / result.clock_freq
    assert 0. <= offset_s < 0.001      # start-up work before the first move


def test_reference_counts_match_klipper(run):
    """The executed pulses per stepper equal Klipper's own batch output."""
    case, _profile, result = run
    import json
    meta = json.load(open(os.path.join(REF, case, "meta.json")))
    assert len(result.pulses) == meta["total_steps"]


def test_homing_reference_runs_with_trsync_extensions():
    """G28 through the simulated link: drip moves pause the main thread
    until 0.1 s before each segment, the serial thread's trsync fastreader
    extends every armed trsync (a report of a previous arming is not
    answered: it would cut the new one short), and every step Klipper
    makes is executed."""
    import json
    gcode, config = case_paths("cartesian_homing")
    result = simulate(gcode, config, SimOptions(profile="atmega2560", keep_pulses=False))
    assert result.shutdown is None
    meta = json.load(open(os.path.join(REF, "cartesian_homing", "meta.json")))
    assert sum(p["steps"] for p in result.pulse_counts.values()) == meta["total_steps"]
    homing = result.margins.minimum["homing"]
    assert homing is not None and homing > 0
    assert result.margins.counts["homing"] > 100     # the extensions


class _TrsyncStub:
    """Just what SerialQueue's trsync fastreader touches."""

    def __init__(self):
        self.trsync_floor, self.trsync_timeout, self.sent = {}, {}, []

    def enqueue(self, messages):
        self.sent.extend(messages)


def test_trsync_extended_across_the_32_bit_half_range():
    """Reports of one arming keep being answered for longer than 2^31
    ticks (12 s at 180 MHz); a report older than the arming is not."""
    from klipsim.sim.link.serial_link import SerialQueue
    q = _TrsyncStub()
    start, timeout, step = 1_000_000, 45_000_000, 13_500_000
    q.trsync_floor[1], q.trsync_timeout[1] = start, timeout
    SerialQueue._fastread_trsync(q, {"oid": 1, "can_trigger": 1, "clock": start - step})
    assert q.sent == []                      # the previous arming's report
    clock = start
    for _ in range(400):                     # 400 x 75 ms = 30 s > 2^31 ticks
        clock = (clock + step) & 0xFFFFFFFF
        SerialQueue._fastread_trsync(q, {"oid": 1, "can_trigger": 1, "clock": clock})
    assert len(q.sent) == 400
    assert q.sent[-1][1]["clock"] == (clock + timeout) & 0xFFFFFFFF
