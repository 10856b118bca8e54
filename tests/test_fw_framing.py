"""Firmware framing: blocks, CRC, sequence numbers, ack/nak, resync.

Blocks are built with klipsim.chelper.msgblock (an independent Python
implementation of the wire format), so the C side is checked against it.
"""
import os
import sys

from klipsim.chelper import msgblock
from klipsim.firmware.simulator.mcu import Firmware

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import PROFILE, stepper_fw  # noqa: E402


def block(fw, seq, *messages):
    payload = b"".join(fw.dictionary.encode(n, a) for n, a in messages)
    return msgblock.frame_block(payload, seq)


def acks(fw):
    """Sequence numbers of the empty blocks (acks/naks) sent so far."""
    return [seq for seq, payload in fw.blocks() if not payload]


def test_in_order_block_is_dispatched_and_acked():
    fw = Firmware(PROFILE)
    fw.receive(block(fw, 0, ("get_clock", {})))
    blocks = fw.blocks()
    # the response first, then the ack; both carry the next expected seq
    assert [seq for seq, _ in blocks] == [1, 1]
    assert fw.dictionary.decode(blocks[0][1], "response")[0][0] == "clock"
    assert blocks[1][1] == b""


def test_bad_crc_gives_one_nak_and_resyncs():
    fw = Firmware(PROFILE)
    good = bytearray(block(fw, 0, ("get_clock", {})))
    bad = bytearray(good)
    bad[-3] ^= 0xFF                      # corrupt the CRC
    fw.receive(bytes(bad) + bytes(bad))  # two bad blocks: only one nak
    assert acks(fw) == [0]
    fw.receive(bytes(good))              # the retransmission is accepted
    assert [n for n, _ in fw.responses()] == ["clock"]


def test_resync_after_garbage():
    fw = Firmware(PROFILE)
    garbage = bytes([0x02, 0x01, 0x02, 0x03, 0x7E])   # impossible length byte
    fw.receive(garbage + block(fw, 0, ("get_clock", {})))
    out = fw.blocks()
    assert out[0] == (0, b"")           # the nak, naming seq 0 as expected
    assert fw.dictionary.decode(out[1][1], "response")[0][0] == "clock"
    assert out[-1] == (1, b"")          # then the ack of the good block


def test_nak_suppressed_until_valid_block():
    fw = Firmware(PROFILE)
    for _ in range(3):
        fw.receive(bytes([70, 0x10, 1, 2, 3, 0x7E]))  # bad length byte
    assert acks(fw) == [0]
    fw.receive(block(fw, 0, ("get_clock", {})))
    fw.blocks()
    fw.receive(bytes([70, 0x10, 0x7E]))                # a new bad run: a new nak
    assert acks(fw) == [1]


def test_wrong_sequence_is_naked_and_not_executed():
    fw = stepper_fw()
    expected = fw.host_seq
    fw.receive(block(fw, expected + 2, ("stepper_get_position", {"oid": 0})))
    assert fw.blocks() == [(expected, b"")]     # nak: still expecting it
    fw.receive(block(fw, expected, ("stepper_get_position", {"oid": 0})))
    assert [n for n, _ in fw.responses()] == ["stepper_position"]


def test_duplicate_block_is_ignored():
    fw = stepper_fw()
    seq = fw.host_seq
    dup = block(fw, seq, ("queue_step", {"oid": 0, "interval": 1000000, "count": 2, "add": 0}))
    fw.receive(dup)
    fw.receive(dup)                      # a retransmission of an acked block
    assert acks(fw) == [seq + 1] * 2     # ack, then a nak (still expecting seq+1)
    fw.run_until(10**8)
    assert len(fw.take_pulses()) == 2    # the moves were queued once


def test_stray_sync_and_split_delivery():
    fw = Firmware(PROFILE)
    data = b"\x7e" + block(fw, 0, ("get_clock", {})) + block(fw, 1, ("get_uptime", {}))
    for i in range(len(data)):           # one byte at a time
        fw.receive(data[i:i + 1])
    assert [n for n, _ in fw.responses()] == ["clock", "uptime"]
    assert acks(fw) == []                # (responses() consumed the acks)


def test_unknown_message_id_shuts_down():
    fw = Firmware(PROFILE)
    fw.receive(msgblock.frame_block(bytes([0x5f]), 0))
    assert fw.shutdown_reason == "Invalid command"


def test_truncated_parameters_shut_down():
    fw = Firmware(PROFILE)
    msgid = fw.dictionary.lookup("queue_step").msgid
    fw.receive(msgblock.frame_block(bytes([msgid, 0]), 0))
    assert fw.shutdown_reason == "Command parser error"


def test_c_link_frames_like_msgproto():
    """fw_host_send (C encoder/framer) and msgproto give the same result."""
    a, b = stepper_fw(), stepper_fw()
    moves = [("queue_step", {"oid": 0, "interval": 20000 + i, "count": 3 + i % 5,
                             "add": (-1) ** i * i}) for i in range(40)]
    a.send(*moves)
    ints, ends = [], []
    for name, args in moves:
        ints += b.message_ints(name, args)
        ends.append(len(ints))
    blocks, output = b.send_ints(ints, ends)
    assert not output and blocks >= 5
    assert a.host_seq == b.host_seq
    a.responses()
    for fw in (a, b):
        fw.run_until(10**9)
    assert a.take_pulses().tolist() == b.take_pulses().tolist()


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_resync_after_any_garbage(garbage):
    """After arbitrary line noise, a host that resends a block prefixed by
    a sync byte (as Klipper's host retransmits) gets it executed exactly
    once, and nothing in the noise is executed.  (A length byte in the
    noise may swallow up to 64 bytes first, hence a dozen attempts.)"""
    fw = Firmware(PROFILE)
    fw.receive(garbage)
    assert not fw.responses() and not fw.is_shutdown
    good = b"\x7e" + block(fw, 0, ("get_clock", {}))
    executed = 0
    for _attempt in range(12):
        fw.receive(good)
        executed += sum(1 for n, _ in fw.responses() if n == "clock")
    assert executed == 1
