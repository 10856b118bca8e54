"""VLQ integers, CRC16 and message block framing (KLIPPER-FACTS 3.3, 4)."""
import pytest
from hypothesis import given, settings, strategies as st

from klipsim.chelper import msgblock

INT32 = st.integers(min_value=-(1 << 31), max_value=(1 << 31) - 1)
UINT32 = st.integers(min_value=0, max_value=(1 << 32) - 1)

# Encoded size per value range, from Klipper's docs/Protocol.md table.
SIZE_RANGES = [(-32, 95, 1), (-4096, 12287, 2), (-524288, 1572863, 3),
               (-67108864, 201326591, 4), (-2147483648, 4294967295, 5)]


def expected_size(v):
    for low, high, size in SIZE_RANGES:
        if low <= v <= high:
            return size
    raise AssertionError(v)


@settings(max_examples=400)
@given(st.one_of(INT32, UINT32))
def test_vlq_round_trip_and_length(v):
    out = bytearray(b"\xaa")             # decoding must start at pos
    msgblock.encode_vlq(v, out)
    assert len(out) - 1 == expected_size(v)
    value, pos = msgblock.decode_vlq(out, 1)
    assert value == v and pos == len(out)
    # continuation bits: every byte but the last has 0x80 set
    assert all(b & 0x80 for b in out[1:-1]) and not out[-1] & 0x80


@pytest.mark.parametrize("low,high,size", SIZE_RANGES[:4])
def test_vlq_range_edges(low, high, size):
    for v, n in ((low, size), (high, size), (low - 1, size + 1), (high + 1, size + 1)):
        out = bytearray()
        msgblock.encode_vlq(v, out)
        assert len(out) == n, v


def test_vlq_sign_extension_of_first_byte():
    # 0x60..0x7F alone are -32..-1 (bits 0x60 set => negative)
    for b in range(0x60, 0x80):
        assert msgblock.decode_vlq(bytes([b]), 0) == (b - 0x80, 1)
    assert msgblock.decode_vlq(bytes([0x5F]), 0) == (0x5F, 1)


def crc16_bitwise(data):
    """CRC-16/CCITT, polynomial x^16+x^12+x^5+1 (0x1021) shifted MSB first
    over bit-reversed input bytes, result bit-reversed; init 0xFFFF, no
    final xor (the CRC catalogue's CRC-16/MCRF4XX, Klipper's variant)."""
    def reverse(v, bits):
        return int(format(v, "0%db" % bits)[::-1], 2)
    crc = reverse(0xFFFF, 16)
    for byte in data:
        crc ^= reverse(byte, 8) << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return reverse(crc, 16)


def test_crc16_catalogue_check_value():
    # CRC-16/MCRF4XX check value over "123456789" in the CRC catalogue
    assert crc16_bitwise(b"123456789") == 0x6F91
    assert msgblock.crc16_ccitt(b"123456789") == 0x6F91


@settings(max_examples=200)
@given(st.binary(max_size=64))
def test_crc16_matches_bitwise_reference(data):
    assert msgblock.crc16_ccitt(data) == crc16_bitwise(data)


@settings(max_examples=200)
@given(st.binary(max_size=msgblock.MESSAGE_PAYLOAD_MAX), st.integers(0, 255))
def test_block_round_trip(payload, seq):
    block = msgblock.frame_block(payload, seq)
    assert len(block) == len(payload) + 5 == block[0]
    assert block[1] == 0x10 | (seq & 0x0F) and block[-1] == 0x7E
    crc = crc16_bitwise(block[:-3])
    assert block[-3:-1] == bytes((crc >> 8, crc & 0xFF))
    assert msgblock.split_blocks(b"\x7e" + block + block) == [(seq & 0x0F, payload)] * 2


@settings(max_examples=200)
@given(st.binary(min_size=1, max_size=msgblock.MESSAGE_PAYLOAD_MAX),
       st.data())
def test_corrupted_byte_is_detected(payload, data):
    block = bytearray(msgblock.frame_block(payload, 3))
    index = data.draw(st.integers(0, len(block) - 1))
    flip = data.draw(st.integers(1, 255))
    block[index] ^= flip
    with pytest.raises(ValueError):
        msgblock.split_blocks(bytes(block))


def test_oversized_payload_rejected():
    with pytest.raises(ValueError):
        msgblock.frame_block(bytes(60), 0)
