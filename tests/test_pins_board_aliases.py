"""[board_pins] aliases: a config written with aliases compiles to the
same stream as the same config with the MCU's own pin names."""
import io

import pytest

from klipsim.chelper.msgproto import load_profile
from klipsim.golden import examples
from klipsim.host.mcu import MCUError
from klipsim.sim.compile.batch import compile_gcode

ALIASES = """
[board_pins octopus]
aliases:
    X_STEP=PF13, HE0=PA2,
    EXP1_1=PE8
"""


def compile_with(tmp_path, config_text):
    cfg = tmp_path / "printer.cfg"
    cfg.write_text(config_text)
    out = io.StringIO()
    compile_gcode(examples.EXAMPLES_DIR + "/example.gcode", str(cfg),
                  load_profile("stm32f446"), out)
    return out.getvalue()


def original():
    return open(examples.EXAMPLES_DIR + "/printer.cfg").read()


def test_aliases_give_the_same_stream(tmp_path):
    aliased = original().replace("step_pin: PF13", "step_pin: X_STEP").replace(
        "heater_pin: PA2", "heater_pin: HE0") + ALIASES
    assert "X_STEP" in aliased and "HE0" in aliased
    assert compile_with(tmp_path, aliased) == compile_with(tmp_path, original())


def test_unknown_alias_is_an_error_naming_the_pin(tmp_path):
    with pytest.raises(MCUError, match="NOT_A_PIN"):
        compile_with(tmp_path, original().replace("step_pin: PF13", "step_pin: NOT_A_PIN"))
