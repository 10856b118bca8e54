"""Shared helpers for the firmware tests (tests/test_fw_*.py)."""
from klipsim.firmware.simulator.mcu import Firmware

PROFILE = "stm32f446"          # 180 MHz
FREQ = 180_000_000
MS = FREQ // 1000
PULSE = 360                    # 2 us step pulse, as Klipper configures it


def configured(lines=(), profile=PROFILE, oids=8):
    """A firmware instance with allocate_oids, the given config lines and
    finalize_config sent at clock 0."""
    fw = Firmware(profile)
    fw.send("allocate_oids count=%d" % oids, *lines, "finalize_config crc=7")
    assert fw.responses() == []
    return fw


def stepper_fw(oid=0, step_pin="PF0", dir_pin="PF1", **kw):
    return configured(["config_stepper oid=%d step_pin=%s dir_pin=%s invert_step=0"
                       " step_pulse_ticks=%d" % (oid, step_pin, dir_pin, PULSE)], **kw)


def queue_step_times(start, moves):
    """Closed form of queue_step (docs/MCU_Commands.md): step k of a move
    (k = 0..count-1) is at t_prev + (k+1)*interval + add*k*(k+1)/2."""
    times, t = [], start
    for interval, count, add in moves:
        for k in range(count):
            times.append(t + (k + 1) * interval + add * k * (k + 1) // 2)
        t = times[-1]
    return times


def names(responses):
    return [name for name, _ in responses]
