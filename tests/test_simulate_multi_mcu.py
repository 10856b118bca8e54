"""klipsim simulate with several MCUs: an `extra` rp2040 MCU driving the
extruder next to the main stm32f446 (each with its own firmware, clock,
clock estimate, serial threads and link), a drifting secondary clock,
and Klipper's Linux-process MCU (`[mcu host]`) running on the host CPUs
with its own thread priority."""
import os

import numpy as np
import pytest
from click.testing import CliRunner

from klipsim.cli import main as cli_main
from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.golden import stepdiff
from klipsim.host.mcu import MAX_STEPCOMPRESS_ERROR
from klipsim.sim.link.clocksync import ExactClockSource, McuClock, SecondarySync
from klipsim.sim.simulate.mcu_link import McuSettings
from klipsim.sim.simulate.simulation import SimOptions, SimulateError, simulate

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
GCODE = os.path.join(EXAMPLES, "example.gcode")
with open(os.path.join(EXAMPLES, "printer.cfg")) as _f:
    BASE_CFG = _f.read()


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def two_mcu_config(tmp_path):
    """The example printer with its extruder (stepper and heater) on an
    [mcu extra]."""
    text = BASE_CFG.replace("[printer]", "[mcu extra]\nserial: /dev/ttyACM1\n\n[printer]", 1)
    text = text.replace("step_pin: PF9\ndir_pin: PF10\nenable_pin: !PG2",
                        "step_pin: extra:gpio9\ndir_pin: extra:gpio10\nenable_pin: !extra:gpio11")
    text = text.replace("heater_pin: PA2", "heater_pin: extra:gpio23")
    text = text.replace("sensor_pin: PF4", "sensor_pin: extra:gpio26")
    assert text.count("extra:") == 5
    return _write(tmp_path, "two.cfg", text)


def host_mcu_config(tmp_path, extruder_on_host=False):
    """The example printer with a Linux-process MCU driving the fan (and,
    optionally, the extruder stepper)."""
    text = BASE_CFG.replace("[printer]", "[mcu host]\nserial: /tmp/klipper_host_mcu\n\n[printer]", 1)
    text = text.replace("[fan]\npin: PA8", "[fan]\npin: host:gpiochip0/gpio17")
    if extruder_on_host:
        text = text.replace("step_pin: PF9\ndir_pin: PF10",
                            "step_pin: host:gpiochip0/gpio5\ndir_pin: host:gpiochip0/gpio6")
    return _write(tmp_path, "host.cfg", text)


def cold_gcode(tmp_path):
    """example.gcode without its heat-up (M104/M109/M140/M190), so motion
    starts at once and a spike at a fixed time lands mid-print."""
    with open(GCODE) as f:
        lines = [l for l in f if l.split()[:1] not in (["M104"], ["M109"], ["M140"], ["M190"])]
    path = tmp_path / "cold.gcode"
    path.write_text("".join(lines))
    return str(path)


def spike_load(tmp_path, priority):
    """A 200 ms SCHED_FIFO spike on all 4 cores of the rpi3 at 8 s."""
    return _write(tmp_path, "spike%d.toml" % priority,
                  '[[spike]]\nname = "rt-hog"\nat_s = 8.0\nduration_ms = 200\n'
                  'threads = 4\npolicy = "fifo"\npriority = %d\n' % priority)


def run_two(tmp_path, drift_ppb=0, offset=0, **kw):
    return simulate(GCODE, two_mcu_config(tmp_path),
                    SimOptions(mcus={"extra": McuSettings("rp2040", offset, drift_ppb)}, **kw))


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    return run_two(tmp_path_factory.mktemp("two"), record_stream=True)


def test_two_mcus_ok_and_each_executes_what_it_was_sent(two):
    """Each MCU's executed pulses are the step programs of the stream the
    host sent to THAT MCU, tick-exact (clocks rebuilt from the stream)."""
    assert two.shutdown is None
    steppers = {}
    for name, m in two.mcus.items():
        d = fwmcu.dictionary(m["profile"])
        text = "\n".join(d.format_text(n, a) for n, a in m["stream"]) + "\n"
        programs = stepdiff.build_programs(stepdiff.steps_from_text(text, d.parse_text))
        prefix = "" if name == "mcu" else name + ":"
        pins = {v: k for k, v in m["pin_names"].items()}
        for program in programs.values():
            if not program.total_steps:
                continue
            times, dirs = stepdiff.step_times(program, 0, program.total_steps)
            pulses = m["pulses"][m["pulses"]["pin"] == pins[prefix + program.step_pin]]
            assert len(pulses) == len(times), (name, program.label)
            # The stream's clocks are 32-bit: the rebuilt times start in
            # the first 2^32 ticks, while the MCU has counted whole wraps
            # before the first step (heating takes minutes).
            wraps = pulses["clock"].astype(np.int64) - times
            assert wraps[0] % (1 << 32) == 0, program.label
            assert np.array_equal(wraps, np.full(len(times), wraps[0])), program.label
            assert np.array_equal(pulses["dir"].astype(np.int8), dirs), program.label
            steppers.setdefault(name, []).append(program.step_pin)
    assert len(steppers["mcu"]) == 3 and steppers["extra"] == ["gpio9"]
    assert two.pulse_counts["extra:gpio9"]["steps"] > 1000


def test_report_per_mcu(two):
    from klipsim.sim.simulate.report import build_report
    report = build_report(two)
    assert report["verdict"] == "ok"
    assert set(report["mcus"]) == {"mcu", "extra"}
    extra = report["mcus"]["extra"]
    assert extra["profile"] == "rp2040" and extra["clock_freq"] == 12_000_000
    assert extra["link"]["blocks"] > 0 and extra["scheduled_commands"]["motion"] > 0
    # combined minima are the smaller of the two MCUs'
    for k, v in report["margins_ms"].items():
        per = [m["margins_ms"][k] for m in report["mcus"].values() if m["margins_ms"][k] is not None]
        assert v == (min(per) if per else None)
    assert "serialq extra" in report["threads"] and "serialhdl extra" in report["threads"]


def _extra_print_times(result):
    """Print time (main MCU clock / its freq) of each executed extruder
    step, converted through the true clocks."""
    extra, main = result.mcus["extra"]["clock"], result.mcus["mcu"]["clock"]
    clocks = result.mcus["extra"]["pulses"]["clock"]
    return np.array([main.clock(extra.time_ns(int(c))) for c in clocks]) / main.freq


@pytest.mark.parametrize("sync", ["regression", "exact"])
def test_drifting_secondary_clock_keeps_step_times(tmp_path, sync):
    """+50 ppm and an offset on the extra MCU: still ok, and its steps,
    in print time, stay where the drift-free run put them: each within
    the step compressor's own freedom (a step may be up to 25 us early,
    so two compressions of the same motion differ by up to that) plus a
    few us, and on average within a few us."""
    base = run_two(tmp_path, clock_sync=sync)
    drift = run_two(tmp_path, drift_ppb=50_000, offset=123_456_789, clock_sync=sync)
    assert base.shutdown is None and drift.shutdown is None
    a, b = _extra_print_times(base), _extra_print_times(drift)
    assert len(a) == len(b) > 1000
    diff_us = (b - a) * 1e6
    assert np.abs(diff_us).max() < MAX_STEPCOMPRESS_ERROR * 1e6 + 5
    assert abs(diff_us.mean()) < 3 and np.median(np.abs(diff_us)) < 5
    # without the secondary sync's correction the drift alone would be
    # 50 ppm x 30 s = 1.5 ms by the end: the check above can fail
    assert 50e-6 * a.max() * 1e6 > 1000


def test_secondary_sync_follows_a_drifting_clock():
    """SecondarySync over exact estimates: after calibration the mapping
    gives the secondary's true clock at the sync point to within a tick."""
    main = ExactClockSource(McuClock(180_000_000))
    true = McuClock(12_000_000, 5_000_000, 50_000)
    sync = SecondarySync(main, ExactClockSource(true))
    sync.connect(0.)
    for second in range(1, 6):
        sync.calibrate_clock(second + 0.5, float(second))
    offset, freq = sync.clock_adj
    at = sync.last_sync_time                         # print time == host time here
    assert abs((at - offset) * freq - true.clock(int(at * 1e9))) <= 1
    assert abs(freq / 12e6 - 1 - 50e-6) < 1e-9


def test_missing_profile_names_the_section(tmp_path):
    with pytest.raises(SimulateError, match=r"two\.cfg:\d+: \[mcu extra\]: no firmware profile"):
        simulate(GCODE, two_mcu_config(tmp_path), SimOptions())
    with pytest.raises(SimulateError, match=r"no \[mcu nope\] section"):
        simulate(GCODE, two_mcu_config(tmp_path),
                 SimOptions(mcus={"extra": McuSettings("rp2040"), "nope": McuSettings("rp2040")}))


def test_cli_profiles_per_mcu(tmp_path):
    config = two_mcu_config(tmp_path)
    runner = CliRunner()
    report = str(tmp_path / "r.json")
    r = runner.invoke(cli_main, ["simulate", GCODE, "--config", config, "--mcu", "stm32f446",
                                 "--mcu", "extra=rp2040", "--clock-drift", "extra=50",
                                 "--report", report, "--quiet"])
    assert r.exit_code == 0, r.output
    import json
    data = json.load(open(report))
    assert data["mcus"]["extra"]["drift_ppm"] == 50.0 and data["verdict"] == "ok"
    # no --mcu: each MCU gets the bundled profile its pins fit (sim/mcus/profile_pick.py);
    # gpio9..gpio26 are the rp2040's (first in the stated order before linux)
    r = runner.invoke(cli_main, ["simulate", GCODE, "--config", config, "--report",
                                 str(tmp_path / "auto.json")])
    assert r.exit_code == 0, r.output
    assert "MCU extra: profile rp2040 picked" in r.output
    assert "MCU mcu: profile stm32f446 picked" in r.output
    assert json.load(open(tmp_path / "auto.json"))["mcus"]["extra"]["profile"] == "rp2040"
    bad = _write(tmp_path, "bad.cfg", open(config).read().replace("extra:gpio23", "extra:PZ99"))
    r = runner.invoke(cli_main, ["simulate", GCODE, "--config", bad, "--quiet"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "bad.cfg:" in r.output and "pin 'PZ99' is no pin of any bundled MCU profile" in r.output
    r = runner.invoke(cli_main, ["simulate", GCODE, "--config", config, "--mcu", "extra=nope"])
    assert r.exit_code == 2 and "unknown firmware profile 'nope'" in r.output


# ---- the Linux-process MCU -------------------------------------------------------------
def test_linux_mcu_runs_ok_with_no_load(tmp_path):
    result = simulate(GCODE, host_mcu_config(tmp_path))
    assert result.shutdown is None
    host = result.mcus["host"]
    assert host["profile"] == "linux" and host["clock_freq"] == 50_000_000
    assert host["transport"] == "pty"
    assert host["margins"].counts["pins"] >= 2          # the fan's updates
    assert host["linux"]["wakes"] > 100
    assert host["linux"]["timer_late_max_ms"] < 1.
    thread = result.host_report["threads"]["klipper_mcu"]
    assert (thread["policy"], thread["priority"]) == ("fifo", 49)


@pytest.mark.parametrize("priority, delayed", [(60, True), (10, False)])
def test_fifo_spike_above_49_delays_the_linux_mcu_timers(tmp_path, priority, delayed):
    """A 200 ms SCHED_FIFO spike on every core: above the Linux MCU's
    priority 49 its timers wait for the spike to end; at priority 10 the
    Linux MCU preempts the spike and its timers stay on time."""
    result = simulate(cold_gcode(tmp_path), host_mcu_config(tmp_path),
                      SimOptions(load=spike_load(tmp_path, priority)))
    late_ms = result.mcus["host"]["linux"]["timer_late_max_ms"]
    if delayed:
        assert 100. < late_ms <= 200.
    else:
        assert late_ms < 1.


def test_linux_mcu_priority_from_the_policy(tmp_path):
    """[threads.linux_mcu] in the policy overrides FIFO 49: at SCHED_OTHER
    the priority-10 spike delays the Linux MCU too."""
    policy = _write(tmp_path, "p.toml", '[policy]\nname = "low"\n\n[threads.linux_mcu]\n'
                                        'policy = "other"\nnice = 0\n')
    result = simulate(cold_gcode(tmp_path), host_mcu_config(tmp_path),
                      SimOptions(policy=policy, load=spike_load(tmp_path, 10)))
    assert result.host_report["threads"]["klipper_mcu"]["policy"] == "other"
    assert result.mcus["host"]["linux"]["timer_late_max_ms"] > 100.


def test_stepping_linux_mcu_stalled_mid_print_shuts_down(tmp_path):
    """An extruder on the Linux MCU stalled 200 ms mid-print: its step
    timers run far too late and the Linux MCU (not the main one) shuts
    down, with one of the MCU-overload reasons of FACTS 3.1."""
    result = simulate(cold_gcode(tmp_path), host_mcu_config(tmp_path, extruder_on_host=True),
                      SimOptions(load=spike_load(tmp_path, 60)))
    assert result.shutdown is not None
    assert result.shutdown["mcu"] == "host"
    assert result.shutdown["reason"] in ("Rescheduled timer in the past",
                                         "Stepper too far in past")


LINUX_MS = 50_000           # ticks per ms at 50 MHz


def _linux_adc():
    """A Linux firmware sampling an ADC channel once every 1 ms from 1 ms on
    (each sample's timer is timed from the previous waketime, so samples
    the process missed are all overdue when it runs)."""
    fw = fwmcu.Firmware("linux")
    fw.send("allocate_oids count=1", "config_analog_in oid=0 pin=analog0",
            "finalize_config crc=7",
            "query_analog_in oid=0 clock=%d sample_ticks=%d sample_count=1 rest_ticks=%d"
            " bytes_per_report=2 min_value=0 max_value=65535 range_check_count=0"
            % (LINUX_MS, LINUX_MS, LINUX_MS))
    fw.responses()
    return fw


@pytest.mark.parametrize("late_ms, shuts_down", [(60, False), (300, True)])
def test_late_repeat_rule(late_ms, shuts_down):
    """fw_run_late: the process gets the CPU at `late_ms` with about
    late_ms samples overdue; they run at that clock, in a row; after 20
    repeats a next timer more than 100 ms in the past shuts it down
    (FACTS 3.1), a smaller backlog is worked off."""
    fw = _linux_adc()
    dispatches = fw.run_late(late_ms * LINUX_MS)
    assert fw.now == late_ms * LINUX_MS
    if shuts_down:
        assert fw.shutdown_reason == "Rescheduled timer in the past"
        assert dispatches == 20
    else:
        assert not fw.is_shutdown
        assert dispatches == late_ms           # samples at 1..late_ms ms
        reports = [a for n, a in fw.responses() if n == "analog_in_state"]
        assert len(reports) == late_ms             # one report per sample
        assert fw.next_timer > fw.now


# ---- compile mode ----------------------------------------------------------------------
def _stream_steps(path, profile):
    d = fwmcu.dictionary(profile)
    with open(path) as f:
        programs = stepdiff.build_programs(stepdiff.steps_from_text(f.read(), d.parse_text))
    return {p.step_pin: p.total_steps for p in programs.values()}


def test_compile_writes_one_stream_per_mcu(tmp_path, two):
    """As Klipper's batch mode: the main MCU's stream to -o FILE, MCU
    extra's to FILE-extra. The extruder's steps move to the extra stream
    unchanged in number (positions, not clocks, decide them), and equal
    what the simulated extra MCU executed."""
    runner = CliRunner()
    out = str(tmp_path / "out.txt")
    r = runner.invoke(cli_main, ["compile", GCODE, "--config", two_mcu_config(tmp_path),
                                 "--mcu", "extra=rp2040", "-o", out, "--quiet"])
    assert r.exit_code == 0, r.output
    main_steps = _stream_steps(out, "stm32f446")
    extra_steps = _stream_steps(out + "-extra", "rp2040")
    single = str(tmp_path / "single.txt")
    r = runner.invoke(cli_main, ["compile", GCODE, "--config", os.path.join(EXAMPLES, "printer.cfg"),
                                 "-o", single, "--quiet"])
    assert r.exit_code == 0, r.output
    single_steps = _stream_steps(single, "stm32f446")
    assert set(main_steps) == {"PF13", "PG0", "PF11"}
    assert set(extra_steps) == {"gpio9"}
    assert extra_steps["gpio9"] == single_steps["PF9"] > 1000
    assert all(main_steps[p] == single_steps[p] for p in main_steps)
    assert extra_steps["gpio9"] == two.pulse_counts["extra:gpio9"]["steps"]


def test_compile_several_mcus_errors(tmp_path):
    runner = CliRunner()
    config = two_mcu_config(tmp_path)
    # no --mcu extra=...: the profile is picked from its pins and said so
    r = runner.invoke(cli_main, ["compile", GCODE, "--config", config, "-o", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "MCU extra: profile rp2040 picked (its 5 pins fit rp2040" in r.output
    assert os.path.exists(str(tmp_path / "o-extra"))
    bad = _write(tmp_path, "bad.cfg", open(config).read().replace("extra:gpio23", "extra:PZ99"))
    r = runner.invoke(cli_main, ["compile", GCODE, "--config", bad, "-o", str(tmp_path / "o")])
    assert r.exit_code == 1
    assert "pin 'PZ99' is no pin of any bundled MCU profile; give [mcu extra] a firmware" \
        in r.output
    r = runner.invoke(cli_main, ["compile", GCODE, "--config", config, "--mcu", "extra=rp2040"])
    assert r.exit_code == 2 and "several MCUs need -o FILE" in r.output


def test_homing_across_mcus_and_linux_mcu_drift(tmp_path):
    """Homing across MCUs (Klipper's multi-MCU trsync): Z's endstop on the
    extra MCU stops stepper_z on the main one through a trsync on each
    (25 ms expiry, extended per report); the run ends ok with Z homed and
    each MCU got its trsync commands. A Linux MCU has no clock of its own
    to drift."""
    config = open(two_mcu_config(tmp_path)).read().replace(
        "endstop_pin: PG10", "endstop_pin: extra:gpio2")
    cross = _write(tmp_path, "cross.cfg", config)
    gcode = _write(tmp_path, "home.gcode", "G28\nG1 X20 Y20 Z5 F3000\n")
    result = simulate(str(gcode), cross, SimOptions(mcus={"extra": McuSettings("rp2040")},
                                                    record_stream=True))
    assert result.shutdown is None
    for name in ("mcu", "extra"):
        names = [n for n, _args in result.mcus[name]["stream"]]
        assert "trsync_start" in names and "trsync_set_timeout" in names, name
    assert "endstop_home" in [n for n, _ in result.mcus["extra"]["stream"]]
    assert "stepper_stop_on_trigger" in [n for n, _ in result.mcus["mcu"]["stream"]]
    with pytest.raises(SimulateError, match=r"\[mcu host\]: a Linux-process MCU counts the host"):
        simulate(GCODE, host_mcu_config(tmp_path),
                 SimOptions(mcus={"host": McuSettings(drift_ppb=3000)}))


def test_several_mcus_are_deterministic(tmp_path):
    """Same inputs and seed, same report bytes (two MCUs, one drifting, a
    Linux MCU, a load with random phases)."""
    from klipsim.sim.simulate.report import build_report, dumps
    text = open(two_mcu_config(tmp_path)).read().replace(
        "[printer]", "[mcu host]\nserial: /tmp/klipper_host_mcu\n\n[printer]", 1)
    config = _write(tmp_path, "three.cfg", text.replace("[fan]\npin: PA8",
                                                        "[fan]\npin: host:gpiochip0/gpio17"))
    load = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "sim", "hostcpu", "loads", "webcam-moonraker.toml")

    def once():
        r = simulate(GCODE, config, SimOptions(seed=7, load=load, mcus={
            "extra": McuSettings("rp2040", 1000, 30_000)}))
        return dumps(build_report(r))
    first = once()
    assert '"host"' in first and '"extra"' in first
    assert once() == first
