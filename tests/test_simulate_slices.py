"""Simulation.run checks the end of the print, the time limit, a
shutdown, the pulse drain and the stall detector at the ends of 50 ms run
slices; without a progress callback it runs the slices between two
checks that could act as one kernel run (_run_slices), stopped early by
the input's end or a shutdown (Kernel.request_stop). The results must
be those of a run that stops at every slice: with a progress callback
(called after every slice) every slice is run on its own."""
import pytest

from klipsim.golden import reference
from klipsim.sim.simulate.report import build_report, dumps
from klipsim.sim.simulate.simulation import RUN_SLICE_NS, SimOptions, simulate


def _run(case_name, per_slice, **options):
    case = reference.case(case_name)
    seen = []
    result = simulate(case.gcode, case.config,
                      SimOptions(progress=seen.append if per_slice else None, **options))
    if per_slice:     # (the comparison's reference really ran slice by slice)
        assert len(seen) > 1
        assert all(round((b - a) * 1e9) == RUN_SLICE_NS for a, b in zip(seen, seen[1:]))
    return dumps(build_report(result)), result.pulses.tobytes(), result.end_ns


@pytest.mark.parametrize("case_name, options", [
    ("corexy_basic", dict(profile="stm32f446")),                     # ends: finished
    ("corexy_basic", dict(profile="stm32f446", max_sim_s=1.234)),    # time limit
    ("corexy_basic", dict(profile="stm32f446", baud=9600)),          # shutdown
])
def test_slices_run_as_one_give_the_per_slice_results(case_name, options):
    chunked = _run(case_name, False, **options)
    assert chunked == _run(case_name, True, **options)
