"""One run of a sweep, as a task that can run anywhere.

Contract: `make_task(run, spec)` packs a RunSpec into a `task` dict: the
run's table parameters, its simulate options and the bytes of every
input file (G-code, printer.cfg, load scenario with the run's spike
appended, board and policy files when they are files), so a worker needs
nothing but klipsim itself. `task_key(task)` is the hash of all of that
and of klipsim's own source files (`klipsim_digest`): the cache key.
`run_task(task)` writes the files into a private temporary directory,
runs `simulate` and returns the row (`row_from_report`): every parameter,
the verdict, the shutdown's reason, deadline class, first late command,
G-code line and starved thread, the smallest margin per class and CPU
figures. A run that cannot start (a config error, ...) gives a row with
verdict "error" and the message. Rows hold no wall-clock figure and no
temporary path, so the same task gives the same row bytes on any host.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from ..simulate.plot import klipper_thread as _klipper_thread

PACKAGE_DIR = Path(__file__).resolve().parents[2]   # the klipsim package root
SOURCE_SUFFIXES = (".py", ".c", ".h", ".toml", ".json", ".cfg")
SOURCE_DIRS = ("sim", "host", "gcode", "chelper", "firmware", "commands")
CLASSES = ("motion", "heater_pwm", "pins", "homing")


@lru_cache(maxsize=1)
def klipsim_digest() -> str:
    """Hash of klipsim's version and source files: a changed model makes
    new cache keys, so stale rows are never reused."""
    from importlib.metadata import version, PackageNotFoundError
    h = hashlib.sha256()
    try:
        h.update(version("klipsim").encode())
    except PackageNotFoundError:
        h.update(b"unknown")
    for folder in SOURCE_DIRS:
        for path in sorted((PACKAGE_DIR / folder).rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and "_gen" not in path.parts \
                    and path.is_file():
                h.update(str(path.relative_to(PACKAGE_DIR)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _named_file(name: str):
    """(basename, bytes) of a board/policy given as a file, else None."""
    return (os.path.basename(name), Path(name).read_bytes()) if name.endswith(".toml") else None


def make_task(run, spec) -> dict:
    pr = run.print
    load_text = run.load_path.read_text() if run.load_path else ""
    if run.spike_ms:
        load_text += spec.spikes.toml(run.spike_ms, run.spike_at_s)
    base = spec.path.parent
    return {
        "params": run.params(spec.spikes),
        "gcode": (pr.gcode.name, pr.gcode.read_bytes()),
        "config": (pr.config.name, pr.config.read_bytes()),
        "load": (run.load + ".toml", load_text.encode()) if load_text else None,
        "board": _named_file(str(base / run.board) if run.board.endswith(".toml")
                             else run.board) or run.board,
        "policy": _named_file(str(base / run.policy) if run.policy.endswith(".toml")
                              else run.policy) or run.policy,
        "options": {"profile": pr.mcu, "mcus": list(pr.mcus), "transport": pr.transport,
                    "baud": pr.baud, "max_sim_s": pr.max_sim_s, "seed": run.seed},
    }


def task_key(task: dict) -> str:
    h = hashlib.sha256(klipsim_digest().encode())
    h.update(json.dumps(task, sort_keys=True, default=_hash_bytes).encode())
    return h.hexdigest()[:24]


def _hash_bytes(value):
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    raise TypeError(type(value))


# ---- on the worker ----------------------------------------------------------------
def _write(folder: str, kind: str, entry) -> str | None:
    """The file of one input in its own sub-folder (names never clash)."""
    if entry is None:
        return None
    if isinstance(entry, str):
        return entry                        # a built-in board / policy name
    name, data = entry
    os.makedirs(os.path.join(folder, kind))
    path = os.path.join(folder, kind, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def run_task(task: dict) -> dict:
    """Run one task's simulation and return its table row."""
    from ..simulate.mcu_link import McuSettings
    from ..simulate.report import build_report
    from ..simulate.simulation import SimOptions, simulate
    with tempfile.TemporaryDirectory(prefix="klipsim-sweep-") as tmp:
        paths = {k: _write(tmp, k, task[k]) for k in ("gcode", "config", "load", "board", "policy")}
        o = task["options"]
        options = SimOptions(profile=o["profile"], board=paths["board"], policy=paths["policy"],
                             load=paths["load"], seed=o["seed"], transport=o["transport"],
                             baud=o["baud"], max_sim_s=o["max_sim_s"], keep_pulses=False,
                             mcus={n: McuSettings(p) for n, p in o["mcus"]})
        try:
            report = build_report(simulate(paths["gcode"], paths["config"], options))
        except Exception as e:     # noqa: BLE001 - any failure is this run's row
            message = str(e).replace(tmp + os.sep, "").replace(tmp, "")
            return error_row(task["params"], "%s: %s" % (type(e).__name__, message))
    return row_from_report(task["params"], report)


# ---- rows -------------------------------------------------------------------------------
RESULT_COLUMNS = (
    "verdict", "reason", "shutdown_mcu", "shutdown_s", "deadline_class", "late_command",
    "late_margin_ms", "held_by", "gcode_line", "starved_thread", "starved_wait_ms",
    "min_margin_ms") + tuple("margin_%s_ms" % k for k in CLASSES) + (
    "print_time_s", "sim_time_s", "cpu_klipper_s", "cpu_main_s", "cpu_serialq_s",
    "cpu_serialhdl_s", "cpu_load_s", "main_runq_max_ms", "serialq_wake_max_ms",
    "retransmits")
PARAM_COLUMNS = ("print", "board", "policy", "load", "seed", "spike_ms", "spike_at_s",
                 "phase", "spike_class", "spike_threads", "spike_cpus")
COLUMNS = PARAM_COLUMNS + RESULT_COLUMNS


def error_row(params: dict, message: str) -> dict:
    row = dict(params)
    row.update({k: None for k in RESULT_COLUMNS})
    row.update(verdict="error", reason=message)
    return row


def row_from_report(params: dict, report: dict) -> dict:
    row = dict(params)
    s = report["shutdown"] or {}
    late = s.get("late_command") or {}
    starved = s.get("starved_thread") or {}
    threads = report["threads"]
    load_cpu = sum(t["cpu_s"] for n, t in threads.items() if not _klipper_thread(n))
    main = threads.get("klippy", {})
    serialq = threads.get("serialq mcu", {})
    row.update({
        "verdict": report["verdict"], "reason": s.get("reason"),
        "shutdown_mcu": s.get("mcu"), "shutdown_s": s.get("time_s"),
        "deadline_class": s.get("deadline_class"), "late_command": late.get("name"),
        "late_margin_ms": late.get("margin_ms"), "held_by": late.get("held_by"),
        "gcode_line": s.get("gcode_line"), "starved_thread": starved.get("name"),
        "starved_wait_ms": starved.get("waiting_ms"),
        "min_margin_ms": report["min_margin_ms"],
        "print_time_s": report["print_time_s"], "sim_time_s": report["sim_time_s"],
        "cpu_klipper_s": round(sum(t["cpu_s"] for n, t in threads.items()
                                   if _klipper_thread(n)), 6),
        "cpu_main_s": main.get("cpu_s"), "cpu_serialq_s": serialq.get("cpu_s"),
        "cpu_serialhdl_s": threads.get("serialhdl mcu", {}).get("cpu_s"),
        "cpu_load_s": round(load_cpu, 6),
        "main_runq_max_ms": main.get("runq_wait_ms", {}).get("max"),
        "serialq_wake_max_ms": serialq.get("wake_latency_ms", {}).get("max"),
        "retransmits": report["link"]["retransmits"] + report["link"]["nak_retransmits"],
    })
    for k in CLASSES:
        row["margin_%s_ms" % k] = report["margins_ms"].get(k)
    return row
