"""A Linux-process MCU that falls behind shuts down with Klipper's
"Rescheduled timer in the past" (KLIPPER-FACTS 3.1: the Linux MCU's timer
dispatcher checks, every 20 repeats of due timers, that the next timer is
not more than 100 ms in the past). Here the Linux MCU (SCHED_FIFO 49)
drives a soft-PWM pin with a 1 ms cycle (two timer events per ms, each
timed from the previous one, as Klipper's toggle timer) and a SCHED_FIFO
60 spike on every core keeps it off the CPU: a stall under 100 ms is
worked off, a longer one leaves the 20th repeat's next timer more than
100 ms behind. At priority 10 the spike never delays it."""
import os

import pytest

from klipsim.sim.simulate.simulation import SimOptions, simulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQUARE = os.path.join(ROOT, "examples", "sweep-square.gcode")


def files(tmp_path, stall_ms, priority):
    cfg = open(os.path.join(ROOT, "examples", "printer.cfg")).read()
    cfg = cfg.replace("[printer]", "[mcu host]\nserial: /tmp/klipper_host_mcu\n\n[printer]", 1)
    cfg += "\n[output_pin led]\npin: host:gpiochip0/gpio22\npwm: true\ncycle_time: 0.001\n"
    (tmp_path / "host.cfg").write_text(cfg)
    gcode = open(SQUARE).read().replace("G90\n", "G90\nSET_PIN PIN=led VALUE=0.5\n", 1)
    (tmp_path / "led.gcode").write_text(gcode)
    (tmp_path / "stall.toml").write_text(
        '[[spike]]\nname = "rt-hog"\nat_s = 3.0\nduration_ms = %d\nthreads = 4\n'
        'policy = "fifo"\npriority = %d\n' % (stall_ms, priority))
    return str(tmp_path / "led.gcode"), str(tmp_path / "host.cfg"), str(tmp_path / "stall.toml")


@pytest.mark.parametrize("stall_ms, priority, dies", [
    (80, 60, False),        # under 100 ms behind: worked off
    (150, 60, True),        # more than 100 ms behind after 20 repeats
    (300, 10, False),       # the spike is below the Linux MCU's FIFO 49
])
def test_linux_mcu_falling_behind(tmp_path, stall_ms, priority, dies):
    gcode, config, load = files(tmp_path, stall_ms, priority)
    result = simulate(gcode, config, SimOptions(load=load))
    late_ms = result.mcus["host"]["linux"]["timer_late_max_ms"]
    if not dies:
        assert result.shutdown is None
        assert late_ms < stall_ms + 1
        return
    s = result.shutdown
    assert (s["reason"], s["mcu"]) == ("Rescheduled timer in the past", "host")
    assert late_ms == pytest.approx(stall_ms, abs=1)
    # it shuts down as soon as it runs again, at the end of the stall
    assert s["time_s"] == pytest.approx(3.0 + stall_ms / 1000., abs=0.002)
    assert s["starved_thread"]["name"] == "klipper_mcu"
