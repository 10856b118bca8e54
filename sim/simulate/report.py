"""The verdict report of `klipsim simulate` as JSON-ready data.

Contract: `build_report(result)` turns a SimResult into a dict with the
fields issue 3 asks for: `verdict` ("ok" / "shutdown"), `shutdown` (null
or {reason, mcu, time_s, clock, gcode_line, late_command,
deadline_class (motion, heater_pwm, pins, homing: whose deadline was
missed), starved_thread}),
`min_margin_ms` (smallest scheduled-clock-minus-arrival margin over every
scheduled command) and `margins_ms` per deadline class (motion,
heater_pwm, pins, homing; null when the class had no command), per-thread
CPU seconds with run-queue and GIL wait percentiles (ms), the serial
link's blocks and retransmits (on RTO and on nak apart; the most bytes
awaiting an ack, bytes the MCU's receive buffer lost, the longest a resent
block waited from its first send to its ack), and the pulse counts per
step pin.
`dumps(report)` gives the bytes written (stable: fixed key order, floats
rounded), so the same inputs and seed give the same bytes.

With several MCUs (or a Linux-process MCU) the margins are the minima
over every MCU (each converted with its own clock), `link` stays the
main MCU's, `pulses` names a secondary MCU's pins "NAME:pin", and `mcus`
gives per MCU: profile, clock (freq, offset, drift), its own margins,
link figures and, for a Linux MCU, how late its timers ran. With one
MCU the report is as it always was (no `mcus`).
"""
import json

from klipsim.lazy import numpy as np

from ...chelper._chelper import ffi, lib
from ...firmware.simulator import mcu as fw_mcu
from ..link.messages import CLASSES



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


class PulseCounts:
    """Steps and net direction (dir=1 minus dir=0) per step pin, summed
    over chunks of executed pulses (in C: chelper/src/pulsecount.c), or
    taken as totals the firmware counted itself (`add_totals`: a run that
    records no pulse, firmware/simulator/fwsim.h fw_set_pulse_counting)."""

    def __init__(self, pin_names):
        self.pin_names = pin_names
        self._npins = 0
        self._c_steps = self._c_ups = None
        self._grow(max(pin_names, default=-1) + 1)

    def _grow(self, npins):
        """Room for pins 0..npins-1, keeping the totals so far (cffi
        arrays, not numpy: a print without pulses imports no numpy)."""
        steps, ups = ffi.new("int64_t[]", npins), ffi.new("int64_t[]", npins)
        if self._npins:
            ffi.memmove(steps, self._c_steps, 8 * self._npins)
            ffi.memmove(ups, self._c_ups, 8 * self._npins)
        self._npins, self._c_steps, self._c_ups = npins, steps, ups

    def add(self, pulses):
        pulses = np.ascontiguousarray(pulses, dtype=fw_mcu.PULSE_DTYPE)
        assert ffi.sizeof("struct pulse_record") == pulses.dtype.itemsize
        records = ffi.cast("struct pulse_record *", ffi.from_buffer(pulses))
        need = lib.pulse_count(records, len(pulses), self._c_steps, self._c_ups,
                               self._npins)
        if need:                      # a pin past the dictionary's: grow, count again
            self._grow(need)
            lib.pulse_count(records, len(pulses), self._c_steps, self._c_ups, need)

    def add_totals(self, steps, ups):
        """Add per-pin totals (lists indexed by pin number)."""
        if len(steps) > self._npins:
            self._grow(len(steps))
        for pin, n in enumerate(steps):
            if n:
                self._c_steps[pin] += n
                self._c_ups[pin] += ups[pin]

    def as_dict(self):
        """{step pin: {"steps": n, "net": n_up - n_down}} by pin name."""
        steps = ffi.unpack(self._c_steps, self._npins)
        ups = ffi.unpack(self._c_ups, self._npins)
        pins = [pin for pin, n in enumerate(steps) if n]
        names = {pin: self.pin_names.get(pin, "?%d" % pin) for pin in pins}
        return {names[pin]: {"steps": steps[pin], "net": 2 * ups[pin] - steps[pin]}
                for pin in sorted(pins, key=lambda p: names[p])}


def _link(link):
    return {"blocks": link.blocks, "bytes": link.bytes_sent,
            "messages": link.messages, "retransmits": link.retransmits,
            "nak_retransmits": link.nak_retransmits,
            "bytes_retransmitted": link.bytes_retransmitted,
            "max_unacked_bytes": link.max_unacked_bytes, "mcu_rx_lost": link.mcu_rx_lost,
            "max_recovery_ms": (round(max(link.recoveries_ns) / 1e6, 3)
                                if link.recoveries_ns else None)}


def _mcu_entry(m):
    margins = {k: _ms(m["margins"].minimum[k], m["clock_freq"]) for k in CLASSES}
    entry = {"profile": m["profile"], "clock_freq": m["clock_freq"],
             "clock_offset": m["clock_offset"], "drift_ppm": m["drift_ppb"] / 1000.,
             "transport": m["transport"], "margins_ms": margins,
             "scheduled_commands": dict(m["margins"].counts), "link": _link(m["link"])}
    if m["linux"] is not None:
        entry["linux_process"] = m["linux"]
    return entry


def _combined_margins(mcus):
    """Per class, the smallest margin (ms) over every MCU; command counts
    summed."""
    margins, counts = {}, {k: 0 for k in CLASSES}
    for k in CLASSES:
        values = [_ms(m["margins"].minimum[k], m["clock_freq"]) for m in mcus.values()]
        values = [v for v in values if v is not None]
        margins[k] = min(values) if values else None
        for m in mcus.values():
            counts[k] += m["margins"].counts[k]
    return margins, counts


def build_report(result):
    o, freq = result.options, result.clock_freq
    margins = {k: _ms(result.margins.minimum[k], freq) for k in CLASSES}
    counts = dict(result.margins.counts)
    if result.mcus:
        margins, counts = _combined_margins(result.mcus)
    present = [v for v in margins.values() if v is not None]
    report = {
        "verdict": "shutdown" if result.shutdown else "ok",
        "shutdown": result.shutdown,
        "min_margin_ms": min(present) if present else None,
        "margins_ms": margins,
        "scheduled_commands": counts,
        "board": o.board, "policy": o.policy, "load": o.load, "seed": o.seed,
        "mcu": o.profile, "clock_freq": freq,
        "transport": o.transport, "baud": o.baud,
        "print_time_s": round(result.print_time, 6),
        "sim_time_s": round(result.end_ns / 1e9, 6),
        "gcode_errors": result.gcode_errors,
        "reactor_segments": result.segments,
        "responses_handled": result.responses,
        "link": _link(result.link),
        "pulses": result.pulse_counts,
        "threads": _threads(result.host_report),
        "gil_drop_requests": result.host_report["gil_drop_requests"],
    }
    if result.mcus:
        report["mcus"] = {name: _mcu_entry(m) for name, m in result.mcus.items()}
    return report


def dumps(report):
    return json.dumps(report, indent=1) + "\n"
