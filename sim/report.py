"""The verdict report of `klipsim simulate` as JSON-ready data.

Contract: `build_report(result)` turns a SimResult into a dict with the
fields issue 3 asks for: `verdict` ("ok" / "shutdown"), `shutdown` (null
or {reason, mcu, time_s, clock, gcode_line, starved_thread}),
`min_margin_ms` (smallest scheduled-clock-minus-arrival margin over every
scheduled command) and `margins_ms` per deadline class (motion,
heater_pwm, pins, homing; null when the class had no command), per-thread
CPU seconds with run-queue and GIL wait percentiles (ms), the serial
link's blocks and retransmits, and the pulse counts per step pin.
`dumps(report)` gives the bytes written (stable: fixed key order, floats
rounded), so the same inputs and seed give the same bytes.
"""
import json

import numpy as np

from .serial_link import CLASSES


def _ms(ticks, freq):
    return None if ticks is None else round(ticks * 1000. / freq, 4)


def _pct_ms(p):
    return {k: (round(v / 1e6, 4) if k != "n" else v) for k, v in p.items()}


def _threads(host_report):
    out = {}
    for name, t in host_report["threads"].items():
        out[name] = {
            "policy": t["policy"], "nice": t["nice"], "priority": t["priority"],
            "cpu_s": round(t["cpu_ns"] / 1e9, 6),
            "runq_wait_ms": _pct_ms(t["runq_wait_ns"]),
            "wake_latency_ms": _pct_ms(t["wake_latency_ns"]),
            "gil_wait_ms": _pct_ms(t["gil_wait_ns"]),
        }
    return out


def pulse_counts(pulses, pin_names):
    """{step pin: {"steps": n, "net": dir1 - dir0}} in pin-name order."""
    out = {}
    if not len(pulses):
        return out
    pins = pulses["pin"].astype(np.int64)
    counts = np.bincount(pins)
    ups = np.bincount(pins, weights=pulses["dir"]).astype(np.int64)
    for pin in sorted(np.flatnonzero(counts).tolist(), key=lambda p: pin_names.get(p, "")):
        out[pin_names.get(pin, "?%d" % pin)] = {
            "steps": int(counts[pin]), "net": int(2 * ups[pin] - counts[pin])}
    return out


def build_report(result):
    o, freq = result.options, result.clock_freq
    margins = {k: _ms(result.margins.minimum[k], freq) for k in CLASSES}
    present = [v for v in margins.values() if v is not None]
    link = result.link
    return {
        "verdict": "shutdown" if result.shutdown else "ok",
        "shutdown": result.shutdown,
        "min_margin_ms": min(present) if present else None,
        "margins_ms": margins,
        "scheduled_commands": dict(result.margins.counts),
        "board": o.board, "policy": o.policy, "load": o.load, "seed": o.seed,
        "mcu": o.profile, "clock_freq": freq,
        "transport": o.transport, "baud": o.baud,
        "print_time_s": round(result.print_time, 6),
        "sim_time_s": round(result.end_ns / 1e9, 6),
        "gcode_errors": result.gcode_errors,
        "reactor_segments": result.segments,
        "responses_handled": result.responses,
        "link": {"blocks": link.blocks, "bytes": link.bytes_sent,
                 "messages": link.messages, "retransmits": link.retransmits,
                 "bytes_retransmitted": link.bytes_retransmitted},
        "pulses": pulse_counts(result.pulses, result.pin_names),
        "threads": _threads(result.host_report),
        "gil_drop_requests": result.host_report["gil_drop_requests"],
    }


def dumps(report):
    return json.dumps(report, indent=1) + "\n"
