"""Load scenarios (rt-app-like): steady background processes and CPU spikes.

Contract: `load_scenario(path)` reads a TOML file into a `Scenario`;
`install(sched, scenario, rng)` spawns its threads on a Scheduler and
returns them; `spawn_periodic` and `spawn_hog` are the building blocks
(also used by tests and benchmarks). The loads' periodic threads run
`spawn_periodic`'s program in C (`spawn_periodic_native`, a native
program: chelper/src/vsprog.h); the Python one is its reference model
(tests/test_native_programs.py compares them). File layout:

    [[load]]                 a steady process, e.g. a webcam encoder
    name = "webcam"
    threads = 1
    policy = "other"         other | fifo | rr (+ nice / priority / cpus)
    duty = 0.35              CPU fraction of one core per thread...
    period_ms = 33           ...as `duty * period` of work every period
    start_s = 0.0            optional
    group = "webcam"         optional autogroup (default: its own group)

    [[spike]]                a burst that takes whole cores
    name = "hog"
    at_s = 30.0              first start, seconds into the run
    every_s = 10.0           optional repeat period
    count = 3                optional number of repeats (default: forever
                             with every_s, else 1)
    duration_ms = 300        each thread spins until at + duration
    threads = 4
    policy = "fifo"
    priority = 50

A load thread does `duty * period` of CPU work, then sleeps until its next
period start (no catch-up: a late period starts when the work is done).
Each thread starts at a random phase inside its period drawn from the
given numpy Generator, so seeds change phases and nothing else. A spike
thread busy-loops from its start time to start + duration (it stops at the
end even if it was preempted meanwhile, like `stress --timeout`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from klipsim.lazy import numpy as np

from ...chelper._chelper import ffi, lib
from .config_toml import ConfigError, Table, find_toml, load_toml, top_tables
from ..kernel.events import NS_PER_MS, NS_PER_S, SimError
from .policy import ThreadClass, parse_thread_class
from .threads import OTHER
from .vthreads import NativeProgram


@dataclass(frozen=True)
class PeriodicLoad:
    name: str
    threads: int
    cls: ThreadClass
    duty: float
    period_ns: int
    start_ns: int
    group: str


@dataclass(frozen=True)
class Spike:
    name: str
    at_ns: int
    every_ns: int | None
    count: int | None
    duration_ns: int
    threads: int
    cls: ThreadClass
    group: str


@dataclass(frozen=True)
class Scenario:
    name: str
    loads: tuple[PeriodicLoad, ...] = ()
    spikes: tuple[Spike, ...] = ()
    source: str = ""


# Times in a scenario are at most 30 days (klipsim's bound on a print,
# host/bounds.py MAX_PRINT_TIME): larger ones only overflow ns integers.
MAX_S = 30 * 86400.
MAX_MS = MAX_S * 1000.


def _ns(seconds: float) -> int:
    return round(seconds * NS_PER_S)


LOAD_DIR = Path(__file__).parent / "loads"


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A bundled load scenario by name (sim/hostcpu/loads/NAME.toml), or a load
    TOML file by path."""
    path = find_toml(name_or_path, LOAD_DIR, "load", "bundled load")
    return parse_scenario(path, load_toml(path))


def parse_scenario(path, doc: dict) -> Scenario:
    top_tables(path, doc, ("load", "spike"))
    loads = [_parse_load(Table(path, f"[[load]] #{i + 1}", item))
             for i, item in enumerate(_array(path, doc, "load"))]
    spikes = [_parse_spike(Table(path, f"[[spike]] #{i + 1}", item))
              for i, item in enumerate(_array(path, doc, "spike"))]
    return Scenario(Path(path).stem, tuple(loads), tuple(spikes), str(path))


def _array(path, doc, key):
    items = doc.get(key, [])
    if not isinstance(items, list):
        raise ConfigError(f"{path}: {key}: expected [[{key}]] tables")
    return items


def _parse_load(t: Table) -> PeriodicLoad:
    name = t.str("name")
    t.where = f"[[load]] {name}"
    load = dict(
        name=name,
        threads=t.int("threads", 1, lo=1, hi=1024),
        duty=t.num("duty", lo=0.0, hi=1.0),
        period_ns=round(t.num("period_ms", lo=0.01, hi=MAX_MS) * NS_PER_MS),
        start_ns=_ns(t.num("start_s", 0.0, lo=0.0, hi=MAX_S)),
        group=t.str("group", "load:" + name))
    return PeriodicLoad(cls=parse_thread_class(t), **load)


def _parse_spike(t: Table) -> Spike:
    name = t.str("name")
    t.where = f"[[spike]] {name}"
    every = t.num("every_s", 0.0, lo=0.0, hi=MAX_S)
    count = t.int("count", 0, lo=0)
    duration_ns = round(t.num("duration_ms", lo=0.0, hi=MAX_MS) * NS_PER_MS)
    if every and _ns(every) < duration_ns:
        t.fail("every_s", "shorter than duration_ms")
    if count > 1 and not every:
        t.fail("count", "a repeat count needs every_s")
    spike = dict(
        name=name,
        at_ns=_ns(t.num("at_s", lo=0.0, hi=MAX_S)),
        every_ns=_ns(every) if every else None,
        count=count or (None if every else 1),
        duration_ns=duration_ns,
        threads=t.int("threads", 1, lo=1, hi=1024),
        group=t.str("group", "spike:" + name))
    return Spike(cls=parse_thread_class(t), **spike)


def check(scenario: Scenario, machine) -> None:
    """Refuse what the machine cannot run: a CPU it does not have, or a
    spike that never ends and holds every CPU at a real-time priority.
    The latter leaves the host no CPU at all, so no simulated time passes
    for Klipper and the run could never end; a spike that does end (even
    one taking all CPUs for seconds) is a valid what-if and is simulated."""
    for item in scenario.loads + scenario.spikes:
        kind = "load" if isinstance(item, PeriodicLoad) else "spike"
        where = f"{scenario.source}: [[{kind}]] {item.name}"
        cpus = item.cls.cpus
        if cpus and max(cpus) >= machine.cores:
            raise ConfigError(f"{where}: cpus: CPU {max(cpus)} does not exist on "
                              f"{machine.name} ({machine.cores} cores)")
    for spike in scenario.spikes:
        covered = min(spike.threads, len(spike.cls.cpus or range(machine.cores)))
        endless = (spike.every_ns is not None and spike.count is None
                   and spike.every_ns <= spike.duration_ns)
        if endless and spike.cls.policy != OTHER and covered >= machine.cores:
            raise ConfigError(
                f"{scenario.source}: [[spike]] {spike.name}: {spike.threads} "
                f"{spike.cls.policy} threads spinning without end on all "
                f"{machine.cores} CPUs of {machine.name} leave no CPU for the host "
                f"(give a count, a longer every_s, fewer threads or fewer cpus)")


# -- installing on a scheduler -------------------------------------------
def install(sched, scenario: Scenario, rng: np.random.Generator) -> list:
    threads = []
    for load in scenario.loads:
        for i in range(load.threads):
            threads.append(_spawn_periodic(sched, load, i, rng))
    for spike in scenario.spikes:
        for i in range(spike.threads):
            threads.append(_spawn_spike(sched, spike, i))
    return threads


def _spawn_periodic(sched, load: PeriodicLoad, i: int, rng):
    first = load.start_ns + int(rng.integers(0, load.period_ns))
    return spawn_periodic_native(sched, f"{load.name}/{i}",
                          round(load.duty * load.period_ns), load.period_ns,
                          first, group=load.group, **load.cls.spawn_args())


def spawn_periodic(sched, name: str, work_ns: int, period_ns: int,
                   first_ns: int = 0, catch_up: bool = False, **spawn_args):
    """A thread doing `work_ns` of CPU every `period_ns` from `first_ns`,
    sleeping until the next period start. A late period starts at once;
    with `catch_up` the period grid is kept (missed periods run back to
    back, as a loop doing `target += period` would), else it slips."""
    box = {"start": first_ns}

    def run_period():
        t = sched.current
        if work_ns >= period_ns:
            t.compute(period_ns, run_period)
            return
        t.compute(work_ns, sleep_to_next)

    def sleep_to_next():
        box["start"] += period_ns
        if not catch_up:
            box["start"] = max(box["start"], sched.kernel.now)
        sched.current.sleep_until(box["start"], run_period)

    return sched.spawn(name, run_period, at=first_ns, **spawn_args)


def spawn_periodic_native(sched, name: str, work_ns: int, period_ns: int,
                          first_ns: int = 0, catch_up: bool = False, **spawn_args):
    """spawn_periodic's thread with its program in C (the C scheduler
    only)."""
    for ns in (work_ns, period_ns, first_ns):
        if ns.__class__ is not int or ns < 0:
            raise SimError(f"thread {name}: periodic load needs int ns >= 0, got {ns!r}")
    prog = ffi.gc(lib.periodic_prog_new(sched.kernel._vs, work_ns, period_ns, first_ns,
                                        bool(catch_up)), lib.periodic_prog_free)
    program = NativeProgram(lambda t: lib.periodic_prog_attach(prog, t), prog)
    return sched.spawn(name, program, at=first_ns, **spawn_args)


def spawn_hog(sched, name: str, **spawn_args):
    """An always-runnable thread (a busy loop)."""
    def spin():
        sched.current.compute(NS_PER_S, spin)
    return sched.spawn(name, spin, **spawn_args)


def _spawn_spike(sched, spike: Spike, i: int):
    box = {"start": spike.at_ns, "left": spike.count}

    def burst():
        t = sched.current
        start = box["start"]
        t.compute(spike.duration_ns, after, until=start + spike.duration_ns)

    def after():
        t = sched.current
        if box["left"] is not None:
            box["left"] -= 1
            if box["left"] <= 0:
                t.exit()
                return
        box["start"] = max(box["start"] + spike.every_ns, sched.kernel.now)
        t.sleep_until(box["start"], burst)

    return sched.spawn(f"{spike.name}/{i}", burst, group=spike.group,
                       at=spike.at_ns, **spike.cls.spawn_args())
