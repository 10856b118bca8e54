"""Speed of the C step solver + step compressor (klipsim.chelper.motion).

Builds a synthetic corexy print-like move set (seeded: short and long
segments in random directions, 30-250 mm/s, accel 5000, chained at a
junction speed), appends it to a trapq (not timed), then times
generate_steps + flush for both corexy steppers in 0.5 s batches, as the
host does; best of 3 runs by CPU time. Prints steps/s (CPU and wall) and
the ratio of the timed work to the CPU normaliser run in the same process
tree (skipped without /work/shared).

Usage: python benchmarks/stepgen_speed.py [moves] [seed]
"""
import math
import os
import sys
import time

import numpy as np

from klipsim.chelper import motion

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _normalizer import normalizer_seconds, report  # noqa: E402

MCU_FREQ = 180e6
STEP_DIST = 40 / (200 * 16)     # rotation_distance 40, 200 full steps, 16 usteps
ACCEL = 5000.
JUNCTION_V = 8.


def build_moves(tq, count, rng):
    """Append `count` chained trapezoids; return the end print time."""
    pos = np.array([100., 100., .2])
    t = .25
    for _ in range(count):
        angle = rng.uniform(0, 2 * math.pi)
        dist = rng.choice([rng.uniform(.3, 3.), rng.uniform(3., 40.)])
        v = rng.uniform(30., 250.)
        v = min(v, math.sqrt(JUNCTION_V ** 2 + dist * ACCEL))
        edge_d = (v * v - JUNCTION_V ** 2) / (2 * ACCEL)
        cruise_d = max(dist - 2 * edge_d, 0.)
        edge_t = (v - JUNCTION_V) / ACCEL
        axes_r = (math.cos(angle), math.sin(angle), 0.)
        tq.append(t, edge_t, cruise_d / v, edge_t, tuple(pos), axes_r,
                  JUNCTION_V, v, ACCEL)
        t += 2 * edge_t + cruise_d / v
        pos = pos + np.array(axes_r) * (2 * edge_d + cruise_d)
    return t


def run_once(count, seed):
    """(steps, messages, end_time, CPU seconds, wall seconds) of one run."""
    rng = np.random.default_rng(seed)
    tq = motion.TrapQ()
    end_time = build_moves(tq, count, rng)
    steppers = []
    for oid, kind in enumerate("+-"):
        sk = motion.corexy_stepper(kind)
        sk.set_trapq(tq)
        sc = motion.StepCompress(oid, 25e-6 * MCU_FREQ)
        sc.set_time(0., MCU_FREQ)
        sk.set_stepcompress(sc, STEP_DIST)
        sk.set_position(100., 100., .2)
        steppers.append((sk, sc))
    steps = msgs = 0
    cpu, wall = time.process_time(), time.perf_counter()
    flush_time = .25
    while flush_time < end_time + .5:
        flush_time += .5
        for sk, sc in steppers:
            sk.generate_steps(flush_time)
            sc.flush(int(flush_time * MCU_FREQ))
            m = sc.take_messages()
            steps += int(m["p1"][m["kind"] == motion.QUEUE_STEP].sum())
            msgs += len(m)
        tq.finalize_moves(flush_time - .1, flush_time - 1.)
    return (steps, msgs, end_time, time.process_time() - cpu,
            time.perf_counter() - wall)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    norm = normalizer_seconds()
    # best of 3 by CPU time: the machine is shared, CPU time is steadier
    runs = [run_once(count, seed) for _ in range(3)]
    steps, msgs, end_time, cpu, wall = min(runs, key=lambda r: r[3])
    print("%d moves, %.1f s of motion, %d steps, %d messages (%.1f steps/msg)"
          % (count, end_time, steps, msgs, steps / msgs))
    report("solve + compress, CPU time", cpu, norm, (steps, "step"))
    report("solve + compress, wall time", wall, norm, (steps, "step"))


if __name__ == "__main__":
    main()
