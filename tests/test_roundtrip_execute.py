"""compile -> execute round trips: `klipsim execute` runs every stream
`klipsim compile` writes, in every format (text, serial with the same
dictionary, jsonl with its 64-bit clocks), for the bundled example and
every reference case.  The text run's pulses are checked tick-exact
against the stream's own step programs (PulseChecker); the serial and
jsonl runs must give the very same pulses; no run may shut down, and the
steps executed must be the steps compile reported.  Cases with more than
SMALL steps run in text only (CI time: they are 90 % of the steps)."""
import hashlib
import os
import sys

import pytest
from click.testing import CliRunner

from klipsim.chelper.msgproto import load_dictionary
from klipsim.cli import main
from klipsim.golden import reference
from klipsim.sim.execute import executor as execute
from klipsim.sim.compile.batch import compile_gcode
from klipsim.sim.execute.pulse_check import PulseChecker

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _shared_corpus import (HAVE_SHARED_REFERENCE, SHARED_REFERENCE_DIR,  # noqa: E402
                            requires_shared_reference)

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
FORMATS = ("text", "serial", "jsonl")
SMALL = 1_500_000


class Digest:
    """on_pulses callback: a hash of every pulse, and the count."""

    def __init__(self, then=None):
        self.hash = hashlib.sha256()
        self.count = 0
        self.then = then

    def __call__(self, pulses, pin_names):
        self.hash.update(pulses.tobytes())
        self.count += len(pulses)
        if self.then is not None:
            self.then(pulses, pin_names)


def run_case(case, fmt, tmp_path):
    dictionary = load_dictionary(case.dictionary)
    path = tmp_path / ("%s.%s" % (case.name, fmt))
    with open(path, "wb" if fmt == "serial" else "w") as out:
        compiled = compile_gcode(case.gcode, case.config, dictionary, out, fmt)
    checker = PulseChecker(str(path), dictionary) if fmt == "text" else None
    digest = Digest(checker)
    result = execute.execute_stream(str(path), dictionary, on_pulses=digest)
    assert result.shutdown_reason is None, result.shutdown_reason
    assert sorted(s.steps for s in result.steppers.values()) == \
        sorted(n for n in compiled.steps.values() if n)
    if checker is not None:
        assert checker.ok, checker.report()
    return digest, compiled


def check_all_formats(case, tmp_path, reference_steps=True):
    """reference_steps: compile must match Klipper's step count too
    (the bundled cases; the shared-only ones may use what compile does
    not model yet, which its own tests cover)."""
    formats = FORMATS if case.meta["total_steps"] <= SMALL else ("text",)
    runs = {fmt: run_case(case, fmt, tmp_path) for fmt in formats}
    digests = {fmt: digest for fmt, (digest, _compiled) in runs.items()}
    text = digests["text"]
    if reference_steps:
        assert runs["text"][1].errors == 0
        assert text.count == case.meta["total_steps"]
    for fmt in formats[1:]:
        assert digests[fmt].hash.hexdigest() == text.hash.hexdigest(), fmt


@pytest.mark.parametrize("name", [c.name for c in reference.cases()])
def test_bundled_reference_round_trip(name, tmp_path):
    check_all_formats(reference.case(name), tmp_path)


def _shared_only():
    if not HAVE_SHARED_REFERENCE:
        return []
    bundled = {c.name for c in reference.cases()}
    return [c.name for c in reference.cases(SHARED_REFERENCE_DIR) if c.name not in bundled]


@requires_shared_reference
@pytest.mark.parametrize("name", _shared_only())
def test_shared_reference_round_trip(name, tmp_path):
    from klipsim.host.configfile import ConfigError
    case = reference.case(name, SHARED_REFERENCE_DIR)
    try:
        execute.profile_for_dictionary(load_dictionary(case.dictionary))
    except execute.ExecuteError as e:
        pytest.skip("klipsim has no firmware for this MCU yet: %s" % e)
    try:
        check_all_formats(case, tmp_path, reference_steps=False)
    except ConfigError as e:
        pytest.skip("compile does not model this config yet: %s" % e)
    except execute.ExecuteError as e:
        # e.g. sensors_misc's config_spi (issue 9, item 5: firmware SPI)
        if "not supported by the klipsim firmware" not in str(e):
            raise
        pytest.skip("the firmware lacks a command of this stream yet: %s" % e)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bundled_example_round_trip_through_the_cli(fmt, tmp_path):
    """The README's flow: compile the bundled example, execute what it
    wrote (was: "Timer too close at clock 36000000" and 0 steps, the
    fan command 14 s ahead extended to a negative clock)."""
    runner = CliRunner()
    out = tmp_path / ("example." + fmt)
    r = runner.invoke(main, ["compile", os.path.join(EXAMPLES, "example.gcode"),
                             "--format", fmt, "-o", str(out)])
    assert r.exit_code == 0, r.output
    total = sum(int(line.split()[1]) for line in r.stderr.splitlines()
                if line.strip().endswith(" steps"))
    assert total == 105388 + 82988 + 5840 + 15596
    r = runner.invoke(main, ["execute", str(out), "--mcu", "stm32f446"])
    assert r.exit_code == 0, r.output
    assert "total %d steps" % total in r.stdout
