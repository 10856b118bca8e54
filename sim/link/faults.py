"""Fault injection on a serial line: each byte is dropped with probability
`drop` or corrupted (one bit flipped) with probability `corrupt`.

Contract: `LineFaults(rng, drop, corrupt)`; `apply(data)` returns the
bytes as they arrive. Draws come only from the numpy Generator given
(simulate.py derives it from the run's seed, separately from the load
scenario's, so enabling faults does not move the loads' phases). With
both probabilities 0 nothing is drawn and the data is returned as is.
"""
from klipsim.lazy import numpy as np


class LineFaults:
    def __init__(self, rng, drop=0., corrupt=0.):
        if not (0. <= drop <= 1. and 0. <= corrupt <= 1.):
            raise ValueError("fault probabilities must be within 0..1")
        self.rng = rng
        self.drop = drop
        self.corrupt = corrupt
        self.active = drop > 0. or corrupt > 0.   # (every byte sent asks)
        self.dropped = 0
        self.corrupted = 0

    def apply(self, data):
        if not self.active or not data:
            return data
        draws = self.rng.random((2, len(data)))
        drop = draws[0] < self.drop
        flip = (draws[1] < self.corrupt) & ~drop
        if not drop.any() and not flip.any():
            return data
        arr = np.frombuffer(data, dtype=np.uint8).copy()
        if flip.any():
            bits = self.rng.integers(0, 8, size=int(flip.sum()))
            arr[flip] ^= (1 << bits).astype(np.uint8)
            self.corrupted += int(flip.sum())
        self.dropped += int(drop.sum())
        return arr[~drop].tobytes()
