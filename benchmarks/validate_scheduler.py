"""Validate the virtual scheduler against this machine's real kernel.

Three scenarios, each run for real (child processes pinned with taskset,
niced, chrt'ed; every child stops by itself after a few seconds) and in the
virtual scheduler with the x86-vm-2core preset, printed side by side:

 (a) CPU hogs at different nice values on one CPU -> CPU shares (of the
     hogs' total, so other work on the machine does not skew the ratios);
 (b) a periodic thread (wakes every 1 ms, 50 us of work) under two nice-0
     hogs on one CPU -> wake-up latency percentiles;
 (c) a SCHED_FIFO hog and a SCHED_OTHER hog on one CPU -> when the normal
     hog runs after the FIFO hog starts and for how long (RT throttling:
     classic or the 6.12+ fair server);
 (d) autogroups: a group busy on two CPUs against another session's hog
     on one of them -> the share of the shared CPU (group shares split
     between CPUs by load).

Real-side caveats printed with the results: other processes on the
machine share the CPU; latencies are measured in Python (time.sleep to an
absolute deadline with the timer slack set to 1 ns via prctl), so they
include a few microseconds of interpreter overhead.
If taskset or chrt are refused, the real side of that scenario says so and
the run carries on.

usage: python benchmarks/validate_scheduler.py [--cpu 0] [--seconds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

from klipsim.sim.kernel.events import Kernel, NS_PER_MS, NS_PER_S, NS_PER_US
from klipsim.sim.hostcpu.load import spawn_hog
from klipsim.sim.hostcpu.machine import load_machine
from klipsim.sim.hostcpu.scheduler import Scheduler
from klipsim.sim.hostcpu.eevdf import nice_weight
from klipsim.sim.hostcpu.stats import percentiles

# -- child programs (run with `python -c`; each ends by itself) ------------
HOG = """
import sys, time
start_at, end_at = float(sys.argv[1]), float(sys.argv[2])
while time.monotonic() < start_at:
    time.sleep(0.0005)
gap_ns = 500_000                    # a pause longer than this = descheduled
runs = []
cpu0 = time.process_time_ns()
last = start = time.monotonic_ns()
run_start = start
end_ns = end_at * 1e9
while True:
    now = time.monotonic_ns()
    if now - last > gap_ns:
        runs.append((run_start - start, last - start))
        run_start = now
    last = now
    if now >= end_ns:
        break
runs.append((run_start - start, last - start))
print(time.process_time_ns() - cpu0, runs[:400])
"""

WAKER = """
import ctypes, sys, time
libc = ctypes.CDLL(None)
libc.prctl(29, 1, 0, 0, 0)          # PR_SET_TIMERSLACK = 29: 1 ns
period = 1_000_000
work = 50_000
start_at, end_at = float(sys.argv[1]), float(sys.argv[2])
duration = end_at - start_at
time.sleep(max(0.0, start_at - time.monotonic()))
lat = []
t0 = time.monotonic_ns()
target = t0 + period
while target < t0 + duration * 1e9:
    now = time.monotonic_ns()
    if target > now:
        time.sleep((target - now) / 1e9)
    woke = time.monotonic_ns()
    lat.append(woke - target)
    while time.monotonic_ns() - woke < work:
        pass
    target += period
print(time.process_time_ns(), lat)
"""


def have_tools() -> str | None:
    for tool in ("taskset", "chrt", "nice"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    probe = subprocess.run(["chrt", "-f", "1", "true"], capture_output=True)
    if probe.returncode != 0:
        return "chrt -f refused: " + probe.stderr.decode().strip()
    return None


def spawn(cpu: int, program: str, start: float, end: float, nice: int = 0,
          fifo: int = 0, session: bool = False) -> subprocess.Popen:
    """A child pinned to `cpu` running between monotonic times start..end
    (with `session`, in a new session, hence its own autogroup)."""
    cmd = ["setsid"] if session else []
    cmd += ["taskset", "-c", str(cpu)]
    if fifo:
        cmd += ["chrt", "-f", str(fifo)]
    else:
        cmd += ["nice", "-n", str(nice)]
    cmd += [sys.executable, "-c", program, str(start), str(end)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def collect(procs, timeout: float) -> list[str]:
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            if p.returncode != 0:
                raise RuntimeError(err.decode().strip().splitlines()[-1])
            outs.append(out.decode())
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return outs


def parse_hog(out: str):
    cpu, runs = out.split(" ", 1)
    return int(cpu), eval(runs)  # our own child's repr of a list of tuples


def cpu_busy_ns(cpu: int) -> int:
    """Busy time of one CPU so far (from /proc/stat, USER_HZ ticks)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]   # not idle/iowait
                return busy * NS_PER_S // os.sysconf("SC_CLK_TCK")
    raise RuntimeError(f"cpu{cpu} not in /proc/stat")


def window(seconds: float, lead: float = 0.0):
    """Common monotonic start/end for children started now (start-up
    takes < 0.4 s)."""
    start = time.monotonic() + 0.4 + lead
    return start, start + seconds


# -- virtual side --------------------------------------------------------
def virtual(seed: int = 1):
    machine = load_machine("x86-vm-2core")
    kernel = Kernel(np.random.default_rng(seed), trace=True)
    # all bench children live in one session, hence one autogroup
    return kernel, Scheduler(kernel, machine.sched_config())


def scenario_a(nices, seconds, cpu, tools_error):
    kernel, sched = virtual()
    hogs = [spawn_hog(sched, f"nice{n}", nice=n, cpus=[0], group="bench") for n in nices]
    kernel.run(until=round(seconds * NS_PER_S))
    sched.flush()
    total = sum(h.cpu_ns for h in hogs)
    sim = [h.cpu_ns / total for h in hogs]
    weights = [nice_weight(n) for n in nices]
    theory = [w / sum(weights) for w in weights]
    real = None
    if tools_error is None:
        start, end = window(seconds)
        outs = collect([spawn(cpu, HOG, start, end, nice=n) for n in nices], seconds + 10)
        cpus = [parse_hog(o)[0] for o in outs]
        real = [c / sum(cpus) for c in cpus]
    print(f"\n(a) CPU hogs on one CPU, nice {nices}, {seconds} s: share of the hogs' CPU")
    print(f"    {'nice':>5} {'weight table':>12} {'virtual':>8} {'real':>8}")
    for i, n in enumerate(nices):
        r = f"{real[i]:8.3f}" if real else "     n/a"
        print(f"    {n:>5} {theory[i]:12.3f} {sim[i]:8.3f} {r}")
    return {"nices": nices, "theory": theory, "virtual": sim, "real": real}


def _virtual_waker(seconds, hogs, background):
    """Waker + hogs in one autogroup, plus `others` always-runnable hogs
    each in its own autogroup (other sessions' work on the shared CPU)."""
    kernel, sched = virtual()
    for i in range(hogs):
        spawn_hog(sched, f"hog{i}", cpus=[0], group="bench")
    for i in range(background):
        spawn_hog(sched, f"other{i}", cpus=[0], group=f"others{i}")
    lateness = []
    box = {"target": NS_PER_MS}

    # as the real WAKER: sleep to target, note how late it runs, 50 us of
    # work, target += 1 ms (a missed target is not slept for)
    def period():
        lateness.append(kernel.now - box["target"])
        sched.current.compute(50 * NS_PER_US, next_target)

    def next_target():
        box["target"] += NS_PER_MS
        sched.current.sleep_until(box["target"], period)
    sched.spawn("waker", period, at=NS_PER_MS, cpus=[0], group="bench")
    kernel.run(until=round(seconds * NS_PER_S))
    return percentiles(lateness)


def scenario_b(seconds, cpu, tools_error):
    rows = {}
    for hogs in (0, 2):
        rows[f"virtual, {hogs} hogs"] = _virtual_waker(seconds, hogs, 0)
        if tools_error is not None:
            rows[f"real, {hogs} hogs"] = None
            continue
        start, end = window(seconds)
        procs = [spawn(cpu, WAKER, start, end)]
        procs += [spawn(cpu, HOG, start, end) for _ in range(hogs)]
        time.sleep(max(0.0, start - time.monotonic()))
        busy0 = cpu_busy_ns(cpu)
        outs = collect(procs, seconds + 10)
        busy = cpu_busy_ns(cpu) - busy0
        ours = sum(int(o.split(" ", 1)[0]) for o in outs)
        others = max(0.0, min(0.95, (busy - ours) / (seconds * NS_PER_S)))
        rows[f"real, {hogs} hogs ({others:.0%} others)"] = \
            percentiles(eval(outs[0].split(" ", 1)[1]))
        # k equal groups beside ours take k / (k + 1) of the CPU
        k = min(4, max(1, round(others / (1 - others)))) if others > 0.05 else 0
        rows[f"virtual, {hogs} hogs + {k} other groups"] = _virtual_waker(seconds, hogs, k)
    print(f"\n(b) wake every 1 ms, 50 us work, alone and under 2 nice-0 hogs on one CPU,"
          f" {seconds} s: lateness of each 1 ms period start (us).\n    'others' = the CPU's busy time not"
          " used by this benchmark during the real run (/proc/stat: other users' work);\n"
          "    modelled as k always-runnable hogs in their own autogroups, k/(k+1) = others")
    print(f"    {'':34} {'n':>6} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}")
    for name, p in rows.items():
        if p is None:
            print(f"    {name:34} n/a")
            continue
        print(f"    {name:34} {p['n']:6d} " + " ".join(
            f"{p[k] / 1000:8.1f}" for k in ("p50", "p90", "p99", "max")))
    return rows


def _starvation(runs, spike_at_ns):
    """Runs of the normal hog after the FIFO hog started: (start, length) ms."""
    out = []
    for a, b in runs:
        if b > spike_at_ns and b - a > 0:
            a = max(a, spike_at_ns)
            out.append((round((a - spike_at_ns) / 1e6, 1), round((b - a) / 1e6, 1)))
    return out


def scenario_c(seconds, cpu, tools_error):
    """The normal hog runs alone for `lead`, then the FIFO hog starts."""
    lead = 0.2
    lead_ns = round(lead * NS_PER_S)
    machine = load_machine("x86-vm-2core")
    kernel, sched = virtual()
    other = spawn_hog(sched, "other", cpus=[0], group="bench")
    spawn_hog(sched, "fifo", policy="fifo", priority=50, cpus=[0], group="bench", at=lead_ns)
    end_ns = lead_ns + round(seconds * NS_PER_S)
    kernel.run(until=end_ns)
    runs, begin = [], None
    for t, kind, name, _core in kernel.trace:
        if kind == "run" and name == "other":
            begin = t
        elif kind == "run" and begin is not None:
            runs.append((begin, t))
            begin = None
    if begin is not None:
        runs.append((begin, end_ns))
    sim = _starvation(runs, lead_ns)
    real = None
    if tools_error is None:
        start, end = window(seconds + lead)
        procs = [spawn(cpu, HOG, start, end), spawn(cpu, HOG, start + lead, end + 0.1, fifo=50)]
        outs = collect(procs, seconds + 10)
        _cpu_ns, hog_runs = parse_hog(outs[0])
        real = _starvation(hog_runs, lead_ns)
    print(f"\n(c) SCHED_OTHER hog alone for {lead} s, then a SCHED_FIFO hog on the same CPU"
          f" for {seconds} s (model: rt_throttle = {machine.rt_throttle}):"
          " the normal hog's runs after the FIFO start (start ms, length ms)")
    for name, r in (("virtual", sim), ("real", real)):
        shown = "n/a" if r is None else r[:5]
        total = "" if r is None else f"  total {sum(x[1] for x in r):.0f} ms"
        print(f"    {name:8} {shown}{total}")
    return {"virtual": sim, "real": real}


def scenario_d(seconds, tools_error):
    """Autogroup shares split by load: group A has hogs on CPUs 0 and 1,
    group B (another session) one hog on CPU 0."""
    kernel, sched = virtual()
    a0 = spawn_hog(sched, "a0", group="A", cpus=[0])
    spawn_hog(sched, "a1", group="A", cpus=[1])
    b0 = spawn_hog(sched, "b0", group="B", cpus=[0])
    kernel.run(until=round(seconds * NS_PER_S))
    sched.flush()
    sim = b0.cpu_ns / (a0.cpu_ns + b0.cpu_ns)
    real = None
    if tools_error is None and shutil.which("setsid"):
        start, end = window(seconds)
        outs = collect([spawn(0, HOG, start, end), spawn(1, HOG, start, end),
                        spawn(0, HOG, start, end, session=True)], seconds + 10)
        cpu_a0, cpu_b0 = parse_hog(outs[0])[0], parse_hog(outs[2])[0]
        real = cpu_b0 / (cpu_a0 + cpu_b0)
    print(f"\n(d) autogroups: group A hogs on CPU 0 and CPU 1, group B (own session)"
          f" hog on CPU 0, {seconds} s: B's share of CPU 0 between A and B")
    print(f"    per-core group weight 1024*load share: 2/3 = 0.667; virtual {sim:.3f};"
          f" real {'n/a' if real is None else f'{real:.3f}'}"
          "  (equal weights per core would give 0.500)")
    return {"virtual": sim, "real": real}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    tools_error = have_tools()
    print("validate_scheduler: real Linux vs klipsim's virtual scheduler (x86-vm-2core)")
    with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
        autogroup = f.read().strip()
    print(f"kernel {subprocess.run(['uname', '-r'], capture_output=True, text=True).stdout.strip()},"
          f" autogroup {autogroup}, real side pinned to CPU {args.cpu}")
    if tools_error:
        print(f"REAL SIDE SKIPPED: {tools_error}")
    results = {
        "a": scenario_a([0, 5, 10], args.seconds, args.cpu, tools_error),
        "a2": scenario_a([0, 0, -3, 2], args.seconds, args.cpu, tools_error),
        "b": scenario_b(args.seconds, args.cpu, tools_error),
        "c": scenario_c(args.seconds, args.cpu, tools_error),
        "d": scenario_d(args.seconds, tools_error),
    }
    print("\nnote: other work on this shared machine also runs on the real CPU;"
          " real latencies include Python overhead.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
