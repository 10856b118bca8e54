"""Property: executed pulse times equal the queue_step arithmetic.

For random valid (interval, count, add) sequences, every step interval
stays at least two pulse widths (no push-back) and positive, and the
firmware's executed pulses are compared with the closed form
t_prev + (k+1)*interval + add*k*(k+1)/2, computed here in Python ints.
"""
import os
import sys

from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import PULSE, queue_step_times, stepper_fw  # noqa: E402

MIN_INTERVAL = 2 * PULSE


@st.composite
def moves(draw):
    out = []
    for _ in range(draw(st.integers(1, 12))):
        count = draw(st.integers(1, 400))
        interval = draw(st.integers(MIN_INTERVAL, 2_000_000))
        # keep every interval of the move (interval + j*add) >= MIN_INTERVAL
        # and the 16-bit add in range
        if count > 1:
            lo = max(-32768, -((interval - MIN_INTERVAL) // (count - 1)))
            add = draw(st.integers(lo, 32767))
        else:
            add = draw(st.integers(-32768, 32767))
        out.append((interval, count, add))
    return out


@settings(max_examples=60, deadline=None)
@given(moves(), st.integers(0, 3), st.integers(1, 3 * 10**9))
def test_pulses_follow_queue_step_arithmetic(seq, dir_every, start):
    fw = stepper_fw()
    fw.run_until(start)
    start32 = start & 0xFFFFFFFF
    messages = [("reset_step_clock", {"oid": 0, "clock": start32})]
    dirs = []
    for i, (interval, count, add) in enumerate(seq):
        d = (i // dir_every) % 2 if dir_every else 0
        messages.append(("set_next_step_dir", {"oid": 0, "dir": d}))
        messages.append(("queue_step", {"oid": 0, "interval": interval,
                                        "count": count, "add": add}))
        dirs += [d] * count
    expected = queue_step_times(start, seq)
    # step times are relative to the reset clock; the first step must be
    # in the future when the moves arrive (they do: interval >= 720)
    fw.send(*messages)
    fw.run_until(expected[-1] + 1)
    pulses = fw.take_pulses()
    assert not fw.is_shutdown
    assert pulses["clock"].tolist() == expected
    assert pulses["dir"].tolist() == dirs
