"""HostCPU: machine + policy + loads wired together; the theos policy's
nice values reach the threads, and its effect follows the weight table."""
import pytest

from klipsim.sim.hostcpu.cpu import HostCPU
from klipsim.sim.kernel.events import NS_PER_MS, NS_PER_S
from klipsim.sim.hostcpu.load import parse_scenario
from klipsim.sim.hostcpu.machine import load_machine
from klipsim.sim.hostcpu.policy import load_policy, parse_policy
from klipsim.sim.hostcpu.eevdf import nice_weight


def _hog(host):
    def spin():
        host.sched.current.compute(NS_PER_S, spin)
    return spin


def test_policy_classes_reach_threads_and_shares_follow_weights():
    pinned = parse_policy("p.toml", {"threads": {
        "serialq": {"nice": -10, "cpus": [0]}, "main": {"cpus": [0]}}})
    host = HostCPU(load_machine("x86-vm-2core"), pinned, seed=3)
    serialq = host.spawn_role("serialq", "serialq mcu", _hog(host))
    main = host.spawn_role("main", "main", _hog(host))
    assert (serialq.nice, serialq.cpus, main.nice) == (-10, (0,), 0)
    host.kernel.run(until=4 * NS_PER_S)
    report = host.report()
    share = report["threads"]["serialq mcu"]["cpu_ns"] / (
        report["threads"]["serialq mcu"]["cpu_ns"] + report["threads"]["main"]["cpu_ns"])
    w = nice_weight(-10)
    assert share == pytest.approx(w / (w + nice_weight(0)), abs=0.01)


def test_autogroup_protects_klipper_from_a_many_threaded_load():
    """Klipper's group competes with each load's group, not each thread."""
    scenario = parse_scenario("l.toml", {"load": [
        {"name": "make", "threads": 8, "duty": 1.0, "period_ms": 10, "cpus": [0]}]})
    policy = parse_policy("p.toml", {"threads": {"main": {"cpus": [0]}}})
    host = HostCPU(load_machine("x86-vm-2core"), policy, scenario, seed=1)
    main = host.spawn_role("main", "main", _hog(host))
    host.kernel.run(until=2 * NS_PER_S)
    host.sched.flush()
    # two groups on CPU 0: half each (without autogroup it would be 1/9)
    assert main.cpu_ns == pytest.approx(NS_PER_S, rel=0.03)


def test_kworker_and_cost_scaling():
    host = HostCPU(load_machine("rpi3"), load_policy("klipper-default"))
    kw = host.spawn_kworker("kworker/tty", lambda: host.sched.current.exit())
    assert kw.fair_group is None and kw.nice == 0
    assert host.cost_ns(1_000_000) == 8 * NS_PER_MS      # cpu_speed 0.125
    with pytest.raises(KeyError):
        host.spawn_kworker("kworker/nope", lambda: None)
