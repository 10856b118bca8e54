"""Fuzz test (issue 12): mutations of the bundled G-code, printer.cfg,
command streams (text, serial, jsonl) and TOML files (load, board,
policy) through the `klipsim` commands.  Every run must end with an
exit code in {0, 1, 2, 3}, no traceback, within its time bound, and a
run that stopped with an error leaves no output file (nor a temporary
one).  Deterministic: hypothesis derandomized, a fixed example count
per target (310 runs, about 30 s of CPU; with numeric validation in
place a FUZZ_SCALE=6 hunt of 240 G-code inputs ended 162 with exit 0,
78 with exit 1, no traceback, crash or hang).  For a longer hunt:
FUZZ_SCALE=N multiplies the counts, FUZZ_LOG=FILE logs every run,
FUZZ_HUNT=1 logs failures instead of stopping at the first, and
FUZZ_SUBPROCESS=1 runs each input in a child process.  In the suite the
runs go through click's CliRunner in this process, each with a time and
a memory bound (tests/_fuzz_inputs.py)."""
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _fuzz_inputs import mutate_bytes, mutate_text, run_cli  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE_GCODE = open(os.path.join(ROOT, "examples", "example.gcode")).read()
EXAMPLE_CFG = open(os.path.join(ROOT, "examples", "printer.cfg")).read()
SHORT_GCODE = "G28\nG1 X20 Y20 Z1 F6000\nG1 X40 Y30 E1 F3000\nM106 S128\nG4 P100\n"
TOMLS = {kind: open(os.path.join(ROOT, "sim", "hostcpu", folder, name + ".toml")).read()
         for kind, folder, name in (("load", "loads", "fifo-spikes"),
                                    ("board", "presets", "rpi3"),
                                    ("policy", "policies", "theos"))}
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
TIMEOUT_S = 30.0         # per run; the slowest valid run takes ~3 s
EXIT_CODES = {0, 1, 2, 3}


def fuzz_settings(examples):
    return settings(max_examples=examples * SCALE, derandomize=True, deadline=None,
                    database=None, suppress_health_check=list(HealthCheck))


def check(run, folder, outputs):
    """The fuzz test's four claims about one run (FUZZ_LOG=FILE appends
    each run's exit code and first stderr line there, for the figures)."""
    if os.environ.get("FUZZ_LOG"):
        with open(os.environ["FUZZ_LOG"], "a") as log:
            first = (run.stderr.strip().splitlines() or [""])[0][:150]
            verdict = "HANG" if run.hung else "TRACEBACK" if run.traceback else "-"
            if verdict != "-":
                first = "%s %r %s" % (folder, run.exception, run.stderr[-300:])
            log.write("%s %d %s %s\n" % (os.path.basename(folder).rstrip("0123456789"),
                                         run.exit_code, verdict, first.replace("\n", " | ")))
        if os.environ.get("FUZZ_HUNT"):       # log only: keep going past failures
            return
    assert not run.hung, "hang: %s" % run.stderr[-500:]
    assert not run.traceback, "traceback: %r\n%s" % (run.exception, run.stderr[-2000:])
    assert run.exit_code in EXIT_CODES, (run.exit_code, run.stderr[-500:])
    left = sorted(os.listdir(folder))
    assert not [n for n in left if n.endswith(".part") or ".part." in n], left
    if "Error:" in run.stderr:
        assert not [n for n in outputs if n in left], (left, run.stderr[-500:])


def write(folder, name, data):
    path = os.path.join(folder, name)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path


@pytest.fixture(scope="module")
def streams(tmp_path_factory):
    """The example compiled in every format (the streams to mutate)."""
    folder = tmp_path_factory.mktemp("streams")
    gcode = write(folder, "in.gcode", SHORT_GCODE + EXAMPLE_GCODE.split("; layer 2")[0])
    out = {}
    for fmt in ("text", "serial", "jsonl"):
        path = os.path.join(folder, "s." + fmt)
        run = run_cli(["compile", gcode, "--format", fmt, "-o", path, "--quiet"], TIMEOUT_S)
        assert run.exit_code == 0, run.stderr
        with open(path, "rb") as f:
            out[fmt] = f.read()
    return out


@fuzz_settings(120)
@given(data=st.data())
def test_fuzz_gcode(tmp_path_factory, data):
    folder = str(tmp_path_factory.mktemp("g"))
    gcode = write(folder, "in.gcode", mutate_text(data.draw, EXAMPLE_GCODE))
    run = run_cli(["compile", gcode, "-o", os.path.join(folder, "out.txt")], TIMEOUT_S)
    check(run, folder, ["out.txt"])


@fuzz_settings(100)
@given(data=st.data())
def test_fuzz_config(tmp_path_factory, data):
    folder = str(tmp_path_factory.mktemp("c"))
    cfg = write(folder, "printer.cfg", mutate_text(data.draw, EXAMPLE_CFG))
    gcode = write(folder, "in.gcode", SHORT_GCODE)
    run = run_cli(["compile", gcode, "--config", cfg, "--format", "jsonl",
                   "-o", os.path.join(folder, "out.jsonl")], TIMEOUT_S)
    check(run, folder, ["out.jsonl"])


@fuzz_settings(60)
@given(data=st.data(), fmt=st.sampled_from(["text", "serial", "jsonl"]))
def test_fuzz_stream(streams, tmp_path_factory, data, fmt):
    folder = str(tmp_path_factory.mktemp("s"))
    raw = streams[fmt]
    mutated = (mutate_bytes(data.draw, raw) if fmt == "serial" or data.draw(st.booleans())
               else mutate_text(data.draw, raw.decode()).encode("utf-8", "surrogatepass"))
    path = write(folder, "s." + fmt, mutated)
    run = run_cli(["execute", path, "--mcu", "stm32f446", "--quiet",
                   "--pulses", os.path.join(folder, "p.csv")], TIMEOUT_S)
    check(run, folder, ["p.csv"])


@fuzz_settings(30)
@given(data=st.data(), kind=st.sampled_from(sorted(TOMLS)))
def test_fuzz_toml(tmp_path_factory, data, kind):
    folder = str(tmp_path_factory.mktemp("t"))
    toml = write(folder, kind + ".toml", mutate_text(data.draw, TOMLS[kind]))
    gcode = write(folder, "in.gcode", SHORT_GCODE)
    run = run_cli(["simulate", gcode, "--" + kind, toml, "--quiet",
                   "--report", os.path.join(folder, "r.json")], TIMEOUT_S)
    check(run, folder, ["r.json"])
