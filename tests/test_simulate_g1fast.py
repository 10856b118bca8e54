"""simulate with the C fast path for plain G0/G1 lines (SimOptions.g1_fast)
against the Python path: the same report bytes (thread CPU, reactor
segments, margins: every burst charged the same lines), the same stream
and the same per-line timeline (each command line's start time and
number), on random G-code and on reference prints. A fast path that
miscounts one line must be caught."""
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from klipsim.golden import reference
from klipsim.host import g1fast
from klipsim.sim.simulate.report import build_report, dumps
from klipsim.sim.simulate.simulation import SimOptions, Simulation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_g1fast import OTHER_LINES, START, move_line  # noqa: E402

CASE = reference.case("corexy_basic")
LIMIT_S = 20.          # random programs may hold very slow moves


def outcome(gcode, config, fast, profile="stm32f446", limit=None):
    """(report bytes, stream, timeline ns, timeline line numbers, the
    number of lines C ran) of one simulation."""
    sim = Simulation(str(gcode), str(config),
                     SimOptions(profile=profile, g1_fast=fast, record_stream=True,
                                keep_pulses=False, max_sim_s=limit))
    ran_in_c = []
    runner = sim.feed.runner
    hook = runner.on_lines

    def note(lines):
        if isinstance(lines, list):       # C's lines (Python's come as a tuple)
            ran_in_c.append(len(lines))
        hook(lines)
    runner.on_lines = note
    result = sim.run()
    return (dumps(build_report(result)), result.stream, sim.feed.timeline_ns,
            sim.feed.timeline_lineno, sum(ran_in_c))


def assert_same(gcode, config, **kw):
    fast = outcome(gcode, config, True, **kw)
    slow = outcome(gcode, config, False, **kw)
    assert slow[4] == 0                     # the switch turns C off
    assert fast[:4] == slow[:4]
    return fast


@st.composite
def program(draw):
    lines = draw(st.lists(st.one_of(move_line(), move_line(), move_line(),
                                    st.sampled_from(OTHER_LINES)), min_size=1, max_size=80))
    return START + "\n".join(lines) + "\n"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program())
def test_fast_path_changes_nothing_on_random_gcode(tmp_path, text):
    gcode = tmp_path / "t.gcode"
    gcode.write_text(text)
    assert_same(gcode, CASE.config, limit=LIMIT_S)


def test_fast_path_changes_nothing_over_many_blocks(tmp_path):
    """A print of several 4096-byte reads, with pauses of the look-ahead
    between them, and the C path really taken."""
    lines = [START.strip(), "G1 Z0.3 F600"]
    for i in range(1500):
        lines.append("G1 X%.3f Y%.3f E%.4f F%d" % (100 + 30 * ((i // 7) % 2) + i % 7,
                                                   100 + (i * 13) % 40, 0.02 * i,
                                                   3000 + 600 * (i % 5)))
        if i % 97 == 0:
            lines += ["; layer", "M106 S%d" % (i % 255), ""]
    gcode = tmp_path / "many.gcode"
    gcode.write_text("\n".join(lines) + "\n")
    fast = assert_same(gcode, CASE.config)
    assert fast[4] > 1400                   # most moves ran in C
    assert len(fast[2]) == 2 + 1500 + 16     # comments and blank lines are no commands


@pytest.mark.parametrize("name,profile", [("corexy_basic", "stm32f446"),
                                          ("cartesian_print_cube", "atmega2560")])
def test_fast_path_changes_nothing_on_reference_prints(name, profile):
    case = reference.case(name)
    assert_same(case.gcode, case.config, profile=profile, limit=60.)


def test_a_miscounted_line_is_caught(tmp_path, monkeypatch):
    """The comparison fails when C forgets to charge one line per call."""
    gcode = tmp_path / "t.gcode"
    gcode.write_text(START + "".join("G1 X%d Y%d F6000\n" % (100 + i % 9, 100 + i % 4)
                                     for i in range(300)))
    slow = outcome(gcode, CASE.config, False)

    def forgetful(self):
        lines = g1fast.lib.g1fast_lines(self._g, self._count)
        if self._count[0] > 1:
            self.on_lines(g1fast.ffi.unpack(lines, self._count[0] - 1))
    monkeypatch.setattr(g1fast.G1FastPath, "_note_c_lines", forgetful)
    fast = outcome(gcode, CASE.config, True)
    assert fast[3] != slow[3]
    assert fast[0] != slow[0]
