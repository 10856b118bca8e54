"""The spec of a `klipsim sweep`: which simulate runs to make.

Contract: `load_spec(path)` reads a TOML file into a `SweepSpec` or raises
ConfigError naming the file and key ("spec.toml: [spikes] phases: ...");
`expand(spec)` lists its runs (`RunSpec`), one per combination of print x
board x policy x load x spike length x spike start x seed, in that
nesting order (the order of the table's rows). File layout:

    [sweep]
    name = "webcam-pi3"          optional (default: the file's stem)
    boards = ["rpi3"]            presets or TOML files (default rpi3)
    policies = ["klipper-default", "theos"]
    loads = ["webcam-moonraker"] bundled names, TOML files or "none"
    seeds = [0, 1]               or a count: seeds = 2 (0 and 1)

    [[print]]                    one or more
    name = "cube"                optional (default: the G-code's stem)
    gcode = "cube.gcode"         paths are relative to the spec file
    config = "printer.cfg"       (default: klipsim's examples/printer.cfg)
    mcu = "stm32f446"            the main MCU's firmware profile
    mcus = { host = "linux" }    optional: profiles of [mcu NAME]
    transport = "uart"           uart | usb | pty
    baud = 250000
    max_sim_s = 60               optional cap on simulated seconds

    [spikes]                     the CPU spike added to each run's load
    durations_ms = [50, 100, 200]    0 = no spike (a baseline column)
    phases = 8                   starts spread evenly over [from_s, to_s)
    from_s = 1.0
    to_s = 3.0
    at_s = [1.0, 1.13]           ...or explicit start times (not both)
    policy = "fifo"              class of the spike threads
    priority = 50
    nice = 0
    threads = 4
    cpus = [0, 1]                optional affinity

A run's spike is one [[spike]] table appended to its load scenario
(sim/hostcpu/load.py), named "sweep-spike".
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..hostcpu.config_toml import ConfigError, Table, find_toml, load_toml, top_tables
from ..hostcpu.load import LOAD_DIR, parse_scenario
from ..hostcpu.machine import load_machine
from ..hostcpu.policy import load_policy, parse_thread_class
from ..hostcpu.threads import OTHER

EXAMPLE_CONFIG = Path(__file__).parents[2] / "examples" / "printer.cfg"
TRANSPORTS = ("uart", "usb", "pty")
NO_LOAD = "none"


@dataclass(frozen=True)
class PrintSpec:
    name: str
    gcode: Path
    config: Path
    mcu: str
    mcus: tuple[tuple[str, str], ...]
    transport: str
    baud: int
    max_sim_s: float | None


@dataclass(frozen=True)
class SpikeGrid:
    durations_ms: tuple[float, ...]
    starts_s: tuple[float, ...]
    policy: str
    priority: int
    nice: int
    threads: int
    cpus: tuple[int, ...] | None

    def label(self) -> str:
        """The spike threads' class, e.g. "fifo:50" or "other:0"."""
        return "%s:%d" % (self.policy, self.nice if self.policy == OTHER else self.priority)

    def toml(self, duration_ms: float, at_s: float) -> str:
        """The [[spike]] table of one run (appended to its load file)."""
        lines = ["", "[[spike]]", 'name = "sweep-spike"', "at_s = %r" % at_s,
                 "duration_ms = %r" % duration_ms, "threads = %d" % self.threads,
                 'policy = "%s"' % self.policy]
        if self.policy == OTHER:
            lines.append("nice = %d" % self.nice)
        else:
            lines.append("priority = %d" % self.priority)
        if self.cpus:
            lines.append("cpus = %s" % list(self.cpus))
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SweepSpec:
    path: Path
    name: str
    prints: tuple[PrintSpec, ...]
    boards: tuple[str, ...]
    policies: tuple[str, ...]
    loads: tuple[tuple[str, Path | None], ...]     # (label, file or None)
    spikes: SpikeGrid
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class RunSpec:
    """One simulate run: its table parameters and where its inputs are."""
    index: int
    print: PrintSpec
    board: str
    policy: str
    load: str
    load_path: Path | None
    spike_ms: float
    spike_at_s: float
    phase: int
    seed: int

    def params(self, grid: SpikeGrid) -> dict:
        return {"print": self.print.name, "board": self.board, "policy": self.policy,
                "load": self.load, "seed": self.seed, "spike_ms": self.spike_ms,
                "spike_at_s": self.spike_at_s, "phase": self.phase,
                "spike_class": grid.label(), "spike_threads": grid.threads,
                "spike_cpus": " ".join(map(str, grid.cpus)) if grid.cpus else "all"}


# ---- reading ------------------------------------------------------------------
def load_spec(path) -> SweepSpec:
    path = Path(path)
    doc = load_toml(path)
    top_tables(path, doc, ("sweep", "print", "spikes"))
    head = Table(path, "[sweep]", doc.get("sweep", {}))
    name = head.str("name", path.stem)
    boards = _names(head, "boards", ["rpi3"])
    policies = _names(head, "policies", ["klipper-default"])
    loads = _names(head, "loads", [NO_LOAD])
    seeds = _seeds(head)
    head.finish()
    prints = doc.get("print")
    if not isinstance(prints, list) or not prints:
        raise ConfigError(f"{path}: [[print]]: missing (at least one print to simulate)")
    spec = SweepSpec(
        path, name,
        tuple(_print(Table(path, f"[[print]] #{i + 1}", p), path.parent)
              for i, p in enumerate(prints)),
        tuple(_check_named(head, "boards", b, load_machine) for b in boards),
        tuple(_check_named(head, "policies", p, load_policy) for p in policies),
        tuple(_load(head, name, path.parent) for name in loads),
        _spikes(Table(path, "[spikes]", doc.get("spikes", {}))),
        seeds)
    _unique(path, "[[print]] name", [p.name for p in spec.prints])
    return spec


def _names(t: Table, key: str, default: list) -> list[str]:
    value = t._get(key, default)
    if not isinstance(value, list) or not value or \
            any(not isinstance(v, str) or not v for v in value):
        t.fail(key, f"expected a non-empty list of names, got {value!r}")
    if len(set(value)) != len(value):
        t.fail(key, "a name is listed twice")
    return value


def _seeds(t: Table) -> tuple[int, ...]:
    value = t._get("seeds", 1)
    if type(value) is int:
        if value < 1:
            t.fail("seeds", f"a count must be >= 1, got {value}")
        return tuple(range(value))
    seeds = t.int_list("seeds", lo=0)
    if len(set(seeds)) != len(seeds):
        t.fail("seeds", "a seed is listed twice")
    return tuple(seeds)


def _resolve(base: Path, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else base / p


def _print(t: Table, base: Path) -> PrintSpec:
    gcode = _resolve(base, t.str("gcode"))
    if not gcode.is_file():
        t.fail("gcode", f"no such file: {gcode}")
    config = _resolve(base, t.str("config", str(EXAMPLE_CONFIG)))
    if not config.is_file():
        t.fail("config", f"no such file: {config}")
    name = t.str("name", gcode.name.split(".")[0])
    mcus = t._get("mcus", {})
    if not isinstance(mcus, dict) or any(not isinstance(v, str) for v in mcus.values()):
        t.fail("mcus", f"expected a table of MCU name = profile, got {mcus!r}")
    spec = PrintSpec(name, gcode, config, t.str("mcu", "stm32f446"),
                     tuple(sorted(mcus.items())), t.choice("transport", TRANSPORTS, "uart"),
                     t.int("baud", 250000, lo=1200),
                     t.num("max_sim_s", 0., lo=0.) or None)
    _check_profiles(t, spec)
    t.finish()
    return spec


def _check_profiles(t: Table, spec: PrintSpec) -> None:
    from ...firmware.simulator import mcu as fwmcu
    known = fwmcu.profile_names()
    for key, profile in [("mcu", spec.mcu)] + [("mcus", p) for _, p in spec.mcus]:
        if profile not in known:
            t.fail(key, f"unknown firmware profile {profile!r} (built: {', '.join(known)})")


def _check_named(t: Table, key: str, name: str, loader) -> str:
    """A board or policy name (or file) that `loader` accepts."""
    try:
        loader(_resolve_named(t, name))
    except ConfigError as e:
        t.fail(key, str(e))
    return name


def _resolve_named(t: Table, name: str) -> str:
    """A built-in name stays a name; a path is taken relative to the spec."""
    if name.endswith(".toml"):
        return str(_resolve(Path(t.path).parent, name))
    return name


def _load(t: Table, name: str, base: Path) -> tuple[str, Path | None]:
    if name == NO_LOAD:
        return NO_LOAD, None
    target = str(_resolve(base, name)) if name.endswith(".toml") else name
    try:
        path = find_toml(target, LOAD_DIR, "load", "bundled load")
        parse_scenario(path, load_toml(path))
    except ConfigError as e:
        t.fail("loads", str(e))
    return Path(path).stem, Path(path)


def _spikes(t: Table) -> SpikeGrid:
    durations = t._get("durations_ms", [0])
    if not isinstance(durations, list) or not durations or \
            any(type(d) not in (int, float) or d < 0 for d in durations):
        t.fail("durations_ms", f"expected a non-empty list of lengths >= 0, got {durations!r}")
    if sorted(set(durations)) != list(durations):
        t.fail("durations_ms", "list the lengths once each, shortest first")
    starts = _starts(t)
    cls = parse_thread_class(_SpikeClass(t))
    grid = SpikeGrid(tuple(float(d) for d in durations), starts, cls.policy, cls.priority,
                     cls.nice, t.int("threads", 1, lo=1, hi=64), cls.cpus)
    t.finish()
    return grid


def _starts(t: Table) -> tuple[float, ...]:
    if "at_s" in t.data:
        for key in ("phases", "from_s", "to_s"):
            if key in t.data:
                t.fail(key, "give either at_s or phases/from_s/to_s, not both")
        value = t._get("at_s", None)
        if not isinstance(value, list) or not value or \
                any(type(v) not in (int, float) or v < 0 for v in value):
            t.fail("at_s", f"expected a non-empty list of start times >= 0, got {value!r}")
        return tuple(float(v) for v in value)
    phases = t.int("phases", 1, lo=1, hi=10_000)
    start = t.num("from_s", 1.0, lo=0.)
    if phases == 1 and "to_s" not in t.data:
        return (start,)
    end = t.num("to_s", lo=0.)
    if end <= start:
        t.fail("to_s", f"must be after from_s ({start})")
    step = (end - start) / phases
    return tuple(round(start + k * step, 6) for k in range(phases))


class _SpikeClass(Table):
    """The class keys of [spikes] (policy, priority, nice, cpus) as their
    own table for parse_thread_class, errors still naming [spikes]."""

    def __init__(self, t: Table):
        keys = ("policy", "priority", "nice", "cpus")
        data = {k: v for k, v in t.data.items() if k in keys}
        data.setdefault("policy", "fifo")
        if data["policy"] != OTHER:
            data.setdefault("priority", 50)
        super().__init__(t.path, t.where, data)
        t.used.update(keys)


def _unique(path, what: str, names: list[str]) -> None:
    seen = set()
    for n in names:
        if n in seen:
            raise ConfigError(f"{path}: {what}: {n!r} used twice")
        seen.add(n)


# ---- the runs ---------------------------------------------------------------------
def expand(spec: SweepSpec) -> list[RunSpec]:
    runs = []
    for pr in spec.prints:
        for board in spec.boards:
            for policy in spec.policies:
                for load, load_path in spec.loads:
                    for duration in spec.spikes.durations_ms:
                        starts = spec.spikes.starts_s if duration else spec.spikes.starts_s[:1]
                        for phase, at in enumerate(starts):
                            for seed in spec.seeds:
                                runs.append(RunSpec(len(runs), pr, board, policy, load,
                                                    load_path, duration, at if duration else 0.,
                                                    phase, seed))
    return runs
