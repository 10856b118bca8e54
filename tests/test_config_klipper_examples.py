"""Klipper's published example configs build a whole printer (config
reader, MCU objects, kinematics, extruders, extras): every config of
Klipper's config/ folder in ../shared/klipper-configs (or the folder
$KLIPSIM_KLIPPER_CONFIGS names; nothing of it is copied into this
repository) that names a kinematics, i.e. the whole printers (the
sample-*.cfg snippets are left out). Our own configurations (the 25
reference cases and the bundled example) are built by the compile tests.

Example configs target many boards, so pins are checked only for their
syntax: the MCU dictionary here accepts every pin name."""
import glob
import os
import re

import pytest

from klipsim.chelper.msgproto import load_profile
from klipsim.gcode.dispatch import Dispatcher
from klipsim.host.configfile import load_config
from klipsim.host.kinematics import KINEMATICS
from klipsim.host.printer import Printer
from klipsim.host.reactor import BatchReactor
from klipsim.sim.batch import BatchClock, StreamLink

from klipsim.golden.reference import KLIPPER_CONFIGS_DIR

_SHARED_CONFIGS = os.path.join(KLIPPER_CONFIGS_DIR, "config")
FOLDER = os.environ.get("KLIPSIM_KLIPPER_CONFIGS",
                        _SHARED_CONFIGS if os.path.isdir(_SHARED_CONFIGS) else "")


class AnyPin:
    def __contains__(self, name):
        return True


class AnyPinDictionary:
    """stm32f446 constants, any pin name accepted."""

    def __init__(self):
        base = load_profile("stm32f446")
        self.clock_freq, self.config, self.mcu = base.clock_freq, base.config, base.mcu
        self.pins = AnyPin()


def covered_configs():
    if not FOLDER:
        return []
    paths = []
    for path in sorted(glob.glob(os.path.join(FOLDER, "*.cfg"))):
        text = open(path, errors="replace").read()
        kin = re.search(r"^kinematics\s*[:=]\s*(\w+)", text, re.M)
        if kin and kin.group(1) in KINEMATICS:
            paths.append(path)
    return paths


@pytest.mark.parametrize("path", covered_configs(), ids=os.path.basename)
def test_klipper_example_config_builds_a_printer(path):
    config = load_config(path)
    mcus = [s.name.split()[-1] if " " in s.name else "mcu"
            for s in config.sections("mcu") if s.name.split()[0] == "mcu"]
    warnings = []
    Printer(config, {name: AnyPinDictionary() for name in mcus},
            StreamLink(writer=None), BatchClock(), BatchReactor(),
            Dispatcher(warning_sink=warnings.append))
    config.check_unused()


def test_our_example_builds_with_the_permissive_dictionary():
    """The harness itself works (fails if the Printer cannot be built)."""
    from klipsim.golden import examples
    config = load_config(os.path.join(examples.EXAMPLES_DIR, "printer.cfg"))
    Printer(config, {"mcu": AnyPinDictionary()}, StreamLink(writer=None),
            BatchClock(), BatchReactor(), Dispatcher())
    config.check_unused()
