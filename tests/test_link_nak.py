"""Fast retransmit on a nak (KLIPPER-FACTS 2.5, Klipper's docs/Protocol.md:
an ack that does not name a newer block is a nak): the sequence rules, and
whole runs with seeded byte faults recovering within about one round trip
instead of waiting for the retransmit timeout."""
import os
import sys

from hypothesis import given, settings, strategies as st

from klipsim.sim.simulate.report import build_report, dumps
from klipsim.sim.simulate.simulation import SimOptions, simulate

sys.path.insert(0, os.path.dirname(__file__))   # the link model (tests/_link_model.py)
from _link_model import MESSAGE_MAX, MIN_RTO_NS, LinkSeqs  # noqa: E402

REF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "golden", "klipper")
CASE = os.path.join(REF, "cartesian_basic")
BAUD = 250000
BYTE_NS = 10 * 10 ** 9 // BAUD       # 40 us per byte on the UART
WINDOW = 192
MESSAGE_MIN = 5
FAULTS = dict(fault_corrupt=1e-4, fault_drop=1e-4, seed=3)


def run(**kw):
    return simulate(os.path.join(CASE, "input.gcode"), os.path.join(CASE, "printer.cfg"),
                    SimOptions(profile="atmega2560", baud=BAUD, **kw))


def sent(seqs, n):
    for _ in range(n):
        seqs.sent(MESSAGE_MAX)


# ---- the sequence rules --------------------------------------------------------

def test_a_repeated_ack_is_a_nak_once():
    seqs, in_flight = LinkSeqs(), [object()]
    sent(seqs, 3)
    assert seqs.empty_block(in_flight)          # names block 1 again: a nak
    seqs.retransmitted(nak=True)
    assert not seqs.empty_block(in_flight)      # the same nak again: ignored


def test_no_nak_without_blocks_in_flight():
    seqs = LinkSeqs()
    assert not seqs.empty_block([])


def test_at_most_two_nak_retransmits_per_burst():
    seqs, in_flight = LinkSeqs(), [object()]
    sent(seqs, 3)
    assert seqs.empty_block(in_flight)
    seqs.retransmitted(nak=True)                # first: all three resent
    seqs.acked(1, MESSAGE_MAX, MESSAGE_MAX)
    assert not seqs.empty_block(in_flight)      # the ack of the first block
    assert seqs.empty_block(in_flight)          # the second is damaged again: nak
    seqs.retransmitted(nak=True)
    seqs.acked(1, MESSAGE_MAX, MESSAGE_MAX)
    assert not seqs.empty_block(in_flight)      # ack
    assert not seqs.empty_block(in_flight)      # a third nak: left to the RTO


def test_after_a_timeout_naks_about_earlier_blocks_are_ignored():
    seqs, in_flight = LinkSeqs(), [object()]
    sent(seqs, 2)
    seqs.retransmitted(nak=False)
    assert not seqs.empty_block(in_flight)
    seqs.acked(2, 2 * MESSAGE_MAX, MESSAGE_MAX)
    assert not seqs.empty_block(in_flight)      # ack
    sent(seqs, 1)
    seqs.acked(1, MESSAGE_MAX, MESSAGE_MAX)
    assert not seqs.empty_block(in_flight)      # ack of a block sent after the RTO
    assert seqs.empty_block(in_flight)          # a nak about it counts again


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.lists(st.booleans(), max_size=40))
def test_any_burst_gets_at_most_two_nak_retransmits(blocks, events):
    """Blocks sent once, then any mix of acks (True: one more block
    acknowledged, with its ack) and repeated acks (False)."""
    seqs, in_flight = LinkSeqs(), [object()]
    sent(seqs, blocks)
    acked, fast = 0, 0
    for advance in events:
        if advance and acked < blocks:
            acked += 1
            seqs.acked(1, MESSAGE_MAX, MESSAGE_MAX)
        if seqs.empty_block(in_flight if acked < blocks else []):
            fast += 1
            seqs.retransmitted(nak=True)
    assert fast <= 2
    if events and not events[0]:
        assert fast >= 1          # the first repeated ack is always a nak


# ---- whole runs ------------------------------------------------------------------

# A nak comes back once the bytes after the damage reached the MCU (at most
# a window of blocks already on the wire), then every unacknowledged block
# (at most the window, plus a sync byte) is resent and acked: about one
# round trip of wire time, plus a little thread time on the host. The RTO
# path waits at least MIN_RTO (25 ms) before resending.
NAK_RECOVERY_BOUND_NS = (WINDOW + WINDOW + 1 + 2 * MESSAGE_MIN) * BYTE_NS + 2_000_000


def test_naks_recover_sooner_than_the_retransmit_timeout():
    assert NAK_RECOVERY_BOUND_NS < MIN_RTO_NS
    fast = run(**FAULTS)
    slow = run(fast_retransmit=False, **FAULTS)
    assert fast.shutdown is None and slow.shutdown is None
    assert fast.link.nak_retransmits > 0 and fast.link.retransmits == 0
    assert slow.link.nak_retransmits == 0 and slow.link.retransmits > 0
    assert fast.link.recoveries_ns and slow.link.recoveries_ns
    assert max(fast.link.recoveries_ns) <= NAK_RECOVERY_BOUND_NS
    assert min(slow.link.recoveries_ns) >= MIN_RTO_NS
    # the same damage (same seed) is what both recovered from
    assert fast.link.bad_blocks == slow.link.bad_blocks
    assert (fast.pulses["clock"] == slow.pulses["clock"]).all()


def test_report_counts_nak_and_rto_retransmits_apart():
    report = build_report(run(**FAULTS))
    link = report["link"]
    assert report["verdict"] == "ok"
    assert link["nak_retransmits"] > 0 and link["retransmits"] == 0
    assert 0 < link["max_recovery_ms"] <= NAK_RECOVERY_BOUND_NS / 1e6


def test_same_seed_same_bytes():
    def report_bytes():
        result = run(record_stream=True, **FAULTS)
        return dumps(build_report(result)), result.pulses.tobytes()
    assert report_bytes() == report_bytes()
