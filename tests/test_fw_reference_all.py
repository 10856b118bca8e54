"""All 25 Klipper reference streams executed on our firmware: no shutdown,
and the executed pulses equal the stream's steps (count, direction,
tick-exact clock) for every stepper.  The slowest test file of the
firmware (about 40 s on the shared 2-core machine; corexy_print_long
alone is 19.4 M steps); `python -m klipsim.sim.execute_check` prints the
same check with timings."""
import pytest

from klipsim.golden import reference
from klipsim.sim import execute_check


@pytest.mark.parametrize("name", [c.name for c in reference.cases()])
def test_reference_case(name):
    ok, line, details = execute_check.check_case(name)
    assert ok, "\n".join([line] + details)
