"""The modelled host computer in one object: machine + policy + loads.

Contract: `HostCPU(machine, policy, scenario=None, seed=0)` builds the
kernel (integer ns, seeded Generator), the scheduler configured from the
machine file, the CPython GIL of the Klipper process, and the load
scenario's threads. The host model then creates Klipper's threads with
`spawn_role(role, name, start)` (class, nice/priority and affinity from
the policy; all in the "klipper" autogroup, since klippy is one systemd
service) and kernel workers with `spawn_kworker(name, start)`; each thread
runs a program of continuations (threads.py) that charges its
host actions as CPU work. `report()` gives the per-thread metrics the
verdict report needs (CPU ns; run-queue wait, wake-up latency and GIL wait
percentiles in ns) plus per-core busy and switch overhead.

Example (a Python thread doing 2 ms of G-code work every 10 ms):

    host = HostCPU(load_machine("rpi3"), load_policy("theos"))
    def step():
        t = host.sched.current
        host.gil.run(t, host.cost_ns(2_000_000), lambda: done(t))
    def done(t):
        host.gil.release(t)
        t.sleep(10_000_000, step)
    host.spawn_role("main", "main", step)
    host.kernel.run(until=60 * NS_PER_S)
"""
from __future__ import annotations

from klipsim.lazy import default_rng

from .gil import GIL
from ..kernel.events import Kernel
from .load import Scenario, install
from .load import check as check_scenario
from .machine import Machine
from .policy import Policy
from .scheduler import Scheduler
from .stats import thread_report

KLIPPER_GROUP = "klipper"
KERNEL_GROUP = None          # kernel threads live in the root task group


class HostCPU:
    def __init__(self, machine: Machine, policy: Policy,
                 scenario: Scenario | None = None, seed: int = 0,
                 trace: bool = False):
        policy.check(machine)
        if scenario:
            check_scenario(scenario, machine)
        self.machine = machine
        self._speed = self.speed = machine.cpu_speed   # (speed: for inlined cost_ns)
        self.policy = policy
        self.kernel = Kernel(default_rng(seed), trace=trace)
        self.sched = Scheduler(self.kernel, machine.sched_config())
        self.gil = GIL(self.sched, machine.switch_interval_ns)
        self.load_threads = install(self.sched, scenario, self.kernel.rng) if scenario else []

    def cost_ns(self, reference_ns: int) -> int:
        """A cost measured on the reference machine (x86-vm-2core), scaled
        to this machine's speed."""
        return round(reference_ns / self._speed)

    def spawn_role(self, role: str, name: str, start, at: int | None = None):
        return self.sched.spawn(name, start, group=KLIPPER_GROUP, at=at,
                                **self.policy.thread(role).spawn_args())

    def spawn_process(self, role: str, name: str, group: str, start,
                      at: int | None = None):
        """A thread of another process (its own autogroup `group`, e.g. a
        Linux-process MCU's service) with the policy's class for `role`."""
        return self.sched.spawn(name, start, group=group, at=at,
                                **self.policy.thread(role).spawn_args())

    def spawn_kworker(self, name: str, start, at: int | None = None):
        for kw in self.machine.kworkers:
            if kw.name == name:
                return self.sched.spawn(name, start, nice=kw.nice, cpus=kw.cpus,
                                        group=KERNEL_GROUP, at=at)
        raise KeyError(f"machine {self.machine.name} has no [[kworker]] {name!r}")

    def report(self) -> dict:
        threads = thread_report(self.sched)
        cores = [{"busy_ns": c.busy_ns, "switch_overhead_ns": c.overhead_ns}
                 for c in self.sched.cores]
        return {"machine": self.machine.name, "policy": self.policy.name,
                "threads": threads, "cores": cores,
                "gil_drop_requests": self.gil.drop_requests}
