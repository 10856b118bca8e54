"""Machine, policy and load TOML files: presets load, errors are one line
naming file and key, loads do what their figures say."""
import numpy as np
import pytest

from klipsim.sim.hostcpu.config_toml import ConfigError
from klipsim.sim.kernel.events import Kernel, NS_PER_MS, NS_PER_S
from klipsim.sim.hostcpu.load import install, load_scenario, parse_scenario
from klipsim.sim.hostcpu.machine import load_machine, parse_machine, preset_names
from klipsim.sim.hostcpu.policy import ROLES, builtin_names, load_policy, parse_policy
from klipsim.sim.hostcpu.scheduler import Scheduler


def test_presets_and_builtins_load():
    assert {"rpi3", "rpi4", "rpi5", "h616", "x86-vm-2core"} <= set(preset_names())
    for name in preset_names():
        m = load_machine(name)
        assert m.name == name and m.cores >= 1
        for policy in builtin_names():
            load_policy(policy).check(m)
    assert load_machine("x86-vm-2core").sched_config().scaled_slice_ns() == 1_500_000
    assert load_machine("rpi3").sched_config().scaled_slice_ns() == 2_250_000


def test_theos_orders_threads_by_nice():
    p = load_policy("theos")
    nice = {role: p.thread(role).nice for role in ROLES}
    assert nice["serialq"] < nice["serialhdl"] < nice["main"] < nice["logger"]
    default = load_policy("klipper-default")
    assert all(default.thread(r).nice == 0 and default.thread(r).policy == "other"
               for r in ROLES if r != "linux_mcu")
    # the Linux-process MCU sets SCHED_FIFO 49 itself (KLIPPER-FACTS 1)
    linux = default.thread("linux_mcu")
    assert (linux.policy, linux.priority) == ("fifo", 49)


@pytest.mark.parametrize("doc, fragment", [
    ({"machine": {"cores": "4"}}, "m.toml: [machine] cores: expected an integer"),
    ({"machine": {"cores": 2}, "kernel": {"rt_throttle": "x"}},
     "m.toml: [kernel] rt_throttle: expected one of"),
    ({"machine": {"cores": 2}, "kernel": {"tick_hzz": 100}},
     "m.toml: [kernel] tick_hzz: unknown key"),
    ({"machine": {}}, "m.toml: [machine] cores: missing"),
    ({"machine": {"cores": 2}, "cpu": {}}, "m.toml: [cpu]: unknown section"),
])
def test_machine_errors_name_file_and_key(doc, fragment):
    with pytest.raises(ConfigError) as err:
        parse_machine("m.toml", doc)
    assert fragment in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("doc, fragment", [
    ({"threads": {"serial": {}}}, "p.toml: [threads.serial]: unknown thread"),
    ({"threads": {"main": {"policy": "fifo"}}}, "p.toml: [threads.main] priority: missing"),
    ({"threads": {"main": {"policy": "fifo", "priority": 100}}},
     "p.toml: [threads.main] priority: 100 is above 99"),
    ({"threads": {"main": {"nice": -21}}}, "p.toml: [threads.main] nice: -21 is below -20"),
    ({"threads": {"main": {"priority": 5}}}, "p.toml: [threads.main] priority: 5 is above 0"),
])
def test_policy_errors_name_file_and_key(doc, fragment):
    with pytest.raises(ConfigError) as err:
        parse_policy("p.toml", doc)
    assert fragment in str(err.value)


def test_policy_cpus_checked_against_machine():
    p = parse_policy("p.toml", {"threads": {"main": {"cpus": [0, 3]}}})
    p.check(load_machine("rpi3"))
    with pytest.raises(ConfigError, match=r"p.toml: \[threads.main\] cpus: CPU 3"):
        p.check(load_machine("x86-vm-2core"))


def test_load_errors_name_file_and_key():
    with pytest.raises(ConfigError, match=r"l.toml: \[\[load\]\] cam duty: 1.5 is above 1.0"):
        parse_scenario("l.toml", {"load": [{"name": "cam", "duty": 1.5, "period_ms": 10}]})
    with pytest.raises(ConfigError, match=r"l.toml: \[\[spike\]\] s every_s: shorter"):
        parse_scenario("l.toml", {"spike": [{"name": "s", "at_s": 1, "every_s": 0.1,
                                             "duration_ms": 300}]})


def test_example_loads_parse():
    from klipsim.sim.hostcpu.load import __file__ as load_py
    from pathlib import Path
    files = sorted((Path(load_py).parent / "loads").glob("*.toml"))
    assert len(files) >= 3
    for f in files:
        assert load_scenario(f).loads or load_scenario(f).spikes


def _run(doc, seconds, seed=0):
    machine = load_machine("x86-vm-2core")
    kernel = Kernel(np.random.default_rng(seed))
    sched = Scheduler(kernel, machine.sched_config())
    threads = install(sched, parse_scenario("l.toml", doc), kernel.rng)
    kernel.run(until=round(seconds * NS_PER_S))
    sched.flush()
    return sched, threads


def test_periodic_load_gets_its_duty_on_a_free_core():
    _, threads = _run({"load": [{"name": "cam", "duty": 0.35, "period_ms": 33}]}, 3.3)
    # 100 periods, the first starting at a random phase inside period 0
    assert 99 * 11_550_000 <= threads[0].cpu_ns <= 100 * 11_550_000


def test_spikes_take_whole_cores_for_their_duration():
    doc = {"spike": [{"name": "hog", "at_s": 0.5, "every_s": 1.0, "count": 2,
                      "duration_ms": 300, "threads": 2, "policy": "fifo",
                      "priority": 50}],
           "load": [{"name": "bg", "threads": 2, "duty": 1.0, "period_ms": 10}]}
    sched, threads = _run(doc, 4.0)
    spikes = [t for t in threads if t.name.startswith("hog")]
    background = [t for t in threads if t.name.startswith("bg")]
    # each start preempts a background thread: one context switch (3 us on
    # this machine) comes out of the spike's wall-clock window
    switch = load_machine("x86-vm-2core").context_switch_ns
    assert [t.cpu_ns for t in spikes] == [600 * NS_PER_MS - 2 * switch] * 2
    assert all(t.state == "exited" for t in spikes)
    # the background hogs get everything else (phases start within 10 ms)
    overhead = sum(c.overhead_ns for c in sched.cores)
    used = sum(t.cpu_ns for t in threads) + overhead
    assert 2 * 4 * NS_PER_S - 20 * NS_PER_MS <= used <= 2 * 4 * NS_PER_S
    assert overhead < NS_PER_MS


def test_spike_thread_starting_after_its_end_does_nothing():
    """More spike threads than cores: late ones find their window over."""
    doc = {"spike": [{"name": "hog", "at_s": 0.1, "duration_ms": 50, "threads": 3,
                      "policy": "fifo", "priority": 50, "cpus": [0]}]}
    sched, threads = _run(doc, 0.5)
    switch = load_machine("x86-vm-2core").context_switch_ns
    # FIFO: the first runs the whole window, the others start after it
    assert [t.cpu_ns for t in threads] == [50 * NS_PER_MS - switch, 0, 0]
    assert all(t.state == "exited" for t in threads)
