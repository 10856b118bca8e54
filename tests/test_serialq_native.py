"""The serial queue thread's native program (chelper/src/serialq_prog.c)
against its Python reference (SerialQueue._loop/_commit): on random
short runs (printer, MCU, baud, USB, board, CPU loads with spikes, how
long) the run with the native program gives the same report, pulses,
stream and margin series as the run with the Python program alone, and
the native program did take wakes (and handed some to Python) and
read responses in C (sim/link/native_responses.py)."""
import hashlib
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from klipsim.chelper._chelper import ffi
from klipsim.firmware.simulator._fwsim import lib as fwlib
from klipsim.golden import reference
from klipsim.sim.link import serial_link
from klipsim.sim.simulate.report import build_report, dumps
from klipsim.sim.simulate.simulation import SimOptions, simulate

LOADS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "sim", "hostcpu", "loads")
CASES = {"cartesian_basic": "atmega2560", "corexy_basic": "stm32f446"}


def _refusing(queue, rng, keep):
    """The native program asks a node that refuses at random (a ring
    said full): wakes and commits are handed to Python, which delivers
    them its way; the results must not change."""
    node = queue.node

    def can_take(_node, blocks):
        return 0 if rng.random() < 0.3 else fwlib.fw_node_can_take(node._c, blocks)
    callback = ffi.callback("int32_t(void *, int32_t)", can_take)
    keep.append(callback)
    queue._prog.can_take = ffi.cast("void *", callback)


def _run(case_name, native, refuse=None, **options):
    """The run's digests and its serial queues' native counters; refuse:
    a seed for a node refusing blocks at random (_refusing)."""
    queues, keep = [], []
    go = serial_link.SerialQueue._go_native

    def watched(self):
        if native:
            go(self)
            if refuse is not None and self._prog is not None:
                _refusing(self, random.Random(refuse), keep)
        else:
            self._native_checked = True
        queues.append(self)
    serial_link.SerialQueue._go_native = watched
    try:
        case = reference.case(case_name)
        result = simulate(case.gcode, case.config, SimOptions(
            record_stream=True, profile=CASES[case_name], **options))
    finally:
        serial_link.SerialQueue._go_native = go
    report = build_report(result)
    report["load"] = os.path.basename(report["load"] or "")
    stream = "".join("%s %r\n" % (n, sorted(a.items())) for n, a in result.stream)
    series = "".join("%d %d\n" % p for p in result.margins.series)
    digest = [hashlib.sha256(d).hexdigest() for d in (
        dumps(report).encode(), result.pulses.tobytes(), stream.encode(), series.encode())]
    counters = [(q._prog.native_wakes, q._prog.py_wakes, q._prog.py_commits,
                 q._prog.native_responses) for q in queues if q._prog is not None]
    return digest, counters


RUN = st.fixed_dictionaries({
    "case_name": st.sampled_from(sorted(CASES)),
    "baud": st.sampled_from([250000, 115200, 38400]),
    "transport": st.sampled_from(["uart", "usb"]),
    "board": st.sampled_from(["rpi3", "rpi4", "h616"]),
    "load": st.sampled_from([None, "fifo-spikes.toml", "cpu-hogs-nice0.toml"]),
    "max_sim_s": st.sampled_from([None, 3.0, 7.5]),
    "seed": st.integers(0, 3),
})


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(RUN)
def test_native_serial_queue_matches_python(run):
    run = dict(run)
    if run["load"]:
        run["load"] = os.path.join(LOADS, run["load"])
    native, counters = _run(native=True, **run)
    python, none = _run(native=False, **run)
    assert none == []
    assert counters and all(c[0] > 0 and c[1] + c[2] > 0 for c in counters), counters
    assert any(c[3] > 0 for c in counters), counters      # responses read in C
    assert native == python


def test_hand_back_at_commit_matches_python():
    """A load with spikes: some commits go back to Python (the RTO
    expired during the burst or the node's ring filled)."""
    run = dict(case_name="corexy_basic", baud=250000, transport="uart", board="rpi3",
               load=os.path.join(LOADS, "fifo-spikes.toml"), seed=1)
    native, counters = _run(native=True, **run)
    python, _ = _run(native=False, **run)
    assert native == python
    assert counters[0][0] > 0, counters


def _block(block):
    return (block.seq, block.frame, block.motion, block.count, block.sent_ns,
            [m.name for m in block.messages], [m.args for m in block.messages])


def _blocks_sent(native, refuse, **run):
    """The Blocks of a run by send index: every block the Python commit
    sent (native False), or the Blocks built late for blocks the native
    program sent (native True)."""
    out = {}
    queues = serial_link.SerialQueue
    commit, sync = queues._commit, queues._sync
    sent_block = serial_link.MessageQueues.sent_block

    def py_commit(self, plan, responses):
        first = self.link.stat("blocks")
        commit(self, plan, responses)
        for i, block in enumerate(plan):
            out[first + i] = _block(block)

    def built(self, link, i, node):
        block = sent_block(self, link, i, node)
        index = self._blocks_built_from + i
        out[index] = _block(block)
        return block

    def synced(self):
        self.queues._blocks_built_from = (self.link.stat("blocks")
                                          - self.link.in_flight_count)
        sync(self)
    patches = {"_sync": synced} if native else {"_commit": py_commit}
    for name, f in patches.items():
        setattr(queues, name, f)
    serial_link.MessageQueues.sent_block = built
    try:
        _run(native=native, refuse=refuse, **run)
    finally:
        queues._commit, queues._sync = commit, sync
        serial_link.MessageQueues.sent_block = sent_block
    return out


@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(RUN, st.integers(0, 1000))
def test_blocks_built_late_equal_the_python_ones(run, refuse):
    """The Blocks Python builds from the C ring for blocks the native
    program sent (a later hand-back needs them) are those the Python
    program would have sent: sequence, frame, motion summary, messages,
    arrival."""
    run = dict(run)
    if run["load"]:
        run["load"] = os.path.join(LOADS, run["load"])
    late = _blocks_sent(True, refuse, **run)
    python = _blocks_sent(False, None, **run)
    assert late
    assert all(python[i] == block for i, block in late.items())


SPIKES = """[[spike]]
name = "hog"
at_s = 0.5
every_s = 0.0471
count = 200
duration_ms = 40
threads = 4
policy = "fifo"
priority = 50
"""


def test_retransmit_due_after_the_burst_hands_the_commit_back(tmp_path):
    """FIFO spikes taking every core, 40 ms of each 47: the serial
    queue's burst is cut, the RTO expires before its commit, and the
    commit goes back to Python (point 1), which retransmits."""
    load = tmp_path / "spikes.toml"
    load.write_text(SPIKES)
    run = dict(case_name="cartesian_basic", baud=250000, transport="uart", board="rpi3",
               load=str(load), seed=0)
    native, counters = _run(native=True, **run)
    python, _ = _run(native=False, **run)
    assert counters[0][2] >= 1, counters
    assert native == python


def test_commit_handed_back_with_responses_matches_python():
    """A node refusing blocks at random: some commits the native program
    planned go back to Python while responses it read at their wake are
    pending; Python's commit hands those on (NativeResponses.take(1))."""
    from klipsim.sim.link.native_responses import NativeResponses
    take = NativeResponses.take
    carried = []

    def counted(self, which):
        out = take(self, which)
        if which == 1 and out:
            carried.append(len(out))
        return out
    run = dict(case_name="corexy_basic", baud=250000, transport="uart", board="rpi3",
               load=None, seed=0, max_sim_s=7.5)
    NativeResponses.take = counted
    try:
        native, counters = _run(native=True, refuse=5, **run)
    finally:
        NativeResponses.take = take
    python, _ = _run(native=False, **run)
    assert carried, counters
    assert native == python


@pytest.mark.parametrize("run", [
    dict(case_name="corexy_basic", baud=250000, transport="uart", board="rpi3",
         load=None, seed=0),
    dict(case_name="cartesian_basic", baud=38400, transport="usb", board="h616",
         load=os.path.join(LOADS, "cpu-hogs-nice0.toml"), seed=2, max_sim_s=7.5)])
def test_step_run_fast_enqueue_matches_the_python_one(run):
    """SerialQueue.enqueue of one StepRun in one C call
    (linkio_enqueue_steps) gives the run its general Python path gives."""
    fast_calls = []
    fast = serial_link.SerialQueue._enqueue_run

    def counted(self, step_run):
        fast_calls.append(step_run.count)
        fast(self, step_run)
    serial_link.SerialQueue._enqueue_run = counted
    try:
        with_c, _ = _run(native=True, **run)
        serial_link.SerialQueue._enqueue_run = lambda self, r: self._enqueue([r])
        python, _ = _run(native=True, **run)
    finally:
        serial_link.SerialQueue._enqueue_run = fast
    assert len(fast_calls) > 20
    assert with_c == python
