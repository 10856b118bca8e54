"""Bad parameters of the extras' commands and options give one-line
errors naming the place (file:line of the G-code, or of the printer.cfg
option), and the run goes on after a G-code error."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402

from klipsim.host.configfile import ConfigError  # noqa: E402
from klipsim.host.mcu import MCUError  # noqa: E402

EXTRA = """
[output_pin beeper]
pin: PC0

[output_pin light]
pin: PH4
pwm: True
scale: 10

[pause_resume]

[display_status]

[respond]
"""


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path, base_config_text() + EXTRA)


BAD_COMMANDS = [
    ("SET_PIN PIN=beeper VALUE=0.5", "Invalid pin value"),
    ("SET_PIN PIN=beeper", "Missing parameter VALUE"),
    ("SET_PIN PIN=light VALUE=11", "VALUE must have maximum of 10"),
    ("SET_PIN PIN=nosuch VALUE=1", "The value 'nosuch' is not valid for PIN"),
    ("M106 S-5", "S must have minimum of 0"),
    ("SET_RETRACTION RETRACT_LENGTH=-1", "RETRACT_LENGTH must have minimum of 0"),
    ("SET_RETRACTION RETRACT_SPEED=abc", "Unable to parse RETRACT_SPEED=abc"),
    ("RESTORE_GCODE_STATE NAME=nope", "Unknown g-code state: nope"),
    ("RESTORE_GCODE_STATE NAME=x MOVE_SPEED=0", "Unknown g-code state: x"),
    ("EXCLUDE_OBJECT_DEFINE NAME=a POLYGON=[[1,2", "EXCLUDE_OBJECT_DEFINE: POLYGON is not a valid list"),
    ("EXCLUDE_OBJECT_START", "Missing parameter NAME"),
    ("RESPOND TYPE=shout MSG=hi", "RESPOND TYPE 'shout' is invalid"),
    ("RESUME VELOCITY=0", None),   # not paused: only a message, no error
]


@pytest.mark.parametrize("line,message", BAD_COMMANDS)
def test_bad_command_is_one_line_error(run, line, message):
    run.run("G90\n\n" + line + "\nM117 still running\n", source="job.gcode")
    errors = run.errors()
    if message is None:
        assert errors == []
    else:
        assert len(errors) == 1 and errors[0].startswith("job.gcode:3: " + message), errors
        assert "\n" not in errors[0]
    # the run went on: the next line was executed
    assert run.printer.objects["display_status"].get_status()["message"] == "still running"


def test_restore_move_speed_checked_after_state(run):
    run.run("SAVE_GCODE_STATE NAME=s\nRESTORE_GCODE_STATE NAME=s MOVE=1 MOVE_SPEED=0\n",
            source="job.gcode")
    assert run.errors() == ["job.gcode:2: MOVE_SPEED must be above 0.0"]


def test_error_inside_retraction_script_names_the_command(tmp_path):
    """A G10 whose move is refused (no extrusion allowed past
    max_extrude_only_distance) names the G10 line and the script."""
    config = base_config_text().replace("retract_length: 0.8", "retract_length: 100")
    run = Run(tmp_path, config)
    run.run("SET_KINEMATIC_POSITION X=100 Y=100 Z=5\nG10\n", source="job.gcode")
    errors = run.errors()
    assert len(errors) == 1 and errors[0].startswith("job.gcode:2: G10:"), errors


@pytest.mark.parametrize("section,location_option", [
    ("[output_pin x]\npin: PC1\npwm: True\nscale: 2\nvalue: 3\n", "value"),
    ("[output_pin x]\npin: PC1\npwm: True\ncycle_time: 5\n", "cycle_time"),
    ("[firmware_retraction]\nretract_speed: 0.5\n", "retract_speed"),
    ("[heater_fan h]\npin: PC1\nheater: nosuch\n", "heater"),
    ("[controller_fan c]\npin: PC1\nstepper: stepper_q\n", "stepper"),
    ("[respond]\ndefault_type: shout\n", "default_type"),
])
def test_bad_option_names_file_and_line(tmp_path, section, location_option):
    base = base_config_text()
    if section.startswith("[firmware_retraction]"):
        base = _drop_section(base, "firmware_retraction")
    text = base + "\n" + section
    option_line = text.splitlines().index(next(
        l for l in text.splitlines()[len(base.splitlines()):] if l.startswith(location_option))) + 1
    with pytest.raises(ConfigError) as info:
        Run(tmp_path, text)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("%s:%d: " % (os.path.join(str(tmp_path), "printer.cfg"), option_line)) \
        or message.startswith("printer.cfg:%d: " % option_line), message


def test_hardware_pwm_needs_config_pwm_out(tmp_path):
    """An MCU whose dictionary lacks config_pwm_out can not give hardware
    PWM: the error names the option's place."""
    import klipsim.host.hw_pwm as hw_pwm

    class NoPwmDict:
        commands = {}

    class FakeMcu:
        name = "mcu"
        dictionary = NoPwmDict()

    with pytest.raises(MCUError) as info:
        hw_pwm.HardwarePwm(FakeMcu(), "PB5", False, 0.01, where="printer.cfg:9")
    assert str(info.value).startswith("printer.cfg:9: ")


def _drop_section(text, name):
    """Config text without section [name] (header and its options)."""
    out, skipping = [], False
    for line in text.splitlines():
        if line.startswith("["):
            skipping = line.strip() == "[%s]" % name
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"
