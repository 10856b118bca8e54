"""The C link's reader of received bytes (linkio_input through
LinkIO.input: what the simulated host's serial queue reads) against a
reference reader built only on msgblock.check_block: same payloads and
same count of bad blocks, for streams of acks and responses with random
damage."""
import os
import sys
from types import SimpleNamespace

import numpy as np

from klipsim.chelper import msgblock
from klipsim.sim.link.clocksync import McuClock
from klipsim.sim.link.linkio import STATS, LinkIO
from klipsim.sim.link.wire import Wire

sys.path.insert(0, os.path.dirname(__file__))   # the link model (tests/_link_model.py)
from _link_model import split_blocks_tolerant  # noqa: E402


def reference_split(data):
    """(seq, payload) blocks and bad blocks by the Python reader the C one
    replaced (tests/_link_model.py, built on msgblock.check_block)."""
    stats = SimpleNamespace(bad_blocks=0)
    blocks = split_blocks_tolerant(data, stats)
    return blocks, stats.bad_blocks


def test_same_blocks_as_check_block_with_damage():
    rng = np.random.default_rng(11)
    link = LinkIO(Wire("uart", 250000), None, True, 0, McuClock(1_000_000))
    bad_total = 0
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
        _acked, got = link.input(data, 0)
        want, bad = reference_split(data)
        bad_total += bad
        assert [payload for payload, _n in got] == [p for _s, p in want if p]
        assert link.stat("bad_blocks") == bad_total
    assert "bad_blocks" in STATS
