"""Speed of the virtual scheduler: simulated seconds per wall second.

Runs a 60 s simulated scenario with 8 threads shaped like Klipper's host
(main reactor and serialhdl in Python under the GIL, serialqueue and two
step-generation threads in C, the logger, plus a webcam and Moonraker
load) on the rpi3 preset, and prints events, wall time, simulated s per
wall s and, when /work/shared/bench/normalizer.py exists, the wall time as
a ratio to that normaliser timed in the same run.

usage: python benchmarks/sim_scheduler_speed.py [--seconds 60] [--profile]
       [--no-fast-paths]  (the general rules only: Scheduler.fast_paths off)
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from klipsim.sim.hostcpu.gil import GIL
from klipsim.sim.kernel.events import Kernel, NS_PER_MS, NS_PER_S, NS_PER_US
from klipsim.sim.hostcpu.load import install, parse_scenario
from klipsim.sim.hostcpu.machine import load_machine
from klipsim.sim.hostcpu.scheduler import Scheduler

NORMALIZER = Path("/work/shared/bench/normalizer.py")


def build(seconds: int, seed: int = 1, fast_paths: bool = True):
    machine = load_machine("rpi3")
    kernel = Kernel(np.random.default_rng(seed))
    sched = Scheduler(kernel, machine.sched_config())
    sched.fast_paths = fast_paths
    for core in sched.cores:
        core.fair.shortcut = fast_paths
    gil = GIL(sched, machine.switch_interval_ns)
    wake_serialq = sched.signal("serialq")
    responses = sched.signal("responses")
    stepgen_go = [sched.signal(f"stepgen{i}") for i in range(2)]

    # main: every 25 ms a reactor wake-up with 1.5 ms of Python (G-code,
    # look-ahead), every 250 ms a flush that kicks the step threads.
    def main_loop():
        t = sched.current
        gil.run(t, 1500 * NS_PER_US, main_after)

    def main_after():
        t = sched.current
        if kernel.now // (250 * NS_PER_MS) != (kernel.now - 25 * NS_PER_MS) // (250 * NS_PER_MS):
            for s in stepgen_go:
                s.post()
        wake_serialq.post()
        gil.release(t)
        t.sleep(25 * NS_PER_MS, main_loop)

    def stepgen(i):
        def loop():
            t = sched.current
            t.wait(stepgen_go[i], lambda: t.compute(8 * NS_PER_MS, send))

        def send():
            wake_serialq.post()
            loop()
        return loop

    # serialq: C thread, 30 us per wake-up, and every 4th wake-up a response
    box = {"n": 0}

    def serialq():
        t = sched.current
        t.wait(wake_serialq, lambda: t.compute(30 * NS_PER_US, serialq_after))

    def serialq_after():
        box["n"] += 1
        if box["n"] % 4 == 0:
            responses.post()
        serialq()

    def serialhdl():
        t = sched.current
        t.wait(responses, lambda: gil.acquire(t, lambda: t.compute(
            200 * NS_PER_US, serialhdl_done)))

    def serialhdl_done():
        gil.release(sched.current)
        serialhdl()

    def logger():
        t = sched.current
        gil.run(t, 100 * NS_PER_US, logger_done)

    def logger_done():
        t = sched.current
        gil.release(t)
        t.sleep(100 * NS_PER_MS, logger)

    sched.spawn("main", main_loop, group="klipper")
    sched.spawn("serialq", serialq, group="klipper")
    sched.spawn("serialhdl", serialhdl, group="klipper")
    for i in range(2):
        sched.spawn(f"stepgen{i}", stepgen(i), group="klipper")
    sched.spawn("logger", logger, group="klipper")
    install(sched, parse_scenario("bench", {"load": [
        {"name": "webcam", "duty": 0.35, "period_ms": 33},
        {"name": "moonraker", "duty": 0.1, "period_ms": 250}]}), kernel.rng)
    return kernel, sched


def normalizer_cpu_seconds() -> float | None:
    """CPU time of one normaliser run (CPU, not wall: the machine is shared)."""
    if not NORMALIZER.is_file():
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, str(NORMALIZER)], check=True,
                   stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-fast-paths", action="store_true")
    args = parser.parse_args()
    until = args.seconds * NS_PER_S
    best = None
    for _ in range(args.repeat):      # best of N: the machine is shared
        kernel, sched = build(args.seconds, fast_paths=not args.no_fast_paths)
        profiler = cProfile.Profile() if args.profile else None
        start = time.perf_counter()
        cpu_start = time.process_time()
        if profiler:
            profiler.enable()
        kernel.run(until=until)
        if profiler:
            profiler.disable()
        cpu = time.process_time() - cpu_start
        wall = time.perf_counter() - start
        if best is None or cpu < best[0]:
            best = (cpu, wall)
    cpu, wall = best
    print(f"simulated {args.seconds} s, {len(sched.threads)} threads, "
          f"{kernel.events_run} events in {cpu:.3f} s CPU ({wall:.3f} s wall), "
          f"best of {args.repeat}")
    print(f"speed: {args.seconds / cpu:.0f} simulated s per CPU s "
          f"({args.seconds / wall:.0f} per wall s), {kernel.events_run / cpu:.0f} events/s")
    norm = min(normalizer_cpu_seconds() or 0 for _ in range(args.repeat)) or None
    if norm is None:
        print("normalizer: not found, ratio skipped")
    else:
        print(f"normalizer: {norm:.3f} s CPU; run / normalizer = {cpu / norm:.3f}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
