"""split_blocks_tolerant (the simulated host's and MCU node's reader of
received bytes) against a reference reader built only on
msgblock.check_block: same blocks and same count of bad blocks, for
streams of acks and responses with random damage (the reader's fast path
for acks must not change what it accepts)."""
import numpy as np

from klipsim.chelper import msgblock
from klipsim.sim.link.reader import split_blocks_tolerant
from klipsim.sim.link.serial_link import LinkStats


def reference_split(data):
    out, bad, pos = [], 0, 0
    while pos < len(data):
        if data[pos] == msgblock.MESSAGE_SYNC:
            pos += 1
            continue
        try:
            seq, payload, pos = msgblock.check_block(data, pos)
        except ValueError:
            bad += 1
            sync = data.find(bytes((msgblock.MESSAGE_SYNC,)), pos)
            pos = len(data) if sync < 0 else sync + 1
            continue
        out.append((seq, payload))
    return out, bad


def test_same_blocks_as_check_block_with_damage():
    rng = np.random.default_rng(11)
    for _ in range(300):
        data = bytearray()
        for _ in range(int(rng.integers(1, 8))):
            n = 0 if rng.random() < 0.6 else int(rng.integers(1, 20))
            payload = bytes(rng.integers(0, 256, n, dtype=np.uint8))
            data += msgblock.frame_block(payload, int(rng.integers(0, 16)))
        for _ in range(int(rng.integers(0, 3))):      # flip, drop or insert bytes
            i = int(rng.integers(0, len(data)))
            kind = rng.integers(0, 3)
            if kind == 0:
                data[i] ^= 1 << int(rng.integers(0, 8))
            elif kind == 1:
                del data[i]
            else:
                data.insert(i, int(rng.choice([5, 0x7E, 0x10, 0x33])))
        data = bytes(data)
        stats = LinkStats()
        got = split_blocks_tolerant(data, stats)
        want, bad = reference_split(data)
        assert got == want and stats.bad_blocks == bad
