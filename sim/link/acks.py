"""The acknowledgement side of the serial link (KLIPPER-FACTS 2.5): the
sequence bookkeeping of flow control and fast retransmit (`LinkSeqs`)
and the retransmit timeout (`RttEstimator`).
"""
from ...chelper import msgblock

MESSAGE_MAX = msgblock.MESSAGE_MAX               # 64
MIN_RTO_NS = 25_000_000
MAX_RTO_NS = 5_000_000_000


class LinkSeqs:
    """The sequence bookkeeping of flow control and fast retransmit, on
    block counts that never wrap (FACTS 2.5; the wire's 4-bit sequence
    only names blocks relative to these): blocks sent, acknowledged, the
    newest one an empty block acknowledged (`last_ack`), the count at the
    last retransmit and the highest count a nak is ignored at."""
    __slots__ = ("send", "receive", "last_ack", "ignore_nak", "retransmit",
                 "unacked_bytes", "last_ack_bytes")

    def __init__(self):
        # (counted from 1, so a nak naming the first block is above the
        # initial ignore_nak)
        self.send = self.receive = self.last_ack = 1
        self.ignore_nak = self.retransmit = 0
        self.unacked_bytes = 0       # frame bytes of the blocks awaiting an ack
        self.last_ack_bytes = 0      # frame bytes of the block acknowledged last

    def sent(self, nbytes):
        self.send += 1
        self.unacked_bytes += nbytes

    def acked(self, count, freed_bytes, last_frame_bytes):
        self.receive += count
        self.unacked_bytes -= freed_bytes
        self.last_ack_bytes = last_frame_bytes

    def empty_block(self, in_flight):
        """An ack or nak came naming `receive`: True if it is a nak that
        asks for a fast retransmit."""
        if self.last_ack < self.receive:
            self.last_ack = self.receive
            return False
        return self.receive > self.ignore_nak and bool(in_flight)

    def retransmitted(self, nak):
        """After a nak, later naks naming the same block are ignored, and
        a second nak during this resend's recovery stops further ones
        until it is acknowledged; after an RTO, naks about blocks sent so
        far are ignored."""
        if nak:
            self.ignore_nak = max(self.receive, self.retransmit)
        else:
            self.ignore_nak = self.send
        self.retransmit = self.send

    def window_need(self):
        """Window bytes a new full block would need: the unacknowledged
        bytes, MESSAGE_MAX, and the block acknowledged last while only a
        response (not yet its ack) has named it."""
        need = self.unacked_bytes + MESSAGE_MAX
        if self.last_ack < self.receive:
            need += self.last_ack_bytes
        return need


class RttEstimator:
    """The retransmit timeout from round-trip samples: RFC 6298 as FACTS
    2.5 lists it (first srtt deliberately 10x the sample), bounded by
    MIN_RTO_NS and MAX_RTO_NS, doubled on every timeout."""
    __slots__ = ("srtt", "rttvar", "rto_ns")

    def __init__(self):
        self.srtt = self.rttvar = 0
        self.rto_ns = MIN_RTO_NS

    def sample(self, delta):
        delta = max(delta, 0)
        if not self.srtt:
            self.srtt, self.rttvar = 10 * delta, delta // 2
        else:
            self.rttvar = (3 * self.rttvar + abs(self.srtt - delta)) // 4
            self.srtt = (7 * self.srtt + delta) // 8
        rto = self.srtt + max(4 * self.rttvar, 1_000_000)
        self.rto_ns = min(MAX_RTO_NS, max(MIN_RTO_NS, rto))

    def back_off(self):
        self.rto_ns = min(MAX_RTO_NS, 2 * self.rto_ns)
