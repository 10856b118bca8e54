"""Reading received bytes into blocks, tolerant of damage (in C,
chelper/src/linkq.c): what the simulated host's serial queue and the MCU
node's ack reader use.

Contract: `split_blocks_tolerant(data, stats=None)` -> [(seq, payload)]
of every intact block; sync bytes between blocks are skipped; after a
damaged block (length, sequence byte, sync trailer or CRC wrong,
or cut short) the reader skips to the next sync byte, and
`stats.bad_blocks` counts it.
"""
from ...chelper import msgblock
from ...chelper._chelper import ffi, lib

_split_bufs = [0, None, None, None]    # capacity, seqs, starts, bad (reused)

# The 16 valid empty blocks (acks) -> their sequence number: most reads
# are one ack, answered from this table without a call into C.
ACK_FRAMES = {msgblock.frame_block(b"", seq): [(seq, b"")]
              for seq in range(msgblock.MESSAGE_SEQ_MASK + 1)}


def split_blocks_tolerant(data, stats=None):
    """(seq, payload) of every valid block in received data; after a
    damaged block, skip to the next sync byte (how a host resynchronises
    on the protocol's 0x7E trailer). In C: chelper/src/linkq.c."""
    if not isinstance(data, bytes):
        data = bytes(data)
    ack = ACK_FRAMES.get(data)
    if ack is not None:
        return list(ack)
    cap = len(data) // msgblock.MESSAGE_MIN + 1
    bufs = _split_bufs
    if cap > bufs[0]:
        bufs[:] = [cap, ffi.new("int32_t[]", cap), ffi.new("int64_t[]", cap),
                   ffi.new("int64_t *")]
    _cap, seqs, starts, bad = bufs
    n = lib.linkq_split(data, len(data), seqs, starts, cap, bad)
    if bad[0] and stats is not None:
        stats.bad_blocks += bad[0]
    out = []
    for i in range(n):
        start = starts[i]
        out.append((seqs[i], data[start + 2:start + data[start] - 3]))
    return out
