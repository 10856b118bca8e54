"""simulate's per-pin pulse counts (sim/simulate/report.py PulseCounts,
counted in C by chelper/src/pulsecount.c) against the numpy bincounts
they replaced, kept here as the reference model: on random chunks of
pulses, pins inside and beyond the dictionary's, the same report entry."""
import numpy as np
from hypothesis import given, settings, strategies as st

from klipsim.firmware.simulator.mcu import PULSE_DTYPE
from klipsim.sim.simulate.report import PulseCounts

PIN_NAMES = {3: "PA3", 7: "PB1", 12: "PC0", 20: "PD4"}


class ModelCounts:
    """The Python it replaces: two bincounts per chunk."""

    def __init__(self, pin_names):
        self.pin_names = pin_names
        self.steps, self.ups = {}, {}

    def add(self, pulses):
        pins = pulses["pin"].astype(np.int64)
        counts = np.bincount(pins)
        ups = np.bincount(pins, weights=pulses["dir"]).astype(np.int64)
        for pin in np.flatnonzero(counts).tolist():
            self.steps[pin] = self.steps.get(pin, 0) + int(counts[pin])
            self.ups[pin] = self.ups.get(pin, 0) + int(ups[pin])

    def as_dict(self):
        names = {pin: self.pin_names.get(pin, "?%d" % pin) for pin in self.steps}
        return {names[pin]: {"steps": self.steps[pin],
                             "net": 2 * self.ups[pin] - self.steps[pin]}
                for pin in sorted(self.steps, key=lambda p: names[p])}


def chunk(pairs):
    arr = np.zeros(len(pairs), dtype=PULSE_DTYPE)
    arr["clock"] = np.arange(len(pairs)) * 100
    if pairs:
        arr["pin"], arr["dir"] = zip(*pairs)
    return arr


PULSE = st.tuples(st.sampled_from([3, 7, 12, 20, 0, 25, 64]), st.integers(0, 1))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(PULSE, max_size=40), max_size=6))
def test_counts_match_the_bincount_model(chunks):
    counts, model = PulseCounts(PIN_NAMES), ModelCounts(PIN_NAMES)
    for pairs in chunks:
        counts.add(chunk(pairs))
        model.add(chunk(pairs))
    assert counts.as_dict() == model.as_dict()


def test_counts_by_hand():
    counts = PulseCounts(PIN_NAMES)
    counts.add(chunk([(3, 1), (3, 1), (3, 0), (7, 0)]))
    counts.add(chunk([(40, 1)]))               # beyond the dictionary's pins
    assert counts.as_dict() == {"?40": {"steps": 1, "net": 1},
                                "PA3": {"steps": 3, "net": 1},
                                "PB1": {"steps": 1, "net": -1}}
