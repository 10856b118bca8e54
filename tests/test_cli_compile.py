"""End-to-end `klipsim compile` / `klipsim diff` through the CLI."""
import json

from click.testing import CliRunner

from klipsim.cli import main
from klipsim.golden import reference

CASE = reference.case("cartesian_basic")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def compile_case(tmp_path, fmt, name):
    out = tmp_path / name
    result = run("compile", CASE.gcode, "--config", CASE.config, "--dictionary",
                 CASE.dictionary, "--format", fmt, "-o", out)
    assert result.exit_code == 0, result.output
    return out


def test_serial_output_decodes_to_the_same_steps(tmp_path):
    text = compile_case(tmp_path, "text", "out.txt")
    serial = compile_case(tmp_path, "serial", "out.bin")
    result = run("diff", text, serial, "--dictionary", CASE.dictionary)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("equivalent")
    assert "non-step lines differing: 0" in result.output


def test_jsonl_carries_absolute_clocks(tmp_path):
    out = compile_case(tmp_path, "jsonl", "out.jsonl")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    steps = [r for r in rows if r["cmd"] == "queue_step"]
    assert sum(r["count"] for r in steps) == CASE.meta["total_steps"]
    # req clocks of one stepper never go backwards
    clocks = [r["clock"] for r in steps if r["oid"] == 2 and r["clock"] is not None]
    assert clocks == sorted(clocks)


def test_summary_lists_steps_per_stepper(tmp_path):
    result = CliRunner().invoke(
        main, ["compile", CASE.gcode, "--config", CASE.config, "--dictionary",
               CASE.dictionary, "-o", str(tmp_path / "o.txt")])
    assert result.exit_code == 0
    for name, info in CASE.meta["steppers"].items():
        assert "%s" % name in result.stderr and str(info["total_steps"]) in result.stderr


def test_gcode_errors_name_file_and_line_and_run_goes_on(tmp_path):
    src = tmp_path / "bad.gcode"
    src.write_text("SET_KINEMATIC_POSITION X=10 Y=10 Z=5\nG1 X1.2.3\nG1 X500\nNOPE\nG1 X20\n")
    result = CliRunner().invoke(
        main, ["compile", str(src), "--config", CASE.config, "--dictionary",
               CASE.dictionary, "-o", str(tmp_path / "o.txt")])
    assert result.exit_code == 1
    assert "bad.gcode:2: Unable to parse move" in result.stderr
    assert "bad.gcode:3: Move out of range" in result.stderr
    assert 'bad.gcode:4: Unknown command: "NOPE"' in result.stderr
    assert "queue_step" in (tmp_path / "o.txt").read_text()   # G1 X20 still ran
    assert "Traceback" not in result.stderr


def test_config_errors_are_one_line(tmp_path):
    cfg = tmp_path / "printer.cfg"
    cfg.write_text(open(CASE.config).read().replace(
        "microsteps: 16", "microsteps: 16\nmicrostepz: 4", 1))
    result = CliRunner().invoke(
        main, ["compile", CASE.gcode, "--config", str(cfg), "--dictionary", CASE.dictionary,
               "-o", str(tmp_path / "o.txt")])
    assert result.exit_code != 0
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "microstepz" in message and "stepper_x" in message and "printer.cfg:" in message


def test_default_printer_and_profile(tmp_path):
    """No --config / --dictionary: the bundled example printer on stm32f446."""
    from klipsim.golden import examples
    out = tmp_path / "ex.txt"
    result = run("compile", examples.EXAMPLES_DIR + "/example.gcode", "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert out.read_text() == examples.EXAMPLES[0].render()
