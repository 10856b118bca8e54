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
   corexy_print_cylinder), in CPU seconds of this process (median of
   RUNS): reading the stream (gzip, parsing), planning, delivery, the
   firmware and the step count, pulse checks off; once on the text
   stream as stored and once on its binary (serial) form, written to a
   temporary file first.  Target (issue 10): >= 20 M steps per CPU s.
   The ratios are to the normaliser's CPU time (user + sys).

Usage: python benchmarks/execute_speed.py [case ...]
"""
import os
import resource
import statistics
import sys
import tempfile
import time

from _normalizer import normalizer_seconds, report

from klipsim.chelper import msgproto, streamio
from klipsim.firmware.simulator.mcu import Firmware
from klipsim.golden import reference
from klipsim.sim.execute import executor as execute

PROFILE = "stm32f446"
STEPPERS = 4
INTERVALS = [5000, 10000, 15000, 20000]
COUNTS = [120, 60, 40, 30]           # every move lasts 600 000 ticks
ROUNDS = 800
BATCH = 100          # moves per stepper per round (4 x 100 < 500 slots)
RUNS = 3             # execute runs per figure (the median is given)


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


def serial_copy(path, dictionary, folder):
    """The stream at `path` re-written in its binary (serial) form."""
    out = os.path.join(folder, os.path.basename(path).split(".")[0] + ".bin")
    with open(out, "wb") as f, streamio.StreamWriter(f, "serial", dictionary) as writer:
        for name, args in streamio.read_stream(path, dictionary):
            writer.write(name, args)
    return out


def execute_cpu(path, dictionary):
    """(median CPU seconds of RUNS executions, steps executed)."""
    times = []
    for _ in range(RUNS):
        c0 = time.process_time()
        result = execute.execute_stream(path, dictionary)
        times.append(time.process_time() - c0)
        assert result.shutdown_reason is None
    return statistics.median(times), result.total_steps


def normalizer_cpu():
    """CPU seconds (user + sys) of one normaliser run, or None."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if normalizer_seconds() is None:
        return None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(cases):
    norm = normalizer_cpu()
    if norm:
        report("normaliser (CPU)", norm, norm)
    seconds, cpu, steps = synthetic_firmware_run()
    report("firmware only (synthetic, 4 steppers)", seconds, None, (steps, "step"))
    report("  same, CPU time of this process", cpu, norm, (steps, "step"))
    with tempfile.TemporaryDirectory() as folder:
        for name in cases:
            case = reference.case(name)
            dictionary = msgproto.Dictionary.load(case.dictionary)
            for form, path in (("text", case.klipper_output),
                               ("binary", serial_copy(case.klipper_output, dictionary, folder))):
                cpu, steps = execute_cpu(path, dictionary)
                report("execute %s (%s), CPU" % (name, form), cpu, norm, (steps, "step"))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main(sys.argv[1:] or ["corexy_print_cylinder"])
