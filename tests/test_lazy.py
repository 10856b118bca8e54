"""klipsim.lazy (start-up, issue 10): numpy is imported at the first
attribute read, and a lazy Generator draws exactly what the eager
numpy.random.default_rng(seed) draws, whatever the seed's form and the
order of calls; Firmware.take_gpio_rows (numpy-free for a few events)
returns what the numpy mask over take_gpio_events gave."""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from klipsim import lazy

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import MS, configured  # noqa: E402


def test_numpy_is_imported_at_the_first_attribute_read():
    code = ("import sys\n"
            "from klipsim.lazy import numpy as np\n"
            "before = 'numpy' in sys.modules\n"
            "zeros = np.zeros\n"
            "print(before, 'numpy' in sys.modules, zeros is sys.modules['numpy'].zeros)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "True"]


def test_lazy_module_stores_what_it_read():
    module = lazy.LazyModule("json")
    dumps = module.dumps
    assert module.__dict__["dumps"] is dumps
    with pytest.raises(AttributeError):
        module.no_such_attribute


SEEDS = st.one_of(st.integers(0, 2**63), st.lists(st.integers(0, 2**32), min_size=1,
                                                   max_size=3))
# (method, args) pairs as the kernel, loads and line faults call them.
CALLS = st.lists(st.sampled_from([("integers", (0, 1000)), ("integers", (0, 7)),
                                  ("random", ()), ("random", ((2, 5),))]), max_size=12)


@settings(max_examples=60, deadline=None)
@given(SEEDS, CALLS)
def test_lazy_generator_draws_what_the_eager_one_draws(seed, calls):
    eager, lazy_rng = np.random.default_rng(seed), lazy.default_rng(seed)
    for name, args in calls:
        a, b = getattr(eager, name)(*args), getattr(lazy_rng, name)(*args)
        assert np.array_equal(a, b)
    assert lazy_rng.generator.bit_generator.state == eager.bit_generator.state


def test_lazy_generator_is_created_at_the_first_draw():
    rng = lazy.default_rng(7)
    assert "_lazy_generator" not in rng.__dict__
    rng.integers(0, 10)
    assert "_lazy_generator" in rng.__dict__


PWM_PIN, OUT_PIN, OTHER_PIN = "PA2", "PA3", "PA4"


def _two_outputs(periods):
    """Soft PWM on PWM_PIN (2 writes per 10 ms cycle), and OUT_PIN and
    OTHER_PIN set once, run for `periods` cycles."""
    fw = configured(["config_digital_out oid=%d pin=%s value=0 default_value=0 max_duration=0"
                     % (oid, pin) for oid, pin in enumerate((PWM_PIN, OUT_PIN, OTHER_PIN))]
                    + ["set_digital_out_pwm_cycle oid=0 cycle_ticks=%d" % (10 * MS)])
    fw.send("queue_digital_out oid=0 clock=%d on_ticks=%d" % (20 * MS, 3 * MS),
            "queue_digital_out oid=1 clock=%d on_ticks=1" % (25 * MS),
            "queue_digital_out oid=2 clock=%d on_ticks=1" % (26 * MS))
    fw.run_until(20 * MS + periods * 10 * MS)
    return fw


def _masked(events, pins):
    mask = np.zeros(len(events), dtype=bool)
    for pin in pins:
        mask |= events["pin"] == pin
    return events[mask].tolist()


@pytest.mark.parametrize("periods", [0, 3, 200])
@pytest.mark.parametrize("names", [(), (PWM_PIN,), (PWM_PIN, OUT_PIN)])
def test_gpio_rows_equal_the_masked_events(periods, names):
    a, b = _two_outputs(periods), _two_outputs(periods)
    pins = sorted(a.pin(n) for n in names)
    rows = a.take_gpio_rows(pins)
    events = b.take_gpio_events()
    assert (len(events) > a_few()) == (periods == 200)
    assert rows == _masked(events, pins)
    assert all(type(v) is int for row in rows for v in row)
    assert a.take_gpio_rows(pins) == [] and len(b.take_gpio_events()) == 0


def a_few():
    from klipsim.firmware.simulator import mcu
    return mcu.FEW_GPIO_EVENTS
