"""The cffi wrappers of both C extensions keep the GIL across C calls
(chelper/src/cffi_keep_gil.h): klipsim runs one Python thread per
process, and releasing the GIL around each of the millions of short
calls a simulation makes cost a mutex round trip each. A wrapper that
releases it calls PyEval_SaveThread, so the binary would import that
symbol; neither may."""
import pytest

from klipsim.chelper import _chelper
from klipsim.firmware.simulator import _fwsim


@pytest.mark.parametrize("module", [_chelper, _fwsim], ids=["chelper", "fwsim"])
def test_wrappers_keep_the_gil(module):
    with open(module.__file__, "rb") as f:
        binary = f.read()
    assert b"PyEval_RestoreThread" not in binary
    assert b"PyEval_SaveThread" not in binary


def test_callbacks_still_run_with_the_gil_kept():
    """A C call that calls back into Python (the scheduler's program
    steps) works with the GIL held across it."""
    from klipsim.sim.hostcpu.cpu import HostCPU
    from klipsim.sim.hostcpu.machine import load_machine
    from klipsim.sim.hostcpu.policy import load_policy
    host = HostCPU(load_machine("rpi3"), load_policy("klipper-default"))
    ran = []

    def step():
        ran.append(host.kernel.now)
        if len(ran) < 3:
            host.sched.current.sleep(1000, step)
        else:
            host.sched.current.exit()
    host.spawn_role("main", "main", step, at=1)
    host.kernel.run()
    assert len(ran) == 3 and ran[1] - ran[0] >= 1000 and ran[2] - ran[1] >= 1000
