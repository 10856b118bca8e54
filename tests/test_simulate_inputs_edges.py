"""simulate's own inputs at the edges (issue 12): clock options, the seed
and the load/board TOML files.  Each bad value is one line naming the
option, or the file and key, with no traceback and no run."""
import pytest
from click.testing import CliRunner

from klipsim.cli import main
from klipsim.golden import reference
from klipsim.sim.hostcpu.config_toml import ConfigError
from klipsim.sim.hostcpu.cpu import HostCPU
from klipsim.sim.hostcpu.load import load_scenario
from klipsim.sim.hostcpu.machine import load_machine
from klipsim.sim.hostcpu.policy import load_policy

CASE = reference.case("corexy_basic")


def invoke(*args):
    return CliRunner().invoke(main, ["simulate", CASE.gcode, "--config", CASE.config,
                                     "--mcu", "stm32f446", *args])


@pytest.mark.parametrize("args, expected", [
    (("--clock-offset", "mcu=-1"), "--clock-offset mcu=-1: '-1' must be between 0 and 2^50"),
    (("--clock-offset", "mcu=%d" % (1 << 64)), "must be between 0 and 2^50 ticks"),
    (("--clock-drift", "mcu=-1e6"), "--clock-drift mcu=-1e6: '-1e6' must be between"
                                    " -100000 and 100000 ppm"),
    (("--clock-drift", "mcu=inf"), "'inf' must be between -100000 and 100000 ppm"),
    (("--clock-drift", "mcu=nan"), "'nan' must be between -100000 and 100000 ppm"),
    (("--seed", "-1"), "Invalid value for '--seed': -1 is not in the range x>=0"),
])
def test_bad_clock_option_or_seed_is_a_usage_error(args, expected):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


SPIKE = '[[spike]]\nname = "hog"\nat_s = %s\nduration_ms = %s\n'


@pytest.mark.parametrize("text, expected", [
    (SPIKE % ("inf", "300"), "[[spike]] hog at_s: expected a finite number, got inf"),
    (SPIKE % ("1.0", "nan"), "[[spike]] hog duration_ms: expected a finite number, got nan"),
    (SPIKE % ("1e300", "300"), "[[spike]] hog at_s: 1e+300 is above 2592000.0"),
    ('[[load]]\nname = "cam"\nduty = nan\nperiod_ms = 10\n',
     "[[load]] cam duty: expected a finite number, got nan"),
    (b'[[spike]]\nname = "\xff"\nat_s = 1.0\nduration_ms = 3\n',
     "not UTF-8 text (byte 18: b'\\xff')"),
])
def test_bad_load_toml_names_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, "load.toml", text)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert str(info.value) == "%s: %s" % (path, expected)


def test_board_toml_with_nan_duration(tmp_path):
    text = open(load_machine("rpi4").source).read().replace(
        "context_switch_us = 6", "context_switch_us = nan")
    path = write(tmp_path, "board.toml", text)
    with pytest.raises(ConfigError, match=r"board.toml: \[machine\] context_switch_us:"
                                          r" expected a finite number, got nan"):
        load_machine(path)


ENDLESS = ('[[spike]]\nname = "hog"\nat_s = 0.0\nevery_s = 0.3\nduration_ms = 300\n'
           'threads = %d\npolicy = "fifo"\npriority = 99\n')


def test_endless_spike_on_every_cpu_is_refused(tmp_path):
    """4 FIFO threads spinning forever on a 4-CPU board leave the host no
    CPU: refused before the run (it once ended in "made no progress ...
    (a klipsim bug)").  On 3 of 4 CPUs, or with an end, it is simulated."""
    machine, policy = load_machine("rpi4"), load_policy("klipper-default")
    with pytest.raises(ConfigError, match="4 fifo threads spinning without end on all 4"
                                          " CPUs of rpi4 leave no CPU for the host"):
        HostCPU(machine, policy, load_scenario(write(tmp_path, "a.toml", ENDLESS % 4)))
    HostCPU(machine, policy, load_scenario(write(tmp_path, "b.toml", ENDLESS % 3)))
    HostCPU(machine, policy, load_scenario(write(
        tmp_path, "c.toml", (ENDLESS % 4).replace("every_s = 0.3", "every_s = 0.3\ncount = 5"))))


def test_spike_on_a_cpu_the_board_lacks(tmp_path):
    path = write(tmp_path, "load.toml", SPIKE % ("1.0", "3") + "cpus = [7]\n")
    with pytest.raises(ConfigError, match=r"\[\[spike\]\] hog: cpus: CPU 7 does not exist"
                                          r" on rpi4 \(4 cores\)"):
        HostCPU(load_machine("rpi4"), load_policy("klipper-default"), load_scenario(path))


def test_all_cpu_spike_with_an_end_is_a_verdict_not_an_error(tmp_path):
    """A spike holding every CPU for a while is a valid what-if: the run
    ends with a shutdown verdict (exit 3), not an error."""
    path = write(tmp_path, "load.toml", (ENDLESS % 4).replace("every_s = 0.3\n", "")
                 .replace("at_s = 0.0", "at_s = 1.0").replace("= 300", "= 3000"))
    result = invoke("--board", "rpi4", "--load", str(path))
    assert result.exit_code == 3, result.output
    assert "Timer too close" in result.output
