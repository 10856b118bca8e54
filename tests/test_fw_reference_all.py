"""All Klipper reference streams executed on our firmware: no shutdown,
and the executed pulses equal the stream's steps (count, direction,
tick-exact clock) for every stepper.  The 25 bundled cases always run;
the real-printer cases only in ../shared/reference (stm32h723, lpc1768,
rp2040 streams with SPI thermocouples, TMC UART, probes) run when it is
beside the checkout.  The slowest test file of the firmware (about 45 s
on the shared 2-core machine; corexy_print_long alone is 19.4 M steps);
`python -m klipsim.sim.execute.pulse_check` prints the same check with timings."""
import os
import sys

import pytest

from klipsim.golden import reference
from klipsim.sim.execute import pulse_check as execute_check

sys.path.insert(0, os.path.dirname(__file__))
from _shared_corpus import HAVE_SHARED_REFERENCE, requires_shared_reference  # noqa: E402

BUNDLED = [c.name for c in reference.cases()]
SHARED_ONLY = sorted(
    n for n in (os.listdir(reference.SHARED_REFERENCE_DIR) if HAVE_SHARED_REFERENCE else [])
    if n not in BUNDLED
    and os.path.exists(os.path.join(reference.SHARED_REFERENCE_DIR, n, "meta.json")))


@pytest.mark.parametrize("name", BUNDLED)
def test_reference_case(name):
    ok, line, details = execute_check.check_case(name)
    assert ok, "\n".join([line] + details)


@requires_shared_reference
@pytest.mark.parametrize("name", SHARED_ONLY)
def test_shared_reference_case(name):
    ok, line, details = execute_check.check_case(name)
    assert ok, "\n".join([line] + details)


@requires_shared_reference
def test_every_shared_case_is_checked():
    # the real-printer cases of issue 9 (7), none silently dropped
    assert len(BUNDLED) + len(SHARED_ONLY) == 32
