"""What `simulate --plot` draws: per-second minima per deadline class that
agree with the report's minima, the first arrival of the smallest margin
with its G-code line, per-second run-queue waits that show the spike,
and a title naming the load by its scenario name."""
import os

import pytest

from klipsim.sim.simulate.plot import load_name, spike_windows
from klipsim.sim.simulate.report import build_report
from klipsim.sim.simulate.simulation import SimOptions, simulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQUARE = os.path.join(ROOT, "examples", "sweep-square.gcode")
CONFIG = os.path.join(ROOT, "examples", "printer.cfg")


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    load = tmp_path_factory.mktemp("plot") / "spike-load.toml"
    load.write_text('[[spike]]\nname = "rt-hog"\nat_s = 3.0\nduration_ms = 700\nthreads = 4\n'
                    'policy = "fifo"\npriority = 50\n')
    result = simulate(SQUARE, CONFIG, SimOptions(load=str(load)))
    return result, build_report(result)


def test_per_second_minima_agree_with_the_report(killed):
    result, report = killed
    freq = result.clock_freq
    for klass, bucket in result.margins.per_second.items():
        assert min(bucket.values()) * 1000. / freq == pytest.approx(report["margins_ms"][klass],
                                                                   abs=1e-3)


def test_minimum_is_located_at_the_shutdown(killed):
    result, report = killed
    where = result.timeline["min_margin_at"]["motion"]
    assert where["margin_ms"] == pytest.approx(report["min_margin_ms"], abs=1e-3)
    # the first late command is the smallest margin: it arrived at the shutdown
    assert where["time_s"] == pytest.approx(report["shutdown"]["time_s"], abs=0.01)
    assert where["gcode_line"] == report["shutdown"]["gcode_line"]


def test_runq_waits_per_second_show_the_spike(killed):
    result, report = killed
    klippy = result.timeline["runq_wait_by_s"]["klippy"]
    # the main thread waited the whole 700 ms spike, in second 3
    assert klippy[3] >= 690_000_000
    assert all(w < 10_000_000 for s, w in klippy.items() if s != 3)


def test_spike_windows_and_load_name(tmp_path):
    load = tmp_path / "my-spikes.toml"
    load.write_text('[[spike]]\nname = "hog"\nat_s = 1.0\nevery_s = 2.0\ncount = 3\n'
                    'duration_ms = 250\nthreads = 1\npolicy = "fifo"\npriority = 50\n')
    assert spike_windows(str(load), 10 ** 10) == [(1.0, 1.25, "hog"), (3.0, 3.25, "hog"),
                                                   (5.0, 5.25, "hog")]
    assert load_name(str(load)) == "my-spikes"
    assert load_name(None) == "none"
