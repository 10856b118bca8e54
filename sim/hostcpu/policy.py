"""Thread policies: the scheduling class, nice/priority and affinity of each
of Klipper's host threads.

Contract: `load_policy(name_or_path)` returns a `Policy` from a built-in
(sim/hostcpu/policies/<name>.toml: `klipper-default`, `theos`) or a user file;
`policy.thread(role)` gives a `ThreadClass` (threads a file does not name
keep the Linux default: SCHED_OTHER, nice 0, every CPU; except
`linux_mcu`, which defaults to SCHED_FIFO priority 49 as Klipper's Linux
MCU sets itself, KLIPPER-FACTS 1);
`policy.check(machine)` rejects CPUs the machine does not have. File:

    [policy]             name, description (optional)
    [threads.<role>]     role: main | serialq | serialhdl | stepgen |
                         logger | aio | linux_mcu
    policy = "other"     other | fifo | rr
    nice = 0             -20..19, for other
    priority = 0         1..99 for fifo / rr, 0 for other
    cpus = [0, 1]        affinity, default all

Roles are Klipper's host threads (KLIPPER-FACTS 1): the main reactor
thread, the per-MCU serialqueue C thread ("serialq") and Python response
thread ("serialhdl"), the per-stepper step-generation C threads
("stepgen"), the log writer ("logger"), the file-I/O executors ("aio") and
a Linux-process MCU ("linux_mcu").
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..hostcpu import config_toml
from .config_toml import ConfigError, Table, load_toml, top_tables
from .threads import OTHER, POLICIES

POLICY_DIR = Path(__file__).parent / "policies"
ROLES = ("main", "serialq", "serialhdl", "stepgen", "logger", "aio", "linux_mcu")


@dataclass(frozen=True)
class ThreadClass:
    policy: str = OTHER
    nice: int = 0
    priority: int = 0
    cpus: tuple[int, ...] | None = None

    def spawn_args(self) -> dict:
        """Keyword arguments for Scheduler.spawn."""
        return {"policy": self.policy, "nice": self.nice,
                "priority": self.priority, "cpus": self.cpus}


# src/linux/main.c:realtime_setup: SCHED_FIFO at sched_get_priority_max/2
# = 49 (KLIPPER-FACTS 1), when started with its realtime flag.
ROLE_DEFAULTS = {"linux_mcu": ThreadClass("fifo", 0, 49)}


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    threads: tuple[tuple[str, ThreadClass], ...]
    source: str = ""

    def thread(self, role: str) -> ThreadClass:
        if role not in ROLES:
            raise KeyError(f"unknown thread role {role!r}")
        return dict(self.threads).get(role, ROLE_DEFAULTS.get(role, ThreadClass()))

    def check(self, machine) -> None:
        for role, tc in self.threads:
            if tc.cpus and max(tc.cpus) >= machine.cores:
                raise ConfigError(
                    f"{self.source}: [threads.{role}] cpus: CPU {max(tc.cpus)} "
                    f"does not exist on {machine.name} ({machine.cores} cores)")


def builtin_names() -> list[str]:
    return config_toml.builtin_names(POLICY_DIR)


def load_policy(name_or_path: str | Path) -> Policy:
    """A built-in policy by name, or a policy TOML file by path."""
    path = config_toml.find_toml(name_or_path, POLICY_DIR, "policy", "built-in")
    return parse_policy(path, load_toml(path))


def parse_policy(path, doc: dict) -> Policy:
    top_tables(path, doc, ("policy", "threads"))
    head = Table(path, "[policy]", doc.get("policy", {}))
    name = head.str("name", Path(path).stem)
    description = head.str("description", "")
    head.finish()
    threads = doc.get("threads", {})
    if not isinstance(threads, dict):
        raise ConfigError(f"{path}: threads: expected [threads.<role>] tables")
    out = []
    for role in sorted(threads):
        if role not in ROLES:
            raise ConfigError(f"{path}: [threads.{role}]: unknown thread "
                              f"(expected one of {', '.join(ROLES)})")
        out.append((role, parse_thread_class(Table(path, f"[threads.{role}]",
                                                   threads[role]))))
    return Policy(name, description, tuple(out), str(path))


def parse_thread_class(t: Table) -> ThreadClass:
    """policy / nice / priority / cpus of one table (also used by loads)."""
    policy = t.choice("policy", POLICIES, OTHER)
    nice = t.int("nice", 0, lo=-20, hi=19)
    if policy == OTHER:
        priority = t.int("priority", 0, lo=0, hi=0)
    else:
        priority = t.int("priority", lo=1, hi=99)
    cpus = t.int_list("cpus", None, lo=0)
    t.finish()
    return ThreadClass(policy, nice, priority, tuple(sorted(set(cpus))) if cpus else None)
