"""`klipsim diff`: queue_step expansion and stream equivalence verdicts."""
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from klipsim.chelper import msgformat, msgproto, streamio
from klipsim.cli import main
from klipsim.golden import reference, stepdiff

CASE = reference.case("cartesian_basic")           # atmega2560, 16 MHz
CLOCK = CASE.meta["mcu_clock_freq"]
TICKS_PER_US = CLOCK // 1_000_000


def reference_lines():
    with reference.open_text(CASE.klipper_output) as f:
        return f.read().splitlines()


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def diff(tmp_path, lines, tol_us=25.0):
    ref = CASE.klipper_output
    cand = write(tmp_path, "cand.txt", lines)
    return stepdiff.diff_files(ref, cand, CLOCK, tol_us)


def stepper_rows(report):
    return {s.label: s for s in report.steppers}


def parse_queue_step(line):
    _, args = msgformat.parse_text_generic(line)
    return args


def find_queue_step(lines, min_count, start_fraction=0.5):
    """Index of a queue_step line with count >= min_count past a point."""
    for i in range(int(len(lines) * start_fraction), len(lines)):
        if lines[i].startswith("queue_step ") and parse_queue_step(lines[i])["count"] >= min_count:
            return i
    raise AssertionError("no suitable queue_step")


def label_of(lines, oid):
    for line in lines:
        if line.startswith("config_stepper oid=%d " % oid):
            return "oid %d step_pin=%s" % (oid, msgformat.parse_text_generic(line)[1]["step_pin"])
    raise AssertionError(oid)


# -- expansion ---------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 200_000), st.integers(1, 300),
                          st.integers(-200, 200)), min_size=1, max_size=20))
def test_expansion_matches_explicit_sums(moves):
    """Step k of a queue_step is t_prev + sum_{j<=k}(interval + j*add)."""
    lines = ["queue_step oid=0 interval=%d count=%d add=%d" % m for m in moves]
    program = stepdiff.build_programs(stepdiff.steps_from_text("\n".join(lines)))[0]
    expected = []
    t = 0
    for interval, count, add in moves:
        t_prev = t
        for k in range(count):
            t += interval + k * add
            # closed form of the sum over j <= k
            assert t == t_prev + (k + 1) * interval + add * k * (k + 1) // 2
            expected.append(t)
    total = len(expected)
    times, _ = stepdiff.step_times(program, 0, total)
    assert times.tolist() == expected
    # any window gives the same times as the whole
    a, b = total // 3, total - total // 4
    assert stepdiff.step_times(program, a, b)[0].tolist() == expected[a:b]


def test_reset_step_clock_and_directions():
    lines = ["set_next_step_dir oid=1 dir=1",
             "queue_step oid=1 interval=100 count=2 add=10",      # 100, 210
             "reset_step_clock oid=1 clock=5000",
             "set_next_step_dir oid=1 dir=0",
             "queue_step oid=1 interval=7 count=1 add=0"]          # 5007
    program = stepdiff.build_programs(stepdiff.steps_from_text("\n".join(lines)))[1]
    times, dirs = stepdiff.step_times(program, 0, 3)
    assert times.tolist() == [100, 210, 5007] and dirs.tolist() == [1, 1, 0]


def test_reference_last_step_clocks_match_meta():
    """Independent check against the corpus: meta.json's per-stepper
    totals, signed net steps and clock of the last step."""
    for case in (CASE, reference.case("cartesian_homing"), reference.case("delta_arcs")):
        programs = stepdiff.build_programs(stepdiff.read_steps(case.klipper_output))
        for info in case.meta["steppers"].values():
            program = programs[info["oid"]]
            n = program.total_steps
            assert n == info["total_steps"]
            assert int(stepdiff.step_times(program, n - 1, n)[0][0]) == info["last_step_clock"]
            net = int(np.where(program.direction == 1, program.count, -program.count).sum())
            assert net == info["net_steps_dir1_positive"]


# -- verdicts ----------------------------------------------------------------

def test_stream_equivalent_to_itself(tmp_path):
    report = diff(tmp_path, reference_lines())
    assert report.equivalent and report.worst_us == 0
    assert report.total_steps == CASE.meta["total_steps"]
    assert report.other.differing == 0 and len(report.steppers) == 4


def move_one_step(lines, shift_ticks):
    """Move the second step of one queue_step by shift_ticks, others kept:
    (I, C, A) -> (I, 1, 0) (I+A+d, 1, 0) (I+2A-d, 1, 0) (I+3A, C-3, A)."""
    i = find_queue_step(lines, 4)
    q = parse_queue_step(lines[i])
    oid, interval, count, add = q["oid"], q["interval"], q["count"], q["add"]
    new = ["queue_step oid=%d interval=%d count=1 add=0" % (oid, interval),
           "queue_step oid=%d interval=%d count=1 add=0" % (oid, interval + add + shift_ticks),
           "queue_step oid=%d interval=%d count=1 add=0" % (oid, interval + 2 * add - shift_ticks),
           "queue_step oid=%d interval=%d count=%d add=%d" % (oid, interval + 3 * add,
                                                             count - 3, add)]
    return lines[:i] + new + lines[i + 1:], oid


def test_one_step_moved_30us_is_not_equivalent(tmp_path):
    lines = reference_lines()
    changed, oid = move_one_step(lines, 30 * TICKS_PER_US)
    report = diff(tmp_path, changed)
    assert not report.equivalent
    bad = [s for s in report.steppers if not s.equivalent()]
    assert [s.label for s in bad] == [label_of(lines, oid)]
    assert bad[0].steps_over_tol == 1 and bad[0].worst_ticks == 30 * TICKS_PER_US
    assert bad[0].first_bad_step == bad[0].worst_step
    assert bad[0].worst_us == pytest.approx(30.0)
    assert report.verdict().startswith("NOT equivalent:") and label_of(lines, oid) in report.verdict()


def test_step_moved_within_tolerance_is_equivalent(tmp_path):
    changed, _ = move_one_step(reference_lines(), 20 * TICKS_PER_US)
    report = diff(tmp_path, changed)
    assert report.equivalent and report.worst_us == pytest.approx(20.0)


def _last_step_clock(lines, oid):
    """Clock of the last step of `oid` in lines, by explicit summation."""
    t = 0
    for line in lines:
        if line.startswith("queue_step oid=%d " % oid):
            q = parse_queue_step(line)
            for k in range(q["count"]):
                t += q["interval"] + k * q["add"]
    return t


def test_one_direction_flipped_is_not_equivalent(tmp_path):
    lines = reference_lines()
    i = find_queue_step(lines, 2)
    q = parse_queue_step(lines[i])
    oid = q["oid"]
    current = 0
    for line in lines[:i]:
        if line.startswith("set_next_step_dir oid=%d " % oid):
            current = msgformat.parse_text_generic(line)[1]["dir"]
    new = ["set_next_step_dir oid=%d dir=%d" % (oid, 1 - current),
           "queue_step oid=%d interval=%d count=1 add=0" % (oid, q["interval"]),
           "set_next_step_dir oid=%d dir=%d" % (oid, current),
           "queue_step oid=%d interval=%d count=%d add=%d" % (oid, q["interval"] + q["add"],
                                                             q["count"] - 1, q["add"])]
    report = diff(tmp_path, lines[:i] + new + lines[i + 1:])
    bad = [s for s in report.steppers if not s.equivalent()]
    assert [s.label for s in bad] == [label_of(lines, oid)]
    assert bad[0].dir_mismatches == 1 and bad[0].worst_ticks == 0
    assert bad[0].first_bad_clock == q["interval"] + _last_step_clock(lines[:i], oid)
    assert not report.equivalent


def test_one_step_dropped_is_not_equivalent(tmp_path):
    lines = reference_lines()
    i = find_queue_step(lines, 2)
    q = parse_queue_step(lines[i])
    lines2 = list(lines)
    lines2[i] = "queue_step oid=%d interval=%d count=%d add=%d" % (
        q["oid"], q["interval"], q["count"] - 1, q["add"])
    report = diff(tmp_path, lines2)
    bad = [s for s in report.steppers if not s.equivalent()]
    assert [s.label for s in bad] == [label_of(lines, q["oid"])]
    assert bad[0].cand_steps == bad[0].ref_steps - 1


def test_reordering_across_oids_is_not_a_difference(tmp_path):
    lines = reference_lines()
    # swap two neighbouring non-step lines of different oids
    for i in range(len(lines) - 1):
        a, b = lines[i], lines[i + 1]
        if (a.startswith("queue_digital_out") and b.startswith("queue_digital_out")
                and a.split()[1] != b.split()[1]):
            break
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    report = diff(tmp_path, lines)
    assert report.equivalent
    assert report.other.differing == 0 and report.other.by_position == 2
    # a changed non-step line is counted
    lines[i] = lines[i].replace("on_ticks=", "on_ticks=9")
    report = diff(tmp_path, lines)
    assert report.other.differing == 1 and report.equivalent


def test_serial_candidate_against_text_reference(tmp_path):
    dictionary = msgproto.load_profile("atmega2560")
    out = io.BytesIO()
    writer = streamio.StreamWriter(out, "serial", dictionary)
    for name, args in streamio.read_stream(CASE.klipper_output, dictionary):
        writer.write(name, args)
    writer.close()
    cand = tmp_path / "cand.bin"
    cand.write_bytes(out.getvalue())
    result = CliRunner().invoke(main, ["diff", CASE.klipper_output, str(cand),
                                       "--mcu", "atmega2560"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("equivalent: 4 steppers, 70530 steps")
    # a candidate written with other message ids needs its own dictionary
    raw = dict(dictionary.raw)
    raw["commands"] = {fmt: msgid + 7 for fmt, msgid in raw["commands"].items()}
    shifted = msgproto.Dictionary.from_json(raw)
    out = io.BytesIO()
    writer = streamio.StreamWriter(out, "serial", shifted)
    for name, args in streamio.read_stream(CASE.klipper_output, dictionary):
        writer.write(name, args)
    writer.close()
    cand.write_bytes(out.getvalue())
    dict_path = tmp_path / "shifted.dict"
    dict_path.write_text(json.dumps(raw))
    result = CliRunner().invoke(main, ["diff", CASE.klipper_output, str(cand),
                                       "--cand-dictionary", str(dict_path)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["diff", CASE.klipper_output, str(cand)])
    assert result.exit_code != 0


def test_cli_exit_codes_and_verdict_line(tmp_path):
    changed, _ = move_one_step(reference_lines(), 30 * TICKS_PER_US)
    cand = write(tmp_path, "cand.txt", changed)
    runner = CliRunner()
    # CLOCK_FREQ found through the case's meta.json next to REF
    same = runner.invoke(main, ["diff", CASE.klipper_output, CASE.klipper_output])
    assert same.exit_code == 0 and same.output.splitlines()[-1].startswith("equivalent:")
    bad = runner.invoke(main, ["diff", CASE.klipper_output, cand])
    assert bad.exit_code == 1 and bad.output.splitlines()[-1].startswith("NOT equivalent:")
    loose = runner.invoke(main, ["diff", CASE.klipper_output, cand, "--tol-us", "31", "--json"])
    assert loose.exit_code == 0 and '"equivalent": true' in loose.output
    nofreq = runner.invoke(main, ["diff", cand, cand])
    assert nofreq.exit_code == 1 and "CLOCK_FREQ" in nofreq.output


# -- the C text scanner ------------------------------------------------------

def test_scanner_matches_python_parse_of_reference():
    case = reference.case("cartesian_homing")
    steps = stepdiff.read_steps(case.klipper_output)
    rows, dirs, others, count = [], [], [], 0
    with reference.open_text(case.klipper_output) as f:
        for line in f:
            name, args = msgformat.parse_text_generic(line)
            if name == "queue_step":
                rows.append([args["oid"], args["interval"], args["count"], args["add"]])
                count += 1
            elif name == "set_next_step_dir":
                dirs.append((args["oid"], count, args["dir"]))
            else:
                others.append((args.get("oid"), line.strip()))
    assert steps.queue_steps.tolist() == rows
    assert steps.dir_events == dirs and steps.other_lines == others


def test_scanner_odd_lines_and_errors():
    text = ("\n  \nset_next_step_dir oid=3  dir=1\r\n"         # odd spacing: Python path
            "queue_step oid=3 interval=10 count=2 add=1\r\n"
            "reset_step_clock oid=3 clock=100\n"
            "queue_step oid=3 interval=5 count=1 add=0")     # no final newline
    steps = stepdiff.steps_from_text(text)
    assert steps.queue_steps.tolist() == [[3, 10, 2, 1], [3, 5, 1, 0]]
    assert steps.dir_events == [(3, 0, 1)] and steps.reset_events == [(3, 1, 100)]
    program = stepdiff.build_programs(steps)[3]
    assert stepdiff.step_times(program, 0, 3)[0].tolist() == [10, 21, 105]
    with pytest.raises(ValueError, match=r"<text>:2: unusual queue_step"):
        stepdiff.steps_from_text("get_clock\nqueue_step oid=1 interval=x count=1 add=0\n")
