"""klipsim simulate timing verdicts: FIFO spikes on every core against
the motion lead (KLIPPER-FACTS 2.2, 2.5, 7), monotone margins, the G-code
line at the shutdown, and byte-identical reports for the same seed."""
import os

import pytest

from klipsim.host.configfile import ConfigError
from klipsim.sim.simulate.report import build_report, dumps
from klipsim.sim.simulate.simulation import SimOptions, SimulateError, simulate

REF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "golden", "klipper")
GCODE = os.path.join(REF, "cartesian_basic", "input.gcode")
CONFIG = os.path.join(REF, "cartesian_basic", "printer.cfg")
PROFILE = "atmega2560"
RPI3_CORES = 4
# FACTS 7: steps reach the serial queue 0.40-0.65 s ahead of the MCU, and
# a partly filled block is held until 0.100 s before it is due. A spike
# that takes every core for longer than the largest lead must starve the
# MCU; one shorter than the smallest hold cannot.
LONGER_THAN_LEAD_MS = 700
SHORTER_THAN_HOLD_MS = 50


def spike_file(tmp_path, duration_ms, at_s=5.0, name="spike"):
    path = tmp_path / ("%s_%d_%s.toml" % (name, duration_ms, str(at_s).replace(".", "_")))
    path.write_text('[[spike]]\nname = "hog"\nat_s = %r\nduration_ms = %d\nthreads = %d\n'
                    'policy = "fifo"\npriority = 50\n' % (at_s, duration_ms, RPI3_CORES))
    return str(path)


def run(load=None, **kw):
    return simulate(GCODE, CONFIG, SimOptions(profile=PROFILE, load=load, **kw))


def motion_margin_ms(result):
    return result.margins.minimum["motion"] * 1000. / result.clock_freq


def test_spike_longer_than_the_motion_lead_kills(tmp_path):
    result = run(spike_file(tmp_path, LONGER_THAN_LEAD_MS))
    assert result.shutdown is not None
    assert result.shutdown["reason"] == "Timer too close"
    # the late command arrives when the spike ends, not before it started
    assert 5.0 < result.shutdown["time_s"] < 5.0 + LONGER_THAN_LEAD_MS / 1000. + 0.05
    assert build_report(result)["verdict"] == "shutdown"


def test_spike_shorter_than_the_block_hold_survives(tmp_path):
    result = run(spike_file(tmp_path, SHORTER_THAN_HOLD_MS))
    assert result.shutdown is None
    assert motion_margin_ms(result) > 0.


def test_margins_shrink_monotonically_as_the_spike_grows(tmp_path):
    margins = [motion_margin_ms(run(spike_file(tmp_path, d) if d else None))
               for d in (0, 100, 200, 250, 300, 400)]
    assert all(b <= a for a, b in zip(margins, margins[1:])), margins
    # beyond the slack every extra ms of spike is an ms of margin lost
    assert margins[-1] == pytest.approx(margins[-2] - 100., abs=1.)
    assert margins[-1] < 0 < margins[0]


def test_the_gcode_line_at_the_shutdown_is_reported(tmp_path):
    early = run(spike_file(tmp_path, 500, at_s=3.0)).shutdown
    late = run(spike_file(tmp_path, 500, at_s=8.0)).shutdown
    lines = open(GCODE).read().splitlines()
    numbers = []
    for info in (early, late):
        source, number = info["gcode_line"].rsplit(":", 1)
        assert source == "input.gcode"
        numbers.append(int(number))
        assert 1 <= numbers[-1] <= len(lines)
    assert numbers[0] < numbers[1]
    assert early["time_s"] < late["time_s"]
    assert early["starved_thread"] is not None
    assert early["starved_thread"]["waiting_ms"] > 400.


def test_same_seed_same_report_bytes(tmp_path):
    load = os.path.join(os.path.dirname(REF), "..", "sim", "hostcpu", "loads", "webcam-moonraker.toml")
    a = dumps(build_report(run(load, seed=7)))
    b = dumps(build_report(run(load, seed=7)))
    c = dumps(build_report(run(load, seed=8)))
    assert a == b
    assert a != c            # the seed moves the load's phases


def test_a_second_mcu_is_a_one_line_error(tmp_path):
    cfg = tmp_path / "two.cfg"
    cfg.write_text(open(CONFIG).read() + "\n[mcu other]\nserial: /dev/null\n")
    with pytest.raises((SimulateError, ConfigError)) as e:
        simulate(GCODE, str(cfg), SimOptions(profile=PROFILE))
    assert "\n" not in str(e.value)


def test_late_command_and_the_stage_that_held_it(tmp_path):
    """All cores taken: the command was queued before the spike and the
    serial thread could not send it. Only the main thread's core taken
    (main pinned to CPU 0 by the policy): the steps were generated late."""
    shutdown = run(spike_file(tmp_path, 600)).shutdown
    late = shutdown["late_command"]
    assert late["name"] == "queue_step" and late["margin_ms"] < 0
    assert late["queued_s"] < 5.0 < late["sent_s"]
    assert late["held_by"] == "serialq"
    assert shutdown["starved_thread"]["name"] == "serialq mcu"

    policy = tmp_path / "pinned.toml"
    policy.write_text("[threads.main]\ncpus = [0]\n")
    load = tmp_path / "cpu0.toml"
    load.write_text('[[spike]]\nname = "hog"\nat_s = 5.0\nduration_ms = 900\nthreads = 1\n'
                    'policy = "fifo"\npriority = 50\ncpus = [0]\n')
    shutdown = run(str(load), policy=str(policy)).shutdown
    assert shutdown is not None and shutdown["reason"] == "Timer too close"
    late = shutdown["late_command"]
    assert late["held_by"] == "main"
    assert late["queued_s"] > 5.0
    assert shutdown["starved_thread"]["name"] == "klippy"
