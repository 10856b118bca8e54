"""Execution speed of the simulated firmware (executed steps per second).

Two figures, each with the CPU normaliser ratio timed in the same run
(skipped without /work/shared):

1. firmware only: four steppers on the stm32f446 profile (intervals
   5000, 10000, 15000, 20000 ticks = 36/18/12/9 k steps/s, moves of
   120/60/40/30 steps), 20 M steps handed to the firmware in rounds of 100
   moves per stepper (400 of the 500 move-queue slots), the clock run over
   each round.  Also given in CPU seconds of this process (the wall
   figure halves when the 2-core machine is shared).  Only the C calls are timed (fw_host_send and
   fw_run_until, which includes recording every pulse in the buffer) plus
   reading the pulses out in bulk.  Target: >= 20 M steps/s.
2. `execute` end to end on a reference print (default
   corexy_print_cylinder): stream parsing, host-side planning and
   encoding in Python, the firmware, pulse checks off; the time spent
   inside the firmware calls is reported separately.

Usage: python benchmarks/execute_speed.py [case ...]
"""
import os
import sys
import time

from _normalizer import normalizer_seconds, report

from klipsim.chelper import msgproto
from klipsim.firmware.simulator.mcu import Firmware
from klipsim.golden import reference
from klipsim.sim.execute import executor as execute

PROFILE = "stm32f446"
STEPPERS = 4
INTERVALS = [5000, 10000, 15000, 20000]
COUNTS = [120, 60, 40, 30]           # every move lasts 600 000 ticks
ROUNDS = 800
BATCH = 100          # moves per stepper per round (4 x 100 < 500 slots)


def synthetic_firmware_run():
    """(wall seconds in the firmware, CPU seconds in it, steps executed)."""
    fw = Firmware(PROFILE)
    config = ["config_stepper oid=%d step_pin=PF%d dir_pin=PG%d invert_step=0"
              " step_pulse_ticks=360" % (i, i, i) for i in range(STEPPERS)]
    fw.send("allocate_oids count=%d" % STEPPERS, *config, "finalize_config crc=0")
    fw.set_gpio_recording(False)
    qs_id = fw.dictionary.lookup("queue_step").msgid
    clock = [0] * STEPPERS
    firmware_s, cpu_s, steps = 0.0, 0.0, 0
    for _round in range(ROUNDS):
        ints, ends = [], []
        for i in range(STEPPERS):
            for _ in range(BATCH):
                ints += [qs_id, i, INTERVALS[i], COUNTS[i], 0]
                ends.append(len(ints))
                clock[i] += INTERVALS[i] * COUNTS[i]
        t0, c0 = time.perf_counter(), time.process_time()
        # sent when the previous batch has been executed
        fw.send_ints(ints, ends)
        fw.run_until(min(clock))
        fw.read_output()
        steps += len(fw.take_pulses())
        firmware_s += time.perf_counter() - t0
        cpu_s += time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    fw.run_until(max(clock) + 1)
    steps += len(fw.take_pulses())
    firmware_s += time.perf_counter() - t0
    cpu_s += time.process_time() - c0
    assert not fw.is_shutdown and steps == ROUNDS * BATCH * sum(COUNTS)
    return firmware_s, cpu_s, steps


class TimedFirmware(Firmware):
    """Firmware whose C calls are timed."""
    spent = 0.0

    def run_until(self, clock, stop_on_output=False):
        t0 = time.perf_counter()
        try:
            return super().run_until(clock, stop_on_output)
        finally:
            TimedFirmware.spent += time.perf_counter() - t0

    def send_ints(self, ints, ends):
        t0 = time.perf_counter()
        try:
            return super().send_ints(ints, ends)
        finally:
            TimedFirmware.spent += time.perf_counter() - t0

    def deliver_groups(self, batch, first=0):
        t0 = time.perf_counter()
        try:
            return super().deliver_groups(batch, first)
        finally:
            TimedFirmware.spent += time.perf_counter() - t0


def execute_case(name):
    case = reference.case(name)
    dictionary = msgproto.Dictionary.load(case.dictionary)
    TimedFirmware.spent = 0.0
    original = execute.fwmcu.Firmware
    execute.fwmcu.Firmware = TimedFirmware
    try:
        t0 = time.perf_counter()
        result = execute.execute_stream(case.klipper_output, dictionary)
        total = time.perf_counter() - t0
    finally:
        execute.fwmcu.Firmware = original
    assert result.shutdown_reason is None
    return total, TimedFirmware.spent, result.total_steps


def main(cases):
    norm = normalizer_seconds()
    if norm:
        report("normaliser", norm, norm)
    seconds, cpu, steps = synthetic_firmware_run()
    report("firmware only (synthetic, 4 steppers)", seconds, norm, (steps, "step"))
    report("  same, CPU time of this process", cpu, None, (steps, "step"))
    for name in cases:
        total, in_fw, steps = execute_case(name)
        report("execute %s" % name, total, norm, (steps, "step"))
        report("  of which in the firmware", in_fw, norm, (steps, "step"))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main(sys.argv[1:] or ["corexy_print_cylinder"])
