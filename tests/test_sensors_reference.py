"""Thermistor ADC limits and sensor queries equal Klipper's, for every
reference configuration (ground truth: the query_analog_in lines of
golden/klipper/*/klipper.txt)."""
import io
import itertools

import pytest

from klipsim.chelper.msgproto import load_dictionary
from klipsim.golden import reference
from klipsim.host.thermistor import SENSORS, make_thermistor
from klipsim.sim.compile.batch import compile_gcode


def query_lines(text_lines):
    return sorted(l.strip() for l in text_lines if l.startswith("query_analog_in"))


@pytest.mark.parametrize("case", reference.cases(), ids=lambda c: c.name)
def test_sensor_queries_match_klipper(case, tmp_path):
    empty = tmp_path / "empty.gcode"
    empty.write_text("")
    out = io.StringIO()
    compile_gcode(str(empty), case.config, load_dictionary(case.dictionary), out)
    with reference.open_text(case.klipper_output) as f:
        ref = query_lines(itertools.islice(f, 300))
    assert query_lines(out.getvalue().splitlines()) == ref


def test_every_sensor_is_monotonic_in_temperature():
    for name in SENSORS:
        t = make_thermistor(name)
        values = [t.calc_adc(temp) for temp in range(0, 300, 10)]
        assert all(a > b for a, b in zip(values, values[1:])), name
