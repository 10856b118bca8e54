"""The tty kworker and the step-generation threads as native (C) programs
(chelper/src/vs_prog.c through sim/simulate/host_threads.py) against
the Python programs they replaced (tests/_host_threads_model.py): on
random traffic (chunks pushed from Python threads to two serial-queue
receive buffers and to Python callbacks feeding a third, batches of steps submitted to
step-generation threads and waited for, costs, boards, policies, a load
with its own threads) both give the same kernel trace bytes (every wake
and dispatch), the same log of what each receiver read and when, and
the same thread and core figures of the report; pushing through the C
output sink (kworker_sink, for an MCU node's output event) is the same
as pushing from Python. The loads' periodic threads in C
(spawn_periodic_native) against load.py's Python spawn_periodic: the
same trace bytes and report."""
import dataclasses
import os
import sys

import pytest
from hypothesis import given, settings, strategies as st

from klipsim.chelper import msgblock
from klipsim.chelper._chelper import ffi
from klipsim.sim.hostcpu.costs import CostModel
from klipsim.sim.hostcpu.cpu import HostCPU
from klipsim.sim.hostcpu.load import load_scenario, spawn_periodic, spawn_periodic_native
from klipsim.sim.hostcpu.machine import load_machine
from klipsim.sim.hostcpu.policy import load_policy
from klipsim.sim.kernel.events import NS_PER_MS, NS_PER_US, SimError
from klipsim.sim.link.clocksync import McuClock
from klipsim.sim.link.linkio import LinkIO
from klipsim.sim.link.wire import Wire
from klipsim.sim.simulate import host_threads as native

sys.path.insert(0, os.path.dirname(__file__))
import _host_threads_model as model  # noqa: E402

FREQ = 180_000_000
RUN_NS = 300 * NS_PER_MS


class Receiver:
    """A serial queue's receiving end: the C receive buffer, a signal and
    a thread that reads every chunk received at once (SerialQueue._loop's
    rx half) and logs what it read."""

    def __init__(self, host, index, log):
        self.host, self.index, self.log = host, index, log
        self.link = LinkIO(Wire("uart", 250000), None, True, FREQ // 10, McuClock(FREQ))
        self.signal = host.sched.signal("serialq %d" % index)
        self.thread = host.spawn_role("serialq", "serialq %d" % index, self._loop,
                                      at=host.kernel.now + 1)

    def receive(self, data):
        self.link.receive(data)
        self.signal.post()

    def _loop(self):
        now = self.host.kernel.now
        acked, payloads, chunks = self.link.input_all(now)
        self.log.append(("rx", self.index, now, chunks, acked, tuple(payloads)))
        self.thread.compute(self.host.cost_ns(4_000 + 1_000 * chunks),
                            lambda: self.thread.wait(self.signal, self._loop))


def _chunk(blocks):
    return b"".join(msgblock.frame_block(bytes(payload), seq) for seq, payload in blocks)


class Producer:
    """A Python thread playing a script: sleep, push chunks to the
    kworker (to a receiver's number or to a Python callback), submit a
    batch of steps and wait until every stepgen of it is done."""

    def __init__(self, host, name, script, tty, receivers, stepgens, log, sink,
                 countdown=False):
        self.host, self.script, self.tty = host, list(script), tty
        self.countdown = countdown      # wait with wait_posts (the C re-waits)
        self.push = _sink_push(tty) if sink else tty.push
        targets = [tty.target(r) for r in receivers[:2]]
        self.python_receiver = receivers[2]
        self.targets, self.stepgens, self.log = targets, stepgens, log
        self.done = host.sched.signal(name + " done")
        self.waiting = 0
        self.thread = host.spawn_role("main", name, self._next, at=host.kernel.now + 1)

    def _next(self):
        t = self.thread
        if not self.script:
            t.exit()
            return
        op, arg = self.script.pop(0)
        if op == "sleep":
            t.sleep(arg, self._next)
        elif op == "push":
            to, blocks = arg
            data = _chunk(blocks)
            if to < len(self.targets):
                self.push(data, self.targets[to])
            else:       # a Python callback: into the third receiver
                self.tty.push(data, self._python_delivery)
            t.compute(self.host.cost_ns(2_000), self._next)
        else:
            for sg, steps in arg:
                self.stepgens[sg % len(self.stepgens)].submit(steps, self.done)
            self.waiting = len(arg)
            if self.countdown:
                self.waiting = 1
                t.wait_posts(self.done, len(arg), self._stepgen_done)
            else:
                t.wait(self.done, self._stepgen_done)

    def _python_delivery(self, data):
        self.log.append(("py", self.host.kernel.now, data))
        self.python_receiver.receive(data)

    def _stepgen_done(self):
        self.waiting -= 1
        if self.waiting:
            self.thread.wait(self.done, self._stepgen_done)
        else:       # (logged at the last post only: wait_posts sees no other)
            self.log.append(("stepgen done", self.thread.name, self.host.kernel.now))
            self.thread.compute(0, self._next)


def _sink_push(tty):
    """tty.push through the C output sink (kworker_sink), as an MCU
    node's output event calls it; the model has none: plain push."""
    if not hasattr(tty, "sink"):
        return tty.push

    def push(data, target):
        fn, ctx = tty.sink(target)
        sink = ffi.cast("int32_t (*)(void *, const uint8_t *, size_t)", fn)
        assert sink(ffi.cast("void *", ctx), data, len(data)) == 0
    return push


def run(programs, spec, sink=False, countdown=False):
    """One run of spec on the given programs (native or model): the trace
    bytes, the log and the host report. `countdown`: the producers wait
    for their stepgens with wait_posts rather than one wait per post."""
    board, policy, load, costs, scripts, nstepgens = spec
    host = HostCPU(load_machine(board), load_policy(policy),
                   load_scenario(load) if load else None, seed=3, trace=True)
    log = []
    tty = programs.TtyWorker(host, costs)
    receivers = [Receiver(host, i, log) for i in range(3)]
    stepgens = [programs.StepGenThread(host, costs, "stepgen%d" % i) for i in range(nstepgens)]
    for i, script in enumerate(scripts):
        Producer(host, "producer%d" % i, script, tty, receivers, stepgens, log, sink,
                 countdown)
    host.kernel.run(until=RUN_NS)
    host.sched.flush()
    return host.kernel.trace_bytes(), log, host.report()


BLOCKS = st.lists(st.tuples(st.integers(0, 15),
                            st.lists(st.integers(0, 255), max_size=8)), max_size=3)
OP = st.one_of(
    st.tuples(st.just("sleep"), st.integers(0, 5_000).map(lambda us: us * NS_PER_US)),
    st.tuples(st.just("push"), st.tuples(st.integers(0, 3), BLOCKS)),
    st.tuples(st.just("steps"), st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3000)),
                                        min_size=1, max_size=3)),
)
COSTS = st.builds(lambda k, w, s: dataclasses.replace(CostModel(), kworker_chunk_ns=k,
                                                      stepgen_wake_ns=w, step_ns=s),
                  st.integers(0, 50_000), st.integers(0, 50_000), st.integers(0, 500))
SPEC = st.tuples(st.sampled_from(["rpi3", "x86-vm-2core", "t113"]),
                 st.sampled_from(["klipper-default", "theos", "all-fifo"]),
                 st.sampled_from([None, None, "webcam-pi3"]),
                 COSTS,
                 st.lists(st.lists(OP, max_size=25), min_size=1, max_size=3),
                 st.integers(1, 3))


@settings(max_examples=60, deadline=None)
@given(SPEC, st.booleans(), st.booleans())
def test_native_programs_match_the_python_ones(spec, sink, countdown):
    """(countdown: the native run's producers wait with wait_posts, whose
    re-waits the C core runs, against the model's one Python wait per
    post.)"""
    want = run(model, spec)
    got = run(native, spec, sink, countdown)
    assert got[1] == want[1]          # what each receiver read, and when
    assert got[2] == want[2]          # every thread's and core's figures
    assert got[0] == want[0]          # every wake and dispatch


def test_comparison_sees_a_changed_cost():
    """Not vacuous: one more ns of kworker cost changes all three."""
    scripts = [[("push", (0, [(1, [7, 8])])), ("sleep", 3 * NS_PER_MS),
                ("push", (2, [(2, [9])])), ("steps", [(0, 100), (1, 2000)])]]
    spec = ("rpi3", "klipper-default", None, CostModel(), scripts, 2)
    slower = ("rpi3", "klipper-default", None,
              dataclasses.replace(CostModel(), kworker_chunk_ns=5_001), scripts, 2)
    base, changed = run(native, spec), run(native, slower)
    assert base == run(model, spec)
    assert base[0] != changed[0] and base[1] != changed[1] and base[2] != changed[2]


def test_wait_posts_is_one_wait_per_post():
    """wait_posts(n) wakes and dispatches the waiter as n Python waits
    do: the same trace bytes, log and report."""
    scripts = [[("steps", [(0, 100), (1, 2000), (2, 50)]), ("sleep", 2 * NS_PER_MS),
                ("steps", [(1, 10), (2, 3000)])],
               [("sleep", 30 * NS_PER_US), ("steps", [(2, 700), (0, 900)])]]
    spec = ("rpi3", "klipper-default", None, CostModel(), scripts, 3)
    assert run(native, spec, countdown=True) == run(model, spec)


def test_native_cost_must_be_integer_ns():
    host = HostCPU(load_machine("rpi3"), load_policy("klipper-default"))
    with pytest.raises(TypeError, match="int ns"):
        native.TtyWorker(host, dataclasses.replace(CostModel(), kworker_chunk_ns=5e3))


def test_python_delivery_error_stops_the_run():
    """A Python chunk's callback that raises ends the run with its error,
    as it did inside the Python program."""
    host = HostCPU(load_machine("rpi3"), load_policy("klipper-default"))
    tty = native.TtyWorker(host, CostModel())

    def broken(_data):
        raise ValueError("receiver gone")

    def start():
        tty.push(b"x", broken)
        host.sched.current.exit()
    host.spawn_role("main", "producer", start)
    with pytest.raises(ValueError, match="receiver gone"):
        host.kernel.run(until=10 * NS_PER_MS)


def test_submit_without_program_state_is_refused():
    """A stepgen woken with nothing submitted (a broken rule) stops the
    run naming the thread."""
    host = HostCPU(load_machine("rpi3"), load_policy("klipper-default"))
    sg = native.StepGenThread(host, CostModel(), "stepper_x")
    host.kernel.run(until=NS_PER_MS)
    with pytest.raises(SimError, match="stepper_x: its C program stopped"):
        sg.signal.post()          # a post with no batch behind it


# ---- periodic load threads ------------------------------------------------------
PERIODIC = st.tuples(st.integers(0, 3000), st.integers(1, 5000), st.integers(0, 5000),
                     st.booleans(), st.sampled_from(["other", "other", "fifo", "rr"]),
                     st.integers(-5, 5))


def run_periodic(spawn, board, loads):
    """Periodic threads (work, period, first start in us, catch-up, class)
    spawned by `spawn`, beside a Python one on both runs: trace, report."""
    host = HostCPU(load_machine(board), load_policy("klipper-default"), trace=True)
    spawn_periodic(host.sched, "python", 700 * NS_PER_US, 3 * NS_PER_MS, 100 * NS_PER_US)
    for i, (work, period, first, catch_up, policy, nice) in enumerate(loads):
        cls = dict(nice=nice) if policy == "other" else dict(policy=policy, priority=10)
        spawn(host.sched, "load%d" % i, work * NS_PER_US, period * NS_PER_US,
              first * NS_PER_US, catch_up, group="load%d" % (i % 2), **cls)
    host.kernel.run(until=200 * NS_PER_MS)
    host.sched.flush()
    return host.kernel.trace_bytes(), host.report()


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["rpi3", "x86-vm-2core", "t113"]),
       st.lists(PERIODIC, min_size=1, max_size=4))
def test_native_periodic_load_matches_the_python_one(board, loads):
    want = run_periodic(spawn_periodic, board, loads)
    got = run_periodic(spawn_periodic_native, board, loads)
    assert got[1] == want[1]
    assert got[0] == want[0]


def test_periodic_comparison_sees_a_slipped_grid():
    """Not vacuous: catch-up on or off changes both for a late load."""
    loads = [(1500, 2000, 100 * i, False, "other", 0) for i in range(3)]
    caught_up = [(1500, 2000, 100 * i, True, "other", 0) for i in range(3)]
    base = run_periodic(spawn_periodic_native, "x86-vm-2core", loads)
    assert base == run_periodic(spawn_periodic, "x86-vm-2core", loads)
    other = run_periodic(spawn_periodic_native, "x86-vm-2core", caught_up)
    assert base[0] != other[0] and base[1] != other[1]


def test_native_program_refuses_an_interrupt():
    """Interrupts are the GIL's; a native program holds none: one stops
    the run naming the thread."""
    host = HostCPU(load_machine("rpi3"), load_policy("klipper-default"))
    t = spawn_periodic_native(host.sched, "hog", NS_PER_MS, NS_PER_MS)
    host.kernel.run(until=NS_PER_MS // 2)
    host.sched.interrupt(t, lambda *args: None)
    with pytest.raises(SimError, match="hog: its C program stopped"):
        host.kernel.run(until=NS_PER_MS)
