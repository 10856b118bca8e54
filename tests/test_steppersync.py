"""chelper/src/steppersync.c against a Python reference model of the
merge (the `_pick_due` host/motion_queuing.py had before the merge moved
to C), on random message queues and flush clocks; and the C encoders'
batch paths against the per-message Python paths they replace."""
import heapq
import io
import struct

from hypothesis import given, settings, strategies as st

from klipsim.chelper import motion, msgproto, streamio
from klipsim.chelper._chelper import lib
from klipsim.chelper.steppersync import StepperSync
from klipsim.golden import reference

QUEUE_STEP, SET_NEXT_STEP_DIR, RESET_STEP_CLOCK = 0, 1, 2
NAMES = ("queue_step", "set_next_step_dir", "reset_step_clock")
SS_MESSAGE = struct.Struct("<QQqqqII")      # steppersync.h struct ss_message


# ---------------------------------------------------------------------------
# Reference model
# ---------------------------------------------------------------------------

class MergeModel:
    """Klipper's steppersync_flush as the host did it in Python: take the
    queue whose oldest message has the lowest req_clock (the first
    registered on a tie, via the heap's (clock, rank) order); stop at a
    queue_step with min_clock != 0 required after the flush clock;
    direction and reset messages never stop it; what is not sent stays
    queued. Messages are (kind, req_clock, min_clock, p0, p1, p2)."""

    def __init__(self, oids):
        self.oids = oids
        self.queues = [[] for _ in oids]

    def flush(self, flush_clock):
        heads = [(q[0][1], rank, 0) for rank, q in enumerate(self.queues) if q]
        heapq.heapify(heads)
        order = []
        while heads:
            req_clock, rank, index = heads[0]
            row = self.queues[rank][index]
            if row[0] == QUEUE_STEP and row[2] and req_clock > flush_clock:
                break
            order.append((rank, row))
            if index + 1 < len(self.queues[rank]):
                heapq.heapreplace(heads, (self.queues[rank][index + 1][1], rank, index + 1))
            else:
                heapq.heappop(heads)
        held = {rank: index for _clock, rank, index in heads}
        self.queues = [q[held[rank]:] if rank in held else []
                       for rank, q in enumerate(self.queues)]
        return [self._as_sent(rank, row) for rank, row in order]

    def _as_sent(self, rank, row):
        kind, req_clock, min_clock, p0, p1, p2 = row
        if kind == RESET_STEP_CLOCK:
            p0 &= 0xffffffff
        return req_clock, min_clock, p0, p1, p2, kind, self.oids[rank]


def as_tuple(req, min_clock, p0, p1, p2, kind, oid):
    """A sent message as a (name, args, req, min) tuple, as batch.messages() gives it."""
    keys = (("interval", "count", "add"), ("dir",), ("clock",))[kind]
    args = {"oid": oid}
    args.update(zip(keys, (p0, p1, p2)))
    return NAMES[kind], args, req, min_clock


# ---------------------------------------------------------------------------
# Random queues
# ---------------------------------------------------------------------------

CLOCK = st.integers(0, 1 << 40)
MESSAGE = st.one_of(
    st.tuples(st.just(QUEUE_STEP), CLOCK, st.sampled_from([0, 0, 1, 1 << 35]),
              st.integers(0, 0xffffffff), st.integers(1, 0xffff), st.integers(-0x8000, 0x7fff)),
    st.tuples(st.just(SET_NEXT_STEP_DIR), CLOCK, st.sampled_from([0, 5]),
              st.integers(0, 1), st.just(0), st.just(0)),
    st.tuples(st.just(RESET_STEP_CLOCK), CLOCK, st.just(0),
              st.integers(0, (1 << 63) - 1), st.just(0), st.just(0)),
)


def sorted_queue(msgs):
    """A compressor's queue is in req_clock order but for direction
    and reset messages; keep half the queues sorted so the merge is
    exercised on both."""
    return sorted(msgs, key=lambda m: m[1])


ROUND = st.tuples(st.lists(st.lists(MESSAGE, max_size=12), min_size=5, max_size=5),
                  st.booleans(), CLOCK)


def run_both(n_steppers, rounds):
    oids = [3 * i + 2 for i in range(n_steppers)]
    model = MergeModel(oids)
    sync = StepperSync()
    compressors = [motion.StepCompress(oid, 100) for oid in oids]
    for sc in compressors:
        sync.add(sc)
    for new_msgs, keep_sorted, flush_clock in rounds:
        for rank, sc in enumerate(compressors):
            msgs = new_msgs[rank]
            if keep_sorted:
                msgs = sorted_queue(msgs)
            model.queues[rank].extend(msgs)
            for m in msgs:
                lib.stepcompress_queue_message(sc._sc, *m)
        yield model.flush(flush_clock), sync.flush(flush_clock)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5), st.lists(ROUND, min_size=1, max_size=4))
def test_merge_matches_python_model(n_steppers, rounds):
    for expected, batch in run_both(n_steppers, rounds):
        packed = b"".join(SS_MESSAGE.pack(*m) for m in expected)
        assert batch.as_array().tobytes() == packed
        assert batch.messages() == [as_tuple(*m) for m in expected]
        steps = {}
        for m in expected:
            if m[5] == QUEUE_STEP:
                steps[m[6]] = steps.get(m[6], 0) + m[3]
        assert dict(batch.steps()) == steps
        firsts = {}
        for m in expected:
            firsts.setdefault(NAMES[m[5]], 0)
            firsts[NAMES[m[5]]] += 1
        assert batch.kind_counts() == list(firsts.items())


def test_merge_ties_stop_and_hold():
    """Hand-made case: a tie goes to the first registered stepper; a
    direction message due later is still sent; a queue_step due after
    the flush clock holds itself and everything behind it."""
    rounds = [([[(QUEUE_STEP, 100, 1, 10, 2, 0), (QUEUE_STEP, 900, 1, 10, 2, 0)],
                [(QUEUE_STEP, 100, 1, 20, 3, 0), (SET_NEXT_STEP_DIR, 600, 0, 1, 0, 0)],
                [], [], []], False, 500),
              ([[], [], [], [], []], False, 1000)]
    (first, batch1), (second, batch2) = list(run_both(2, rounds))
    assert [(m[0], m[6]) for m in first] == [(100, 2), (100, 5), (600, 5)]
    assert [(m[0], m[6]) for m in second] == [(900, 2)]
    assert len(batch2) == 1


# ---------------------------------------------------------------------------
# Encoders: the batch path writes what the per-message path wrote
# ---------------------------------------------------------------------------

DICTIONARY = msgproto.Dictionary.load(reference.case("cartesian_homing").dictionary)
WIRE_MESSAGE = st.one_of(
    st.tuples(st.just(QUEUE_STEP), CLOCK, st.just(1), st.integers(0, 0xffffffff),
              st.integers(1, 0xffff), st.integers(-0x8000, 0x7fff)),
    st.tuples(st.just(SET_NEXT_STEP_DIR), CLOCK, st.just(0), st.integers(0, 1),
              st.just(0), st.just(0)),
    st.tuples(st.just(RESET_STEP_CLOCK), CLOCK, st.just(0),
              st.integers(0, (1 << 63) - 1), st.just(0), st.just(0)),
)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["text", "serial", "jsonl"]),
       st.lists(st.lists(WIRE_MESSAGE, max_size=30), min_size=1, max_size=4))
def test_batch_encoding_matches_message_path(fmt, flushes):
    """Two writers side by side, other messages in between: one gets
    each flush's batch, the other its messages as tuples."""
    sync = StepperSync()
    compressors = [motion.StepCompress(oid, 100) for oid in (2, 5, 8)]
    for sc in compressors:
        sync.add(sc)
    outs = io.BytesIO(), io.BytesIO()
    by_batch, by_message = (streamio.StreamWriter(out, fmt, DICTIONARY) for out in outs)
    for msgs in flushes:
        for i, m in enumerate(msgs):
            lib.stepcompress_queue_message(compressors[i % 3]._sc, *m)
        batch = sync.flush(1 << 62)
        for writer in by_batch, by_message:
            writer.write("get_uptime", {})
        by_batch.write_batch(batch)
        by_message.write_many(batch.messages())
    for writer in by_batch, by_message:
        writer.close()
    assert outs[0].getvalue() == outs[1].getvalue()
    assert by_batch.counts == by_message.counts
    assert list(by_batch.counts) == list(by_message.counts)    # by name


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(WIRE_MESSAGE, max_size=30), max_size=5))
def test_totals_sum_every_flush(flushes):
    """The sync's running totals (read once by compile's writer and link)
    are the sums of each flush's steps, kind counts and message counts."""
    sync = StepperSync()
    compressors = [motion.StepCompress(oid, 100) for oid in (2, 5, 8)]
    for sc in compressors:
        sync.add(sc)
    steps, kinds, count = {}, {}, 0
    for msgs in flushes:
        for i, m in enumerate(msgs):
            lib.stepcompress_queue_message(compressors[i % 3]._sc, *m)
        batch = sync.flush(1 << 62)
        for oid, n in batch.steps():
            steps[oid] = steps.get(oid, 0) + n
        for name, n in batch.kind_counts():
            kinds[name] = kinds.get(name, 0) + n
        count += batch.count
        assert dict(sync.step_totals()) == steps
        assert dict(sync.kind_totals()) == kinds
        assert sync.message_total() == count
    assert [oid for oid, _ in sync.step_totals()] == sorted(steps)   # registration order
