"""Heaters in `klipsim simulate`: the thermal plants heat, M109 waits for
the target, the PID holds it, heater PWM updates travel the serialhdl ->
serial queue path as the "heater_pwm" deadline class, and starving that
path ends in the MCU errors Klipper users know (KLIPPER-FACTS 2.7, 7):
"Timer too close" for a late update, "Missed scheduling of next digital
out event" when no update comes within the pin's 3 s max_duration."""
import math
import os

import pytest

from klipsim.golden import reference
from klipsim.sim.simulate.report import build_report
from klipsim.sim.simulate.simulation import SimOptions, Simulation, simulate
from klipsim.sim.mcus.thermal import AMBIENT_TEMP, HOTEND

REF = reference.REFERENCE_DIR
CONFIG = os.path.join(REF, "cartesian_basic", "printer.cfg")   # extruder PID, bed watermark
PROFILE = "atmega2560"
TARGET = 200.
BED_TARGET = 50.
BED_MAX_DELTA = 2.          # watermark default (docs/Config_Reference.md)
HOLD_S = 30.
GCODE = """SET_KINEMATIC_POSITION X=100 Y=100 Z=10
M140 S%d
M104 S%d
M109 S%d
G90
M83
G1 X120 Y100 F6000
G1 X120 Y130 E2
G1 X100 Y100 E2
G4 P%d
G1 X110 Y110 E1
""" % (BED_TARGET, TARGET, TARGET, HOLD_S * 1000)
# the G-code line of the first move after the wait
FIRST_MOVE_LINE = 7
# FACTS 2.7: an update acts 0.300 s after its reading, which the MCU sent
# ~8 ms after the reading started; a queue that sends updates in time
# leaves them well ahead of that.
PWM_DELAY_MS = 300.


@pytest.fixture(scope="module")
def gcode_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("heat") / "heat.gcode"
    path.write_text(GCODE)
    return str(path)


@pytest.fixture(scope="module")
def heated(gcode_file):
    """One run, with the plants' temperatures sampled every run slice."""
    samples = []
    box = {}

    def progress(t):
        sim = box["sim"]
        samples.append((t, dict(sim.thermals.temperatures()),
                        sim.printer.heaters.lookup("extruder").next_pwm_time))
    box["sim"] = sim = Simulation(gcode_file, CONFIG, SimOptions(profile=PROFILE,
                                                                 progress=progress))
    result = sim.run()
    return sim, result, samples


def test_heated_print_is_ok_with_heater_traffic(heated):
    sim, result, _samples = heated
    report = build_report(result)
    assert report["verdict"] == "ok"
    assert result.gcode_errors == 0
    # the extruder is on for ~90 s and then held: updates at least every
    # refresh (~2.4 s), most of them every 0.3 s while the PID moves
    assert report["scheduled_commands"]["heater_pwm"] > 100
    assert 0. < report["margins_ms"]["heater_pwm"] < PWM_DELAY_MS
    assert sim.serialhdl.host_handled > 0


def test_m109_waits_until_the_extruder_is_at_target(heated):
    sim, _result, samples = heated
    start = sim.feed.timeline_line.index("heat.gcode:%d" % FIRST_MOVE_LINE)
    move_s = sim.feed.timeline_ns[start] / 1e9
    before = [temps["extruder"] for t, temps, _next in samples if t < move_s]
    # full power from ambient needs tau * ln(gain / (gain - rise)) seconds
    rise = TARGET - AMBIENT_TEMP
    full_power_s = HOTEND.tau * math.log(HOTEND.gain / (HOTEND.gain - rise))
    assert move_s > full_power_s
    # M109 returns within PID_SETTLE_DELTA (1 C) of the target, on the
    # smoothed reading, which trails the plant by up to a degree or so
    assert before[-1] == pytest.approx(TARGET, abs=2.5)
    assert max(before[:len(before) // 2]) < TARGET - 20.


def test_pid_holds_the_extruder_near_target(heated):
    sim, _result, samples = heated
    start = sim.feed.timeline_line.index("heat.gcode:%d" % FIRST_MOVE_LINE)
    move_s = sim.feed.timeline_ns[start] / 1e9
    held = [temps["extruder"] for t, temps, _next in samples
            if move_s + 5. < t < move_s + HOLD_S]
    assert len(held) > 100
    assert max(abs(T - TARGET) for T in held) < 3.


def test_watermark_bed_cycles_around_its_target(heated):
    _sim, _result, samples = heated
    late = [temps["heater_bed"] for t, temps, _next in samples if t > 60.]
    # on below target - max_delta, off above target + max_delta; the
    # reading lags the plant by the 0.3 s report and 0.3 s pwm delay
    assert min(late) > BED_TARGET - BED_MAX_DELTA - 1.
    assert max(late) < BED_TARGET + BED_MAX_DELTA + 1.
    assert min(late) < BED_TARGET < max(late)     # it really cycles


def spike(tmp_path, at_s, duration_ms):
    path = tmp_path / ("spike_%d.toml" % duration_ms)
    path.write_text('[[spike]]\nname = "hog"\nat_s = %r\nduration_ms = %d\nthreads = 4\n'
                    'policy = "fifo"\npriority = 50\n' % (at_s, duration_ms))
    return str(path)


def board_without_rt_throttling(tmp_path):
    """The rpi3 preset with the kernel's RT throttling off: a FIFO hog on
    every core leaves nothing to Klipper (classic throttling would give it
    50 ms per second)."""
    text = open(os.path.join(os.path.dirname(reference.__file__), "..", "sim", "hostcpu", "presets",
                             "rpi3.toml")).read()
    assert 'rt_throttle = "classic"' in text
    path = tmp_path / "rpi3-nothrottle.toml"
    path.write_text(text.replace('rt_throttle = "classic"', 'rt_throttle = "none"'))
    return str(path)


REFRESH_S = 3.0 - (3 * 0.300 + 0.001)     # FACTS 2.7: pwm_time + 2.099 s


def quiet_update(heated):
    """An extruder update during the hold after which the next one was
    only the refresh (the PID's change stayed under 5 %): its pwm_time
    (seconds). Found from the refresh time the heater kept (= pwm_time +
    REFRESH_S) over the unloaded run."""
    sim, _result, samples = heated
    start = sim.feed.timeline_line.index("heat.gcode:%d" % FIRST_MOVE_LINE)
    move_s = sim.feed.timeline_ns[start] / 1e9
    pwm_times = sorted({nxt - REFRESH_S for t, _temps, nxt in samples if t > move_s + 5.})
    for a, b in zip(pwm_times, pwm_times[1:]):
        if b - a > REFRESH_S:
            return a
    raise AssertionError("no refresh-only interval in the hold")


def test_starved_serial_path_late_heater_update_is_timer_too_close(tmp_path, gcode_file,
                                                                    heated):
    """A FIFO hog on every core (RT throttling off) from just after an
    update until past the next refresh's pwm_time but before the pin's
    3 s max_duration ends: the refresh reading is handled after the hog,
    its update is due 0.3 s after the reading: late."""
    update = quiet_update(heated)
    at, duration_ms = round(update + 0.05, 3), 2800
    result = simulate(gcode_file, CONFIG, SimOptions(
        profile=PROFILE, load=spike(tmp_path, at, duration_ms),
        board=board_without_rt_throttling(tmp_path)))
    s = result.shutdown
    assert s is not None and s["reason"] == "Timer too close", s
    assert s["deadline_class"] == "heater_pwm"
    late = s["late_command"]
    assert late["name"] == "queue_digital_out" and late["margin_ms"] < 0
    assert late["queued_s"] > at + duration_ms / 1000. > late["due_s"]
    assert late["held_by"] == "serialhdl"
    assert s["starved_thread"]["name"] in ("serialhdl mcu", "serialq mcu", "kworker/tty")
    assert s["starved_thread"]["waiting_ms"] > 2000.


def test_no_update_within_max_duration_is_missed_scheduling(tmp_path, gcode_file, heated):
    """The same hog for 3.5 s: nothing reaches the MCU, and the heater,
    on (PWM), must be refreshed within its 3 s max_duration: the MCU
    shuts down on its own, during the hog, 3 s after the last update."""
    update = quiet_update(heated)
    at = round(update + 0.05, 3)
    result = simulate(gcode_file, CONFIG, SimOptions(
        profile=PROFILE, load=spike(tmp_path, at, 3500),
        board=board_without_rt_throttling(tmp_path)))
    s = result.shutdown
    assert s is not None
    assert s["reason"] == "Missed scheduling of next digital out event"
    assert s["deadline_class"] == "heater_pwm"
    assert s["time_s"] == pytest.approx(update + 3.0, abs=1e-5)
    assert s["late_command"] is None


def test_same_seed_same_report_bytes_with_heaters(gcode_file):
    from klipsim.sim.simulate.report import dumps
    runs = [dumps(build_report(simulate(gcode_file, CONFIG, SimOptions(profile=PROFILE))))
            for _ in range(2)]
    assert runs[0] == runs[1]


def test_reference_print_with_m190_m109_is_ok():
    """user_print_parts: PRINT_START waits for the bed (M190 S60) and the
    extruder (M109 S210), then prints; every extruder step of Klipper's
    own output is executed (the extruder never homes, so its count is
    exact)."""
    case = reference.case("user_print_parts")
    result = simulate(case.gcode, case.config, SimOptions(keep_pulses=False))
    report = build_report(result)
    assert report["verdict"] == "ok", report["shutdown"]
    meta = case.meta
    extruder_pin = "PF9"            # printer.cfg [extruder] step_pin
    assert result.pulse_counts[extruder_pin]["steps"] == meta["steppers"]["extruder"]["total_steps"]
    # the waits: bed 25 -> 60 C and extruder 25 -> 210 C come on top of
    # the print time Klipper's batch run (no waits) logged
    assert result.print_time > meta["klippy_exit_print_time_s"] + 60.
    assert report["scheduled_commands"]["heater_pwm"] > 1000
    assert report["margins_ms"]["heater_pwm"] > 0.


def test_stalled_main_thread_turns_the_heater_off_without_shutdown(tmp_path, gcode_file,
                                                                     heated):
    """FACTS 2.7: the main thread's 1 s stats call proves it alive; after
    5 s without it, set_pwm (serialhdl thread) sends 0. A FIFO hog on the
    main thread's only CPU for 8 s: the extruder cools, no MCU error, and
    it heats again once the main thread runs."""
    sim = heated[0]
    start = sim.feed.timeline_line.index("heat.gcode:%d" % FIRST_MOVE_LINE)
    at = round(sim.feed.timeline_ns[start] / 1e9 + 5., 1)
    policy = tmp_path / "main-cpu0.toml"
    policy.write_text("[threads.main]\ncpus = [0]\n")
    load = tmp_path / "hog-cpu0.toml"
    load.write_text('[[spike]]\nname = "hog"\nat_s = %r\nduration_ms = 8000\nthreads = 1\n'
                    'policy = "fifo"\npriority = 50\ncpus = [0]\n' % at)
    samples, box = [], {}

    def progress(t):
        s = box["sim"]
        samples.append((t, s.thermals.temperatures()["extruder"],
                        s.printer.heaters.lookup("extruder").last_pwm_value))
    box["sim"] = stalled = Simulation(gcode_file, CONFIG, SimOptions(
        profile=PROFILE, load=str(load), policy=str(policy),
        board=board_without_rt_throttling(tmp_path), progress=progress))
    result = stalled.run()
    assert result.shutdown is None
    # the last stats call before the hog was at most 1 s before it: the
    # heater is off from at + 5 s (+ a report and its pwm_delay) on
    off = [(t, temp) for t, temp, duty in samples if at + 6.7 < t < at + 8.]
    assert off and all(duty == 0. for t, _temp, duty in samples if at + 6.7 < t < at + 8.)
    temps = [temp for _t, temp in off]
    assert all(b < a for a, b in zip(temps, temps[1:]))          # cooling
    on = [duty for t, _temp, duty in samples if at + 9. < t < at + 10.]
    assert on and max(on) > 0.5                                   # heating again


def test_cli_names_the_heater_deadline_class(tmp_path, gcode_file, heated):
    from click.testing import CliRunner
    from klipsim.cli import main
    at = round(quiet_update(heated) + 0.05, 3)
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, [
        "simulate", gcode_file, "--config", CONFIG, "--mcu", PROFILE,
        "--board", board_without_rt_throttling(tmp_path),
        "--load", spike(tmp_path, at, 3500), "--report", str(report)])
    assert result.exit_code == 3, result.output
    assert "deadline class heater_pwm" in result.stderr
    assert '"deadline_class": "heater_pwm"' in report.read_text()
