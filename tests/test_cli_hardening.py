"""Regression tests for issue 12's stream and CLI failures: each bad input
gives one `Error: <file:line>: ...` line and the documented exit code
(README "Exit codes"), never a traceback; outputs are atomic; `-` is
stdin/stdout; BOMs, bundled --load names, pin errors with a place,
warnings once per kind."""
import gzip
import json
import os
import random
import tomllib

import pytest
from click.testing import CliRunner

from klipsim.cli import main
from klipsim.sim.execute.stream_clock import StreamClocks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE_GCODE = os.path.join(ROOT, "examples", "example.gcode")
EXAMPLE_CFG = os.path.join(ROOT, "examples", "printer.cfg")
CASE_DIR = os.path.join(ROOT, "golden", "klipper", "cartesian_basic")
FREQ = 180_000_000
HEADER = ["allocate_oids count=3",
          "config_stepper oid=0 step_pin=PF0 dir_pin=PF1 invert_step=0 step_pulse_ticks=360",
          "config_digital_out oid=1 pin=PA2 value=0 default_value=0 max_duration=%d" % FREQ,
          "finalize_config crc=0"]


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def one_error_line(result, *needles):
    """The run failed with exactly one error line holding every needle."""
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [l for l in result.stderr.splitlines() if l.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def stream(tmp_path, lines, name="s.txt"):
    path = tmp_path / name
    path.write_text("\n".join(HEADER + lines) + "\n")
    return path


# ---- execute: streams --------------------------------------------------------

@pytest.mark.parametrize("line, needle", [
    ("queue_step oid=7 interval=100 count=1 add=0", "oid 7 is not a configured stepper"),
    ("set_next_step_dir oid=1 dir=1", "oid 1 is not a configured stepper"),
    ("queue_digital_out oid=0 clock=100 on_ticks=0", "oid 0 is not a configured digital output"),
    ("queue_step oid=0 interval=100 count=65536 add=0", "count=65536 does not fit its type %hu"),
    ("queue_step oid=0 interval=4294967296 count=2 add=0", "interval=4294967296 does not fit"),
    ("queue_step oid=0 interval=100 count=2 add=40000", "add=40000 does not fit its type %hi"),
    ("queue_digital_out oid=1 clock=100 on_ticks=4294967296", "on_ticks=4294967296"),
])
def test_execute_bad_command_is_one_line_with_its_place(tmp_path, line, needle):
    path = stream(tmp_path, [line])
    r = run("execute", path, "--mcu", "stm32f446")
    assert r.exit_code == 1
    text = one_error_line(r, "%s:5: " % path, needle)
    assert text.count(str(path)) == 1          # was `s.txt: s.txt:5: ...`


@pytest.mark.parametrize("data", [b"\x1f\x8b", gzip.compress(b"allocate_oids count=1\n")[:15]])
def test_execute_damaged_gzip_is_one_line(tmp_path, data):
    path = tmp_path / "s.txt.gz"
    path.write_bytes(data)
    r = run("execute", path, "--mcu", "stm32f446")
    assert r.exit_code == 1
    one_error_line(r, str(path), "damaged gzip data")


@pytest.mark.parametrize("raw, needle", [
    ({"config": {"CLOCK_FREQ": None, "MCU": "stm32f446xx"}}, "CLOCK_FREQ None"),
    ({"commands": ["queue_step oid=%c"]}, "'commands' must map"),
    ({"commands": {"queue_step oid=%q": 5}}, "bad parameter 'oid=%q'"),
    ({"commands": {"queue_step oid=%c": "x"}}, "is not a message id"),
    ([1, 2], "JSON object"),
])
def test_execute_bad_dictionary_is_one_line(tmp_path, raw, needle):
    d = tmp_path / "bad.dict"
    d.write_text(json.dumps(raw))
    r = run("execute", stream(tmp_path, []), "--dictionary", d)
    assert r.exit_code == 1
    one_error_line(r, str(d), needle)


def test_execute_dictionary_without_queue_step_names_the_line(tmp_path):
    d = tmp_path / "small.dict"
    d.write_text(json.dumps({"config": {"CLOCK_FREQ": FREQ, "MCU": "stm32f446xx"},
                             "commands": {"allocate_oids count=%c": 10}}))
    path = stream(tmp_path, [])
    r = run("execute", path, "--dictionary", d)
    assert r.exit_code == 1
    one_error_line(r, "%s:2: " % path, "config_stepper")


@pytest.mark.parametrize("lead", ["nan", "inf", "1e9", "-1"])
def test_execute_lead_must_be_finite_and_sane(tmp_path, lead):
    r = run("execute", stream(tmp_path, []), "--mcu", "stm32f446", "--lead-s", lead)
    assert r.exit_code == 2 and "--lead-s" in r.stderr


@pytest.mark.parametrize("cut", [7, 20, 33])
def test_execute_damaged_serial_stream_ends_with_one_line(tmp_path, cut):
    """Damaged binary input: an error line or a run, never a hang."""
    text = stream(tmp_path, ["queue_step oid=0 interval=%d count=3 add=0" % FREQ])
    binary = tmp_path / "s.bin"
    r = run("compile", EXAMPLE_GCODE, "--format", "serial", "-o", binary, "--quiet")
    data = bytearray(binary.read_bytes())
    data[cut] ^= 0x5A
    binary.write_bytes(bytes(data))
    r = run("execute", binary, "--mcu", "stm32f446")
    assert r.exit_code == 1 and text
    one_error_line(r, str(binary), "byte offset")


def test_execute_reads_stdin_and_writes_pulses_to_stdout(tmp_path):
    path = stream(tmp_path, ["queue_step oid=0 interval=%d count=3 add=0" % FREQ])
    r = run("execute", "-", "--mcu", "stm32f446", "--pulses", "-", input=path.read_bytes())
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == ["step_pin,clock,dir", "PF0,%d,0" % FREQ,
                                     "PF0,%d,0" % (2 * FREQ), "PF0,%d,0" % (3 * FREQ)]
    bad = run("execute", "-", "--mcu", "stm32f446", input=b"queue_step oid=9 interval=1"
              b" count=1 add=0\n")
    one_error_line(bad, "<stdin>:1: ")


def test_execute_shutdown_exits_3(tmp_path):
    path = stream(tmp_path, ["queue_step oid=0 interval=1000 count=0 add=0"])
    r = run("execute", path, "--mcu", "stm32f446")
    assert r.exit_code == 3 and "Invalid count parameter" in r.stderr


# ---- the 32-bit clock rule ---------------------------------------------------

def test_stream_clocks_batch_mode_fan_far_ahead():
    """The bundled example's stream: a fan switched on at 14.4 s and off
    at 28.1 s (beyond 2^32 ticks at 180 MHz) before the first step, then
    stepper enables at 0.82 s and, after the steps, at 30.1 s."""
    clocks = StreamClocks()
    assert clocks.extend(12, 36000000) == 36000000
    assert clocks.extend(12, 2599191099) == 2599191099
    assert clocks.extend(12, 764614369) == 764614369 + (1 << 32)
    assert clocks.extend(13, 147831832) == 147831832
    clocks.advance(5401948795)                     # the steps reach 30.0 s
    assert clocks.extend(13, 1125650730) == 1125650730 + (1 << 32)


def test_stream_clocks_live_heater_moves_progress_without_steps():
    clocks = StreamClocks()
    heater = 0
    for _ in range(400):                           # 0.3 s updates, 120 s of heating
        heater += FREQ * 3 // 10
        assert clocks.extend(20, heater & 0xFFFFFFFF) == heater
    fan = heater + FREQ                           # a fan 1 s later, first use
    assert clocks.extend(14, fan & 0xFFFFFFFF) == fan


def test_stream_clocks_wide_jsonl_taken_as_is():
    clocks = StreamClocks(wide=True)
    assert clocks.extend(1, 5 << 32) == 5 << 32
    assert clocks.extend(2, 100, narrow=True) == 100


# ---- compile / simulate / diff -----------------------------------------------

def test_compile_failure_leaves_no_output_and_missing_dir_is_one_line(tmp_path):
    cfg = tmp_path / "printer.cfg"
    cfg.write_text(open(EXAMPLE_CFG).read().replace("[printer]", "[printer]\nfoo: 1"))
    out = tmp_path / "out.txt"
    r = run("compile", EXAMPLE_GCODE, "--config", cfg, "-o", out)
    assert r.exit_code == 1
    one_error_line(r, "printer.cfg")
    assert sorted(os.listdir(tmp_path)) == ["printer.cfg"]
    r = run("compile", EXAMPLE_GCODE, "-o", tmp_path / "nope" / "out.txt")
    assert r.exit_code == 1
    one_error_line(r, "no such directory")


def test_compile_reads_stdin_and_accepts_a_bom(tmp_path):
    plain = run("compile", EXAMPLE_GCODE, "--quiet")
    assert plain.exit_code == 0
    bom = b"\xef\xbb\xbf"
    cfg = tmp_path / "printer.cfg"
    cfg.write_bytes(bom + open(EXAMPLE_CFG, "rb").read())
    r = run("compile", "-", "--config", cfg, "--quiet",
            input=bom + open(EXAMPLE_GCODE, "rb").read())
    assert r.exit_code == 0, r.stderr
    assert r.stdout == plain.stdout
    packed = run("compile", "-", "--quiet", input=gzip.compress(open(EXAMPLE_GCODE, "rb").read()))
    assert packed.exit_code == 0 and packed.stdout == plain.stdout


def test_compile_warnings_once_per_kind_and_quiet_keeps_counts(tmp_path):
    gcode = tmp_path / "w.gcode"
    gcode.write_text("M900 K0\n" * 50 + "M201 X1\nG1 X1.2.3\n")
    r = run("compile", gcode, "-o", tmp_path / "o.txt")
    assert r.exit_code == 1
    warnings = [l for l in r.stderr.splitlines() if l.startswith("warning:")]
    assert warnings == ['warning: w.gcode:1: Unknown command: "M900"',
                        'warning: w.gcode:51: Unknown command: "M201"',
                        'warning: w.gcode:1: Unknown command: "M900" (and 49 more like it)']
    assert "G-code error: w.gcode:52: Unable to parse move" in r.stderr
    assert "G-code errors: 1, warnings: 51" in r.stderr           # the summary
    quiet = run("compile", gcode, "-o", tmp_path / "o.txt", "--quiet")
    assert quiet.exit_code == 1
    assert quiet.stderr.strip() == "G-code errors: 1, warnings: 51 (2 kinds)"


@pytest.mark.parametrize("old, new, needle", [
    ("step_pin: PF13", "step_pin: ^PF13", "Pin '^PF13': pull-up/pull-down ('^') is not allowed"),
    ("enable_pin: !PF14", "enable_pin: 1:PF14", "unknown MCU '1'"),
])
def test_pin_errors_name_their_option(tmp_path, old, new, needle):
    text = open(EXAMPLE_CFG).read()
    assert old in text
    cfg = tmp_path / "printer.cfg"
    cfg.write_text(text.replace(old, new, 1))
    line = text.splitlines().index(old) + 1
    r = run("compile", EXAMPLE_GCODE, "--config", cfg, "-o", tmp_path / "o.txt")
    assert r.exit_code == 1
    one_error_line(r, "printer.cfg:%d: " % line, needle)


def test_simulate_reports_gcode_errors_and_names_objects(tmp_path):
    gcode = tmp_path / "e.gcode"
    gcode.write_text("G28\nG1 X1.2.3\nFOO\nFOO\nG1 X10 Y10 F3000\n")
    report = tmp_path / "r.json"
    r = run("simulate", gcode, "--report", report, "--load", "cpu-hogs-nice0")
    assert r.exit_code == 1, r.output
    assert "G-code error: e.gcode:2: Unable to parse move" in r.stderr
    assert 'warning: e.gcode:3: Unknown command: "FOO" (and 1 more like it)' in r.stderr
    data = json.loads(report.read_text())
    assert data["klipsim_version"] and data["gcode_errors"] == 1
    assert data["load"] == "cpu-hogs-nice0"
    assert data["objects"]["mcu"]["2"] == "stepper_x"


def test_simulate_plot_without_matplotlib_fails_first(tmp_path, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    r = run("simulate", EXAMPLE_GCODE, "--plot", tmp_path / "p.png",
            "--report", tmp_path / "r.json")
    assert r.exit_code == 2 and "matplotlib" in r.stderr
    assert os.listdir(tmp_path) == []


def test_diff_input_error_exits_1(tmp_path):
    bad = tmp_path / "a.txt"
    bad.write_text("queue_step oid=0 interval=1 count=1 add=0\n")
    r = run("diff", bad, bad)
    assert r.exit_code == 1 and "CLOCK_FREQ" in r.stderr


def test_requires_python_matches_tomllib():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        assert tomllib.load(f)["project"]["requires-python"] == ">=3.11"


@pytest.mark.parametrize("keep", [2, 300, 30000])
def test_truncated_gzip_gcode_is_one_line(tmp_path, keep):
    """Was a bare `Aborted!` (an EOFError mid-read) or an AttributeError."""
    rng = random.Random(1)         # incompressible enough: 30 kB is mid-file
    lines = ["G1 X%.3f Y%.3f F6000" % (rng.uniform(50, 150), rng.uniform(50, 150))
             for _ in range(20000)]
    data = gzip.compress(("G28\n" + "\n".join(lines) + "\n").encode())
    assert len(data) > 2 * keep
    path = tmp_path / "in.gcode.gz"
    path.write_bytes(data[:keep])
    for command, output in (("compile", "-o"), ("simulate", "--report")):
        r = run(command, path, "--quiet", output, tmp_path / "out")
        assert r.exit_code == 1, r.stderr
        one_error_line(r, "in.gcode.gz: Unable to", "Compressed file ended")
        assert not (tmp_path / "out").exists()
