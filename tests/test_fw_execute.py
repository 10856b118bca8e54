"""`klipsim execute`: reference streams run on our firmware give exactly
the stream's steps; crafted streams shut down with the right reason;
output is deterministic."""
import functools

import numpy as np

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from klipsim.chelper import msgproto
from klipsim.cli import main
from klipsim.golden import reference
from klipsim.sim.execute import delivery
from klipsim.sim.execute import executor as execute
from klipsim.sim.execute import pulse_check as execute_check

FREQ = 180_000_000
SMALL_CASES = ["cartesian_homing", "corexy_basic", "multi_extruder_tools", "delta_basic"]


@functools.lru_cache(maxsize=None)
def run_case(name):
    case = reference.case(name)
    dictionary = msgproto.Dictionary.load(case.dictionary)
    checker = execute_check.PulseChecker(case.klipper_output, dictionary)
    result = execute.execute_stream(case.klipper_output, dictionary, on_pulses=checker)
    return case, result, checker


@pytest.mark.parametrize("name", SMALL_CASES + ["user_print_parts"])
def test_reference_case_executes_exactly(name):
    case, result, checker = run_case(name)
    assert result.shutdown_reason is None
    assert checker.ok, "\n".join(checker.report())
    assert result.total_steps == case.meta["total_steps"]
    assert result.late_groups == 0 and result.min_margin_ticks > 0


def test_homing_case_needs_the_trsync_extensions():
    _, result, _ = run_case("cartesian_homing")
    assert result.trsync_extensions > 100


def test_batch_zero_clock_update_is_rescheduled():
    _, result, _ = run_case("user_print_parts")
    assert result.zero_clock_fixes == 1


def write_stream(tmp_path, lines, name="stream.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


HEADER = ["allocate_oids count=3",
          "config_stepper oid=0 step_pin=PF0 dir_pin=PF1 invert_step=0 step_pulse_ticks=360",
          "config_digital_out oid=1 pin=PA2 value=0 default_value=0 max_duration=%d" % FREQ,
          "finalize_config crc=0"]


def run_cli(args):
    return CliRunner().invoke(main, ["execute"] + args)


def test_cli_runs_and_writes_sorted_deterministic_pulses(tmp_path):
    case = reference.case("cartesian_homing")
    outs = []
    for i in range(2):
        out = tmp_path / ("p%d.csv" % i)
        r = run_cli([case.klipper_output, "--dictionary", case.dictionary, "--pulses", str(out)])
        assert r.exit_code == 0, r.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    lines = outs[0].decode().splitlines()
    assert lines[0] == "step_pin,clock,dir"
    rows = [(int(c), p) for p, c, d in (l.split(",") for l in lines[1:])]
    assert rows == sorted(rows)
    assert len(rows) == case.meta["total_steps"]
    assert "387496 steps" in r.output


def test_cli_invalid_count_exits_with_reason(tmp_path):
    path = write_stream(tmp_path, HEADER + ["queue_step oid=0 interval=1000 count=0 add=0"])
    r = run_cli([path, "--mcu", "stm32f446"])
    assert r.exit_code == 3
    assert "MCU shutdown: Invalid count parameter at clock" in r.output


def test_cli_heater_left_on_past_max_duration(tmp_path):
    path = write_stream(tmp_path, HEADER + ["queue_digital_out oid=1 clock=%d on_ticks=1" % FREQ])
    r = run_cli([path, "--mcu", "stm32f446"])
    assert r.exit_code == 3
    assert ("MCU shutdown: Missed scheduling of next digital out event at clock %d"
            % (2 * FREQ)) in r.output


def test_cli_late_first_step_is_timer_too_close(tmp_path):
    # get_clock (no oid) is sent after everything before it: after the
    # update due at 5 s, so the queue_step behind it reaches the idle
    # stepper 4.5 s in, after its first step (1 s) is already past.
    path = write_stream(tmp_path, HEADER + [
        "queue_digital_out oid=1 clock=%d on_ticks=0" % (5 * FREQ),
        "get_clock",
        "queue_step oid=0 interval=%d count=1 add=0" % FREQ])
    r = run_cli([path, "--mcu", "stm32f446"])
    assert r.exit_code == 3
    assert "MCU shutdown: Timer too close at clock %d" % (FREQ * 9 // 2) in r.output


def test_host_never_overflows_the_move_queue(tmp_path):
    moves = ["queue_step oid=0 interval=%d count=1 add=0" % (FREQ // 2)]
    moves += ["queue_step oid=0 interval=%d count=1 add=0" % (FREQ // 10000)] * 3000
    path = write_stream(tmp_path, HEADER + moves)
    result = execute.execute_stream(path, execute.fwmcu.dictionary("stm32f446"),
                                    profile="stm32f446")
    assert result.shutdown_reason is None
    assert result.total_steps == 3001


def test_cli_unsupported_command_is_one_line(tmp_path):
    # an accelerometer: not in klipsim's firmware (firmware/README.md)
    path = write_stream(tmp_path, ["allocate_oids count=2",
                                   "config_spi oid=0 pin=PA4 cs_active_high=0",
                                   "config_adxl345 oid=1 spi_oid=0"])
    case = reference.case("corexy_basic")
    r = run_cli([path, "--dictionary", case.dictionary])
    assert r.exit_code == 1
    assert "config_adxl345 not supported" in r.output
    assert "Traceback" not in r.output


@given(st.integers(0, 1 << 40), st.integers(0, 1 << 31), st.integers(0, 5))
def test_far_step_resolution_adds_whole_wraps(true_clock, naive_back, wraps):
    # a step truly at `true_clock`, sent when the host is near it, whose
    # naive time lost `wraps` times 2^32
    naive = true_clock - wraps * (1 << 32)
    reference_clock = true_clock - naive_back // 2
    assert delivery.resolve_far_step(naive, reference_clock) == true_clock


def test_profile_chosen_by_mcu():
    d = msgproto.Dictionary.load(reference.case("pa_basic").dictionary)
    assert execute.profile_for_dictionary(d) == "stm32f407"


def test_binary_stream_executes_like_its_text(tmp_path):
    from klipsim.chelper import streamio
    case = reference.case("cartesian_homing")
    dictionary = msgproto.Dictionary.load(case.dictionary)
    serial = tmp_path / "stream.bin"
    with open(serial, "wb") as f:
        writer = streamio.StreamWriter(f, "serial", dictionary)
        for name, args in streamio.read_stream(case.klipper_output, dictionary):
            writer.write(name, args)
        writer.close()
    runs = []
    for path in (case.klipper_output, str(serial)):
        collector = execute.PulseCollector()
        result = execute.execute_stream(path, dictionary, on_pulses=collector)
        assert result.shutdown_reason is None
        runs.append(collector.pulses.tobytes())
    assert runs[0] == runs[1] and len(runs[0]) > 0


def test_cli_rejects_negative_lead(tmp_path):
    path = write_stream(tmp_path, HEADER)
    r = run_cli([path, "--mcu", "stm32f446", "--lead-s", "-1"])
    assert r.exit_code == 2 and "--lead-s" in r.output


def test_command_with_a_different_format_is_refused(tmp_path):
    raw = execute.fwmcu.dictionary_json("stm32f446")
    fmt = "queue_step oid=%c interval=%u count=%hu add=%hi"
    raw["commands"]["queue_step oid=%c interval=%u count=%u add=%hi"] = raw["commands"].pop(fmt)
    other = msgproto.Dictionary.from_json(raw)
    path = write_stream(tmp_path, HEADER + ["queue_step oid=0 interval=1000 count=3 add=0"])
    with pytest.raises(execute.ExecuteError, match="count=%u"):
        execute.execute_stream(path, other, profile="stm32f446")


@pytest.mark.parametrize("fault", ["late", "dir", "drop"])
def test_checker_sees_a_one_tick_fault(fault):
    case = reference.case("corexy_basic")
    dictionary = msgproto.Dictionary.load(case.dictionary)
    collector = execute.PulseCollector()
    execute.execute_stream(case.klipper_output, dictionary, on_pulses=collector)
    pulses = collector.pulses.copy()
    i = len(pulses) // 2
    if fault == "late":
        pulses["clock"][i] += 1
    elif fault == "dir":
        pulses["dir"][i] ^= 1
    else:
        pulses = np.delete(pulses, i)
    checker = execute_check.PulseChecker(case.klipper_output, dictionary)
    checker(pulses, collector.pin_names)
    assert not checker.ok


def test_margin_is_due_clock_minus_delivery(tmp_path):
    path = write_stream(tmp_path, HEADER + [
        "queue_digital_out oid=1 clock=%d on_ticks=0" % (2 * FREQ),
        "queue_step oid=0 interval=%d count=3 add=0" % (3 * FREQ)])
    result = execute.execute_stream(path, execute.fwmcu.dictionary("stm32f446"),
                                    profile="stm32f446", lead_s=0.3)
    lead = int(0.3 * FREQ)
    assert result.margins["queue_digital_out"] == lead
    # the queue_step is requested at its stepper's previous step (clock 0)
    assert result.margins["queue_step"] == 3 * FREQ


def test_homing_without_timeout_extension_stops_the_stepper():
    """The reference homing streams rely on the host extending the trsync
    timeout: without it the trsync fires 0.25 s in and the stepper stops."""
    case = reference.case("cartesian_homing")
    dictionary = msgproto.Dictionary.load(case.dictionary)
    result = execute.execute_stream(case.klipper_output, dictionary, extend_trsync=False)
    oid, reason, clock = result.trsync_triggers[0]
    # trsync 1 (stepper_x's), expire_reason=4, at its trsync_set_timeout clock
    assert (oid, reason, clock) == (1, 4, 8000000)
    assert result.total_steps < case.meta["total_steps"]
    assert result.shutdown_reason is None
