"""Machine descriptions: the host computer a simulation runs on.

Contract: `load_machine(name_or_path)` returns a `Machine` from a board
preset (sim/hostcpu/presets/<name>.toml) or a user TOML file; `machine.sched_config()`
gives the scheduler its kernel behaviour. File layout:

    [machine]   name, description, cores, cpu_speed (cost-model speed,
                x86-vm-2core = 1.0), context_switch_us
    [kernel]    tick_hz, base_slice_us (before the 1 + ilog2(ncpu) factor),
                rt_throttle = classic | fair_server | none,
                rt_period_us, rt_runtime_us, rr_slice_ms, autogroup,
                balance_interval_ms
    [python]    switch_interval_us (CPython, default 5000)
    [[kworker]] name, nice, cpus: kernel worker threads other models use
                (e.g. the tty flip-buffer worker, KLIPPER-FACTS 8)

Errors are `ConfigError` with one line naming file, section and key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config_toml import ConfigError, Table, builtin_names, find_toml, load_toml, top_tables
from ..kernel.events import NS_PER_MS, NS_PER_US
from .scheduler import THROTTLE_MODES, SchedConfig

PRESET_DIR = Path(__file__).parent / "presets"


@dataclass(frozen=True)
class KWorker:
    name: str
    nice: int
    cpus: tuple[int, ...] | None


@dataclass(frozen=True)
class Machine:
    name: str
    description: str
    cores: int
    cpu_speed: float
    context_switch_ns: int
    tick_hz: int
    base_slice_ns: int
    rt_throttle: str
    rt_period_ns: int
    rt_runtime_ns: int
    rr_slice_ns: int
    autogroup: bool
    balance_interval_ns: int
    switch_interval_ns: int
    kworkers: tuple[KWorker, ...] = field(default_factory=tuple)
    source: str = ""

    def sched_config(self, group_nice: dict | None = None) -> SchedConfig:
        return SchedConfig(
            cores=self.cores, base_slice_ns=self.base_slice_ns,
            tick_hz=self.tick_hz, context_switch_ns=self.context_switch_ns,
            rt_throttle=self.rt_throttle, rt_period_ns=self.rt_period_ns,
            rt_runtime_ns=self.rt_runtime_ns, rr_slice_ns=self.rr_slice_ns,
            autogroup=self.autogroup, group_nice=dict(group_nice or {}),
            balance_interval_ns=self.balance_interval_ns)


def preset_names() -> list[str]:
    return builtin_names(PRESET_DIR)


def load_machine(name_or_path: str | Path) -> Machine:
    """A board preset by name, or a machine TOML file by path."""
    path = find_toml(name_or_path, PRESET_DIR, "machine", "preset")
    return parse_machine(path, load_toml(path))


def parse_machine(path, doc: dict) -> Machine:
    top_tables(path, doc, ("machine", "kernel", "python", "kworker"))
    m = Table(path, "[machine]", doc.get("machine", {}))
    k = Table(path, "[kernel]", doc.get("kernel", {}))
    py = Table(path, "[python]", doc.get("python", {}))
    cores = m.int("cores", lo=1, hi=256)
    rt_period_us = k.int("rt_period_us", 1_000_000, lo=1)
    rt_runtime_us = k.int("rt_runtime_us", 950_000, lo=0)
    if rt_runtime_us > rt_period_us:
        k.fail("rt_runtime_us", f"{rt_runtime_us} exceeds rt_period_us {rt_period_us}")
    machine = Machine(
        name=m.str("name", Path(path).stem),
        description=m.str("description", ""),
        cores=cores,
        # upper bounds: 1000x the reference core, a 1 s context switch
        # (beyond any machine; larger values only overflow ns integers)
        cpu_speed=m.num("cpu_speed", 1.0, lo=0.001, hi=1000.),
        context_switch_ns=round(m.num("context_switch_us", 0.0, lo=0, hi=1e6) * NS_PER_US),
        tick_hz=k.int("tick_hz", 250, lo=0, hi=10_000),
        base_slice_ns=k.int("base_slice_us", 750, lo=100, hi=100_000) * NS_PER_US,
        rt_throttle=k.choice("rt_throttle", THROTTLE_MODES, "classic"),
        rt_period_ns=rt_period_us * NS_PER_US,
        rt_runtime_ns=rt_runtime_us * NS_PER_US,
        rr_slice_ns=k.int("rr_slice_ms", 100, lo=1) * NS_PER_MS,
        autogroup=k.bool("autogroup", False),
        balance_interval_ns=k.int("balance_interval_ms", 4, lo=1) * NS_PER_MS,
        switch_interval_ns=py.int("switch_interval_us", 5000, lo=1) * NS_PER_US,
        kworkers=_kworkers(path, doc.get("kworker", []), cores),
        source=str(path),
    )
    for table in (m, k, py):
        table.finish()
    return machine


def _kworkers(path, items, cores: int) -> tuple[KWorker, ...]:
    if not isinstance(items, list):
        raise ConfigError(f"{path}: kworker: expected [[kworker]] tables")
    out = []
    for i, item in enumerate(items):
        t = Table(path, f"[[kworker]] #{i + 1}", item)
        cpus = t.int_list("cpus", None, lo=0, hi=cores - 1)
        out.append(KWorker(t.str("name"), t.int("nice", 0, lo=-20, hi=19),
                           tuple(cpus) if cpus else None))
        t.finish()
    return tuple(out)
