"""Klipper's wire framing: VLQ integers and message blocks.

Contract (KLIPPER-FACTS 3.3 and 4, Klipper docs/Protocol.md):
- `encode_vlq`/`decode_vlq`: Klipper's signed variable-length integers.
- `crc16_ccitt`, `frame_block`, `check_block`, `split_blocks`: message
  blocks `len, 0x10|seq, payload, crc hi, crc lo, 0x7E` (len counts all
  bytes).
The message formats that give a payload its meaning are msgformat's, the
data dictionary that lists them msgproto's.
"""
from ._chelper import ffi as _ffi, lib as _lib

MESSAGE_MIN = 5            # header (len, seq) + trailer (crc16, sync)
MESSAGE_MAX = 64
MESSAGE_HEADER_SIZE = 2
MESSAGE_TRAILER_SIZE = 3
MESSAGE_PAYLOAD_MAX = MESSAGE_MAX - MESSAGE_MIN   # 59
MESSAGE_SEQ_MASK = 0x0F
MESSAGE_DEST = 0x10        # high nibble of every sequence byte
MESSAGE_SYNC = 0x7E

VLQ_MAX_BYTES = 5          # a 32-bit value never needs more (FACTS 4)

# ---------------------------------------------------------------------------
# VLQ integers
# ---------------------------------------------------------------------------


def encode_vlq(value: int, out: bytearray) -> None:
    """Append Klipper's VLQ encoding of `value` to `out`.

    Byte count from the value's range (FACTS 4): -32..95 one byte,
    -4096..12287 two, -524288..1572863 three, -67108864..201326591 four,
    anything else five (unsigned 32-bit values above that range too).
    7-bit groups go most significant first, all but the last with 0x80 set.
    """
    v = value
    if -0x20 <= v < 0x60:
        # One byte (most parameters of step messages): skip the range tests.
        out.append(v & 0x7F)
        return
    if v >= 0xC000000 or v < -0x4000000:
        out.append(((v >> 28) & 0x7F) | 0x80)
    if v >= 0x180000 or v < -0x80000:
        out.append(((v >> 21) & 0x7F) | 0x80)
    if v >= 0x3000 or v < -0x1000:
        out.append(((v >> 14) & 0x7F) | 0x80)
    if v >= 0x60 or v < -0x20:
        out.append(((v >> 7) & 0x7F) | 0x80)
    out.append(v & 0x7F)


def decode_vlq(data, pos: int):
    """Decode one VLQ integer at `data[pos]`: (value, position after it).

    A first byte with bits 0x60 both set starts a negative number (sign
    extended from bit 5); unsigned users mask the result to 32 bits.
    """
    c = data[pos]
    start = pos
    pos += 1
    v = c & 0x7F
    if (c & 0x60) == 0x60:
        v |= -0x20
    while c & 0x80:
        c = data[pos]
        pos += 1
        v = (v << 7) | (c & 0x7F)
        if pos - start > VLQ_MAX_BYTES:     # damaged input: stop, do not grow v
            raise ValueError("offset %d: integer longer than %d bytes" % (start, VLQ_MAX_BYTES))
    return v, pos


# ---------------------------------------------------------------------------
# CRC and message blocks
# ---------------------------------------------------------------------------

def _crc_table():
    """CRC-16/CCITT in its bit-reflected form (polynomial 0x1021 reversed
    is 0x8408), one entry per byte value; Klipper's byte-wise formula
    (msgblock.c) computes the same thing with init 0xFFFF, no final xor."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc16_ccitt(data) -> int:
    """Klipper's block checksum over `data` (len, seq and payload bytes)."""
    if isinstance(data, (bytes, bytearray)):
        # The same table walk in C (chelper/src/msgblock.c): every block
        # the simulated host and MCUs send is checked here.
        return _lib.msgblock_crc16(_ffi.from_buffer(data), len(data))
    crc = 0xFFFF
    table = _CRC_TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


def frame_block(payload: bytes, seq: int) -> bytes:
    """One message block around `payload` (at most MESSAGE_PAYLOAD_MAX)."""
    if len(payload) > MESSAGE_PAYLOAD_MAX:
        raise ValueError("payload of %d bytes exceeds %d"
                         % (len(payload), MESSAGE_PAYLOAD_MAX))
    block = bytearray((len(payload) + MESSAGE_MIN, MESSAGE_DEST | (seq & MESSAGE_SEQ_MASK)))
    block += payload
    crc = crc16_ccitt(block)
    block += bytes((crc >> 8, crc & 0xFF, MESSAGE_SYNC))
    return bytes(block)


def check_block(data, pos: int):
    """Validate the block starting at data[pos]: (seq, payload, end) or
    raise ValueError naming the offset and the fault."""
    length = data[pos]
    if length < MESSAGE_MIN or length > MESSAGE_MAX:
        raise ValueError("offset %d: bad block length %d" % (pos, length))
    end = pos + length
    if end > len(data):
        raise ValueError("offset %d: truncated block (%d of %d bytes)"
                         % (pos, len(data) - pos, length))
    seq = data[pos + 1]
    if seq & ~MESSAGE_SEQ_MASK != MESSAGE_DEST:
        raise ValueError("offset %d: bad sequence byte 0x%02x" % (pos, seq))
    if data[end - 1] != MESSAGE_SYNC:
        raise ValueError("offset %d: missing sync byte" % pos)
    crc = crc16_ccitt(data[pos:end - 3])
    if data[end - 3] != crc >> 8 or data[end - 2] != crc & 0xFF:
        raise ValueError("offset %d: CRC mismatch" % pos)
    return seq & MESSAGE_SEQ_MASK, bytes(data[pos + 2:end - 3]), end


def split_blocks(data: bytes):
    """(seq, payload) of every block in `data`; stray sync bytes between
    blocks are skipped (the protocol allows a leading 0x7E)."""
    blocks = []
    pos = 0
    while pos < len(data):
        if data[pos] == MESSAGE_SYNC:
            pos += 1
            continue
        seq, payload, pos = check_block(data, pos)
        blocks.append((seq, payload))
    return blocks
