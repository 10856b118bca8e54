"""Per-thread scheduling metrics for reports, in integer nanoseconds.

Contract: `percentiles(samples)` gives nearest-rank p50/p90/p99/max of a
list of ints (ints out, so reports are byte-stable); `thread_report(sched)`
returns, per thread in creation order, CPU ns, run-queue wait (runnable
but not running), wake-up latency (wake to first instruction, context
switch included) and GIL wait percentiles, and switch counts.
"""
from __future__ import annotations

PCTS = (50, 90, 99)


def percentiles(samples: list[int]) -> dict[str, int]:
    """Nearest-rank percentiles; all zero for no samples."""
    if not samples:
        return {"n": 0, **{f"p{p}": 0 for p in PCTS}, "max": 0}
    ordered = sorted(samples)
    n = len(ordered)
    out = {"n": n}
    for p in PCTS:
        rank = max(1, -(-p * n // 100))        # ceil(p/100 * n)
        out[f"p{p}"] = ordered[rank - 1]
    out["max"] = ordered[-1]
    return out


def thread_report(sched) -> dict[str, dict]:
    sched.flush()
    report = {}
    for t in sched.threads:
        report[t.name] = {
            "policy": t.policy, "nice": t.nice, "priority": t.priority,
            "cpu_ns": t.cpu_ns,
            "switches": t.switches,
            "runq_wait_ns": percentiles(t.runq_waits),
            "wake_latency_ns": percentiles(t.wake_latencies),
            "gil_wait_ns": percentiles(t.gil_waits),
        }
    return report
