"""Property tests (issue 10 item 3): execute's C host side against the
Python it replaced, on random inputs.

- planner: stream_plan.c (through sim/execute/core.ExecCore) against
  delivery.DeliveryPlanner, message by message: the same delivery clock,
  deadline, rewritten clock, error, and the same end clock;
- readers: streamio.read_rows (the C scanner's and msgrows.c's rows)
  against streamio.read_stream on mutated text and serial streams: the
  same messages in the same order, the same error;
- the whole run: executor.execute_stream against the reference loop
  (tests/_execute_reference.py) on mutated reference streams, with a
  small reorder batch and horizon so releases, groups and world changes
  interleave: the same ExecuteResult field by field, or the same error.
"""
import dataclasses
import io
import types
import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from klipsim.chelper import msgproto, streamio
from klipsim.golden import reference
from klipsim.sim.execute import executor
from klipsim.sim.execute.core import ExecCore
from klipsim.sim.execute import pulse_check
from klipsim.sim.execute.delivery import DeliveryError, DeliveryPlanner, \
    queue_step_duration, resolve_far_step

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _execute_reference  # noqa: E402

U32 = 0xFFFFFFFF
SETTINGS = dict(derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


# ---- planner ------------------------------------------------------------------

OIDS = [0, 1, 2, 3, 300, U32]
CLOCKS = st.one_of(st.integers(0, 2 * U32), st.sampled_from([0, 1, U32, 1 << 31]))


def planner_message(draw):
    oid = draw(st.sampled_from(OIDS))
    kind = draw(st.integers(0, 12))
    clock = draw(CLOCKS)
    if kind <= 4:
        return "queue_step", {"oid": oid, "interval": draw(st.integers(0, U32)),
                              "count": draw(st.integers(1, 0xFFFF)),
                              "add": draw(st.integers(-0x8000, 0x7FFF))}
    return [
        ("set_next_step_dir", {"oid": oid, "dir": 1}),
        ("config_stepper", {"oid": oid}),
        ("config_digital_out", {"oid": oid, "max_duration": draw(st.integers(0, U32))}),
        ("queue_digital_out", {"oid": oid, "clock": clock, "on_ticks": 0}),
        ("reset_step_clock", {"oid": oid, "clock": clock}),
        ("endstop_home", {"oid": oid, "clock": clock, "sample_count": draw(st.integers(0, 2)),
                          "trsync_oid": draw(st.sampled_from(OIDS))}),
        ("trsync_start", {"oid": oid, "report_clock": clock}),
        ("allocate_oids", {"count": 4}),
    ][kind - 5]


def plan_python(planner, name, args):
    try:
        ready = planner.plan(name, args)
    except KeyError:
        return ("KeyError",)
    except DeliveryError as e:
        return ("DeliveryError", str(e))
    return ready, planner.deadline, args.get("clock")


def plan_c(core, name, args):
    try:
        if name == "queue_step":
            ready, deadline = core.plan_queue_step(args)
        else:
            ready, deadline = core.plan(name, args)
    except KeyError:
        return ("KeyError",)
    except DeliveryError as e:
        return ("DeliveryError", str(e))
    return ready, deadline, args.get("clock")


@settings(max_examples=150, **SETTINGS)
@given(data=st.data(), wide=st.booleans(), move_count=st.integers(1, 6))
def test_c_planner_matches_delivery_planner(data, wide, move_count):
    lead = data.draw(st.integers(0, 1 << 28))
    python = DeliveryPlanner(move_count, lead, 77, wide_clocks=wide)
    core = ExecCore(move_count, lead, 77, wide, 1000, 1 << 30, 64, 1, 2, True)
    messages = [("config_stepper", {"oid": 0}), ("config_digital_out",
                                                 {"oid": 1, "max_duration": 5})]
    messages += [planner_message(data.draw) for _ in range(data.draw(st.integers(1, 60)))]
    for name, args in messages:
        expected = plan_python(python, name, dict(args))
        assert plan_c(core, name, dict(args)) == expected, (name, args)
        if expected[0] in ("KeyError", "DeliveryError"):
            return
    stats = core.stats()
    assert (stats.end_clock, stats.planned, stats.zero_clock_fixes, stats.progress) == (
        python.end_clock, python.planned, python.zero_clock_fixes, python.progress)


def test_c_planner_error_for_a_move_queue_smaller_than_the_outputs():
    core = ExecCore(1, 0, 0, False, 1, 1, 1, 1, 2, True)
    core.plan("config_stepper", {"oid": 0})
    core.plan("config_digital_out", {"oid": 1, "max_duration": 0})
    with pytest.raises(DeliveryError, match=r"MCU move queue \(1\) smaller than its 1 digital"):
        core.plan_queue_step({"oid": 0, "interval": 10, "count": 2, "add": 0})


# ---- far steps (pulse_check) -----------------------------------------------------

def far_step_shifts_python(queue_steps, starts):
    """The rule of pulse_check's docstring, one queue_step at a time."""
    offset, progress, shifts = {}, 0, []
    for (oid, interval, count, add), start in zip(queue_steps, starts):
        off = offset.get(oid, 0)
        if count == 1:
            naive = start + off + interval
            off += resolve_far_step(naive, progress) - naive
        offset[oid] = off
        shifts.append(off)
        progress = max(progress, start + off + queue_step_duration(interval, count, add))
    return shifts


def test_far_step_shift_by_hand():
    """Stepper 0 runs 3 * (2^32 - 1) ticks; stepper 1's lone step 10 ticks
    after its start is then 2^31 + ... behind: it is 3 wraps later."""
    queue_steps = np.array([[0, U32, 3, 0], [1, 10, 1, 0]], dtype=np.int64)
    programs = {oid: types.SimpleNamespace(start=np.zeros(1, dtype=np.int64),
                                           count=np.ones(1)) for oid in (0, 1)}
    shifts = pulse_check.far_step_shifts(types.SimpleNamespace(queue_steps=queue_steps),
                                         programs)
    assert shifts[0].tolist() == [0] and shifts[1].tolist() == [3 << 32]


@settings(max_examples=100, **SETTINGS)
@given(moves=st.lists(st.tuples(st.integers(0, 2), st.integers(0, U32), st.integers(1, 3),
                                 st.integers(-3, 3)), max_size=40))
def test_far_step_shifts_match_the_rule(moves):
    """sp_far_step_shifts (C) against the rule in Python, on steppers that
    idle for up to several 2^32-tick wraps while others move."""
    queue_steps = np.array([m for m in moves if m[2] > 1 or m[3] == 0]
                           or np.zeros((0, 4)), dtype=np.int64).reshape(-1, 4)
    programs, starts = {}, np.zeros(len(queue_steps), dtype=np.int64)
    for oid in range(3):
        rows = np.flatnonzero(queue_steps[:, 0] == oid)
        q = queue_steps[rows]
        start = np.zeros(len(rows), dtype=np.int64)
        start[1:] = np.cumsum(q[:-1, 2] * q[:-1, 1] + q[:-1, 3] * (q[:-1, 2] * (q[:-1, 2] - 1) // 2))
        starts[rows] = start
        programs[oid] = types.SimpleNamespace(start=start, count=q[:, 2])
    shifts = pulse_check.far_step_shifts(types.SimpleNamespace(queue_steps=queue_steps),
                                         programs)
    got = np.zeros(len(queue_steps), dtype=np.int64)
    for oid in range(3):
        got[queue_steps[:, 0] == oid] = shifts[oid]
    assert got.tolist() == far_step_shifts_python(queue_steps.tolist(), starts.tolist())


# ---- readers --------------------------------------------------------------------

def corpus(name="cartesian_homing"):
    case = reference.case(name)
    dictionary = msgproto.Dictionary.load(case.dictionary)
    with reference.open_text(case.klipper_output) as f:
        return f.read().splitlines(), dictionary


def mutate_lines(draw, lines):
    """A few edits of a stream's lines: a field's value changed (into
    range errors and unconfigured oids), a line dropped, doubled, or made
    into a near-miss of the step-line form."""
    lines = list(lines)
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.integers(0, 5))
        words = lines[i].split(" ")
        if how == 0 and len(words) > 1:
            j = draw(st.integers(1, len(words) - 1))
            key = words[j].split("=")[0]
            words[j] = "%s=%d" % (key, draw(st.sampled_from(
                [0, 1, 7, 255, 256, 65536, U32, U32 + 1, -1, -40000, 10 ** 20])))
            lines[i] = " ".join(words)
        elif how == 1:
            del lines[i]
        elif how == 2:
            lines.insert(i, lines[i])
        elif how == 3:
            lines[i] = lines[i].replace(" ", "  ", 1)
        elif how == 4:
            lines[i] = lines[i] + " extra=1"
        else:
            lines[i] = draw(st.sampled_from(["", "garbage", "queue_step oid=0", "\u00e9t\u00e9"]))
    return lines


def write_stream(path, lines, dictionary, serial, cut=0):
    """The lines as text, or as serial blocks (the messages up to the
    first one the writer refuses; the last `cut` bytes dropped)."""
    if not serial:
        with open(path, "wb") as f:
            f.write("\n".join(lines).encode("utf-8", "surrogatepass"))
        return
    out = io.BytesIO()
    writer = streamio.StreamWriter(out, "serial", dictionary)
    try:
        for name, args in streamio.read_stream(io.StringIO("\n".join(lines)), dictionary):
            writer.write(name, args)
        writer.close()
    except (ValueError, KeyError, OverflowError):
        pass
    data = out.getvalue()
    with open(path, "wb") as f:
        f.write(data[:max(0, len(data) - cut)])


def messages_of(read):
    """[(name, args)] until an error, then ('error', text)."""
    out = []
    try:
        for message in read():
            out.append(message)
    except ValueError as e:
        out.append(("error", str(e)))
    return out


def rows_messages(path, dictionary):
    def read():
        position = streamio.Position()
        for chunk in streamio.read_rows(path, dictionary, position):
            for i in range(len(chunk.rows)):
                yield chunk.message(i)
    return read


@settings(max_examples=40, **SETTINGS)
@given(data=st.data(), serial=st.booleans())
def test_read_rows_matches_read_stream(tmp_path_factory, data, serial):
    lines, dictionary = corpus()
    lines = mutate_lines(data.draw, lines[:400])
    path = str(tmp_path_factory.mktemp("r") / "s")
    write_stream(path, lines, dictionary, serial, cut=data.draw(st.integers(0, 40)))
    expected = messages_of(lambda: streamio.read_stream(path, dictionary))
    assert messages_of(rows_messages(path, dictionary)) == expected


# ---- whole runs -------------------------------------------------------------------

def outcome(run, path, dictionary):
    try:
        result = run(path, dictionary)
    except executor.ExecuteError as e:
        return "error: %s" % e
    fields = dataclasses.asdict(result)
    fields["stepper_order"] = list(result.steppers)
    fields["margin_order"] = list(result.margins)
    return fields


@pytest.fixture
def small_batches(monkeypatch):
    """Releases every few messages, groups of a few ms."""
    monkeypatch.setattr(executor, "REORDER_BATCH", 24)
    monkeypatch.setattr(executor, "REORDER_HORIZON_S", 0.02)
    monkeypatch.setattr(executor, "PACK_WINDOW_S", 0.002)


@settings(max_examples=30, **SETTINGS)
@given(data=st.data(), serial=st.booleans(), case=st.sampled_from(
    ["cartesian_homing", "cartesian_basic", "corexy_basic"]))
def test_execute_matches_the_reference_loop(small_batches, tmp_path_factory, data, serial,
                                            case):
    lines, dictionary = corpus(case)
    lines = mutate_lines(data.draw, lines[:data.draw(st.integers(20, 3000))])
    path = str(tmp_path_factory.mktemp("x") / ("s.bin" if serial else "s.txt"))
    write_stream(path, lines, dictionary, serial)
    expected = outcome(_execute_reference.execute_stream, path, dictionary)
    assert outcome(executor.execute_stream, path, dictionary) == expected


@pytest.mark.parametrize("case", ["cartesian_homing", "corexy_print_cylinder"])
def test_execute_counts_steps_in_c_as_numpy_does(case):
    """The step count without on_pulses (C) equals the one with (numpy)."""
    c = reference.case(case)
    dictionary = msgproto.Dictionary.load(c.dictionary)
    counted = executor.execute_stream(c.klipper_output, dictionary)
    collected = executor.execute_stream(c.klipper_output, dictionary,
                                        on_pulses=executor.PulseCollector())
    assert counted.steppers == collected.steppers
    assert list(counted.steppers) == list(collected.steppers)
    assert counted.total_steps == c.meta["total_steps"]
