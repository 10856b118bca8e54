"""`klipsim simulate` on the command line: exit codes, report file,
pulses file, one-line errors; and the wire options (USB frames, faults)."""
import json
import os

from click.testing import CliRunner

from klipsim.cli import main
from klipsim.sim.simulate.simulation import SimOptions, simulate

REF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "golden", "klipper")
GCODE = os.path.join(REF, "cartesian_basic", "input.gcode")
CONFIG = os.path.join(REF, "cartesian_basic", "printer.cfg")


def invoke(*args):
    return CliRunner().invoke(main, ["simulate", GCODE, "--config", CONFIG,
                                     "--mcu", "atmega2560"] + list(args))


def test_ok_exit_0_report_and_pulses(tmp_path):
    report, pulses = tmp_path / "r.json", tmp_path / "p.csv"
    result = invoke("--report", str(report), "--pulses", str(pulses))
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    for key in ("verdict", "shutdown", "min_margin_ms", "margins_ms", "threads", "link"):
        assert key in data
    assert data["verdict"] == "ok" and data["shutdown"] is None
    assert set(data["margins_ms"]) == {"motion", "heater_pwm", "pins", "homing"}
    assert data["min_margin_ms"] == min(v for v in data["margins_ms"].values() if v is not None)
    for name in ("klippy", "serialq mcu", "serialhdl mcu", "stepper_x", "queuelogger",
                 "kworker/tty"):
        assert data["threads"][name]["cpu_s"] > 0.
    lines = pulses.read_text().splitlines()
    assert lines[0] == "step_pin,clock,dir"
    assert len(lines) - 1 == sum(p["steps"] for p in data["pulses"].values())
    assert "verdict: ok" in result.stderr


def test_stream_file_holds_what_was_executed(tmp_path):
    """--stream writes the sent commands as compile's text; rebuilt into
    step programs they give exactly the executed pulses of --pulses."""
    import numpy as np
    from klipsim.firmware.simulator import mcu as fwmcu
    from klipsim.golden import stepdiff
    stream, pulses = tmp_path / "s.txt", tmp_path / "p.csv"
    result = invoke("--stream", str(stream), "--pulses", str(pulses), "--quiet")
    assert result.exit_code == 0, result.output
    d = fwmcu.dictionary("atmega2560")
    programs = stepdiff.build_programs(stepdiff.steps_from_text(stream.read_text(), d.parse_text))
    rows = np.genfromtxt(str(pulses), delimiter=",", skip_header=1, dtype=None, encoding=None)
    checked = 0
    for program in programs.values():
        if not program.total_steps:
            continue
        times, dirs = stepdiff.step_times(program, 0, program.total_steps)
        mine = [r for r in rows if r[0] == program.step_pin]
        assert [int(r[1]) for r in mine] == times.tolist(), program.label
        assert [int(r[2]) for r in mine] == dirs.tolist(), program.label
        checked += 1
    assert checked == 4


def test_shutdown_exit_3(tmp_path):
    load = tmp_path / "spike.toml"
    load.write_text('[[spike]]\nname = "hog"\nat_s = 5.0\nduration_ms = 800\nthreads = 4\n'
                    'policy = "fifo"\npriority = 50\n')
    result = invoke("--load", str(load), "--quiet")
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert data["verdict"] == "shutdown"
    assert data["shutdown"]["reason"] == "Timer too close"
    assert data["min_margin_ms"] < 0


def test_bad_board_is_one_line_error():
    result = invoke("--board", "no-such-board")
    assert result.exit_code not in (0, 3)
    assert "no-such-board" in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_usb_transport_runs_ok_and_same_pulses():
    uart = simulate(GCODE, CONFIG, SimOptions(profile="atmega2560"))
    usb = simulate(GCODE, CONFIG, SimOptions(profile="atmega2560", transport="usb"))
    assert usb.shutdown is None
    assert len(usb.pulses) == len(uart.pulses)
    assert (usb.pulses["clock"] == uart.pulses["clock"]).all()


def test_line_faults_cause_retransmits_and_nothing_runs_twice():
    clean = simulate(GCODE, CONFIG, SimOptions(profile="atmega2560"))
    noisy = simulate(GCODE, CONFIG, SimOptions(profile="atmega2560", fault_corrupt=1e-4,
                                              fault_drop=1e-4, seed=3))
    assert clean.link.retransmits == clean.link.nak_retransmits == 0
    # (the MCU naks the damaged data, so recovery is mostly fast retransmits)
    assert noisy.link.retransmits + noisy.link.nak_retransmits > 0
    # every block executed exactly once: the same steps at the same clocks
    assert noisy.shutdown is None
    assert (noisy.pulses["clock"] == clean.pulses["clock"]).all()


def test_pty_transport_routes_host_writes_through_the_tty_worker():
    uart = simulate(GCODE, CONFIG, SimOptions(profile="atmega2560"))
    pty = simulate(GCODE, CONFIG, SimOptions(profile="atmega2560", transport="pty"))
    assert pty.shutdown is None
    assert (pty.pulses["clock"] == uart.pulses["clock"]).all()
    cpu = pty.host_report["threads"]["kworker/tty"]["cpu_ns"]
    uart_cpu = uart.host_report["threads"]["kworker/tty"]["cpu_ns"]
    # the worker now also carries every block written to the MCU (charged
    # per chunk): more chunks than the acks and replies alone
    assert cpu > 1.5 * uart_cpu


def test_plot_writes_a_png(tmp_path):
    plot = tmp_path / "margins.png"
    result = invoke("--plot", str(plot), "--quiet")
    assert result.exit_code == 0, result.output
    data = plot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
