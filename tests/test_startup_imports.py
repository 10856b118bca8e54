"""Start-up (issue 10): the plain `klipsim compile` and `klipsim simulate`
of an empty file for the bundled example printer import none of the
heavy modules that are imported where they are used (numpy for random
draws and pulse arrays, jinja2 for macros, matplotlib for --plot,
importlib.metadata, the test and sweep libraries), nor the other mode's
machinery. A child process runs the command and lists sys.modules, so
a new top-level import of one of them fails here, not only in
benchmarks/startup_cpu.py's figure."""
import json
import subprocess
import sys

import pytest

HEAVY = ["numpy", "jinja2", "matplotlib", "scipy", "hypothesis", "dask", "distributed",
         "importlib.metadata", "klipsim.golden.stepdiff"]
NOT_FOR = {"compile": ["klipsim.sim.simulate.simulation", "klipsim.firmware.simulator.mcu",
                       "greenlet", "tomllib",
                       # each dataclass execs generated code (~3 M instructions)
                       # and the module ~4 M; tempfile brings random
                       "dataclasses", "tempfile"],
           "simulate": []}


def _loaded(tmp_path, args):
    """The HEAVY (and mode-foreign) modules a child running `klipsim ARGS`
    had imported when it ended, and its exit code."""
    watch = HEAVY + NOT_FOR[args[0]]
    code = ("import sys\n"
            "from klipsim.cli import main\n"
            "try:\n    main(%r)\nexcept SystemExit as e:\n    code = e.code\n"
            "print(__import__('json').dumps([code, sorted(m for m in %r if m in sys.modules)]))"
            % (args, watch))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["compile", "simulate"])
def test_empty_file_loads_no_heavy_module(tmp_path, mode):
    empty = tmp_path / "empty.gcode"
    empty.write_text("")
    out = tmp_path / "out.txt"
    args = [mode, str(empty), "--quiet"] + (["-o", str(out)] if mode == "compile"
                                            else ["--report", str(out)])
    code, loaded = _loaded(tmp_path, args)
    assert not code
    assert loaded == []
    assert out.stat().st_size > 0       # the config commands / the report


def test_the_watch_sees_a_heavy_import(tmp_path):
    # The same child, once the example printer's run needs a random draw
    # (a load scenario with periodic threads), does import numpy.
    empty = tmp_path / "empty.gcode"
    empty.write_text("")
    code, loaded = _loaded(tmp_path, ["simulate", str(empty), "--quiet", "--load",
                                      "webcam-moonraker", "--report", str(tmp_path / "r")])
    assert not code and "numpy" in loaded


def test_report_version_is_the_installed_one():
    # simulate's report names klipsim.__version__ rather than asking
    # importlib.metadata (start-up); the two, and pyproject.toml, agree.
    import importlib.metadata
    import os
    import tomllib

    import klipsim
    root = os.path.dirname(os.path.abspath(klipsim.__file__))
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        declared = tomllib.load(f)["project"]["version"]
    assert klipsim.__version__ == importlib.metadata.version("klipsim") == declared


def test_dictionary_of_an_unknown_mcu_is_one_line(tmp_path):
    # --dictionary's profile lookup (execute mode's, imported only then)
    # refuses an MCU klipsim has no firmware for with its one-line error.
    from click.testing import CliRunner

    from klipsim import cli
    from klipsim.chelper import msgproto
    from klipsim.firmware.simulator import mcu as fwmcu
    raw = dict(msgproto.load_profile("stm32f446").raw)
    raw["config"] = dict(raw["config"], MCU="frobnicator9000")
    path = tmp_path / "odd.dict"
    path.write_text(json.dumps(raw))
    empty = tmp_path / "empty.gcode"
    empty.write_text("")
    result = CliRunner().invoke(cli.main, ["simulate", str(empty), "--dictionary", str(path),
                                           "--quiet"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (
        "Error: no klipsim firmware profile for MCU 'frobnicator9000' (have: %s)"
        % ", ".join(fwmcu.profile_names()))
