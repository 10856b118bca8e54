"""Auto-pick of an MCU's bundled profile when neither --mcu nor
--dictionary names it (klipsim.sim.mcus.profile_pick): the Linux-process MCU by its
serial path, else the profile whose pins contain every pin the config uses
on that MCU, a chip the config names first, else the stated order (the
families by their count in Klipper's printers.test)."""
import json
import os
import re
import sys

from click.testing import CliRunner

from klipsim.chelper import msgproto
from klipsim.cli import main as cli_main
from klipsim.host.configfile import load_config
from klipsim.sim.mcus.profile_pick import PICK_ORDER, PickError, pick_profiles

sys.path.insert(0, os.path.dirname(__file__))
from _shared_corpus import KLIPPER_CONFIGS_DIR, requires_klipper_configs  # noqa: E402

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
GCODE = os.path.join(EXAMPLES, "example.gcode")


def _config(tmp_path, text, name="printer.cfg"):
    path = tmp_path / name
    path.write_text(text)
    return load_config(str(path))


def _pins_config(pins, serial="/dev/ttyACM0", comment=""):
    text = "%s\n[mcu]\nserial: %s\n\n[printer]\nkinematics: none\n" % (comment, serial)
    for i, pin in enumerate(pins):
        text += "\n[output_pin p%d]\npin: %s\n" % (i, pin)
    return text


def test_host_serial_is_the_linux_process(tmp_path):
    config = _config(tmp_path, _pins_config(["gpio17"], serial="/tmp/klipper_host_mcu"))
    pick = pick_profiles(config)["mcu"]
    assert pick.profile == "linux" and "/tmp/klipper_host_mcu" in pick.reason


def test_stated_order_breaks_ties(tmp_path):
    # PA1 and PB7 are pins of every AVR and ARM port with ports A and B:
    # atmega2560 is the most common family in printers.test
    assert pick_profiles(_config(tmp_path, _pins_config(["PA1", "!PB7"])))["mcu"].profile \
        == PICK_ORDER[0] == "atmega2560"
    # PA9 is past an AVR port's 8 pins: the next family, stm32f103
    assert pick_profiles(_config(tmp_path, _pins_config(["PA9", "^PB7"])))["mcu"].profile \
        == "stm32f103"
    # P1.20: only the LPC176x names pins so
    assert pick_profiles(_config(tmp_path, _pins_config(["P1.20"])))["mcu"].profile \
        == "lpc1768"
    # PI3 (port I): not on the stm32f103 nor stm32f446; stm32f407 first
    assert pick_profiles(_config(tmp_path, _pins_config(["PA9", "PI3"])))["mcu"].profile \
        == "stm32f407"


def test_a_chip_the_config_names_wins(tmp_path):
    text = _pins_config(["PA9"], comment="# compiled for the STM32G0B1 with USB")
    pick = pick_profiles(_config(tmp_path, text))["mcu"]
    assert pick.profile == "stm32g0b1" and "the config names" in pick.reason
    # ... but only if its pins fit (PA9 is no atmega2560 pin)
    text = _pins_config(["PA9"], comment="# an ATmega2560 board")
    assert pick_profiles(_config(tmp_path, text))["mcu"].profile == "stm32f103"


def test_board_pin_aliases_and_other_chips(tmp_path):
    text = _pins_config(["EXP1_1", "probe:z_virtual_endstop", "P0.10"])
    text += "\n[board_pins]\naliases: EXP1_1=P1.30, EXP1_2=\n"
    assert pick_profiles(_config(tmp_path, text))["mcu"].profile == "lpc1768"


def test_no_fit_names_the_first_pin_and_its_place(tmp_path):
    config = _config(tmp_path, _pins_config(["PA1", "PZ3", "PQ1"]))
    try:
        pick_profiles(config)
        raise AssertionError("no PickError")
    except PickError as e:
        text = str(e)
    assert re.match(r".*printer\.cfg:\d+: pin 'PZ3' is no pin of any bundled MCU profile", text)
    # every pin of some profile, never all of one
    config = _config(tmp_path, _pins_config(["PA1", "P1.20"]))
    try:
        pick_profiles(config)
        raise AssertionError("no PickError")
    except PickError as e:
        assert "fits no bundled MCU profile together with the other pins" in str(e)


def test_given_mcus_are_not_picked(tmp_path):
    config = _config(tmp_path, _pins_config(["PZ3"]))
    assert pick_profiles(config, given={"mcu"}) == {}


def _linux_printer(tmp_path):
    """The bundled printer moved onto a Linux-process MCU: every pin a
    GPIO line, named gpioN and gpiochip0/gpioN alternately."""
    text = open(os.path.join(EXAMPLES, "printer.cfg")).read()
    pins = []

    def gpio(m):
        pins.append(m.group(0)) if m.group(0) not in pins else None
        i = pins.index(m.group(0)) + 2
        return ("gpio%d" if i % 2 else "gpiochip0/gpio%d") % i
    text = re.sub(r"\bP[A-I]\d{1,2}\b", gpio, text)
    text = re.sub(r"serial: .*", "serial: /tmp/klipper_host_mcu", text, count=1)
    cfg = tmp_path / "host.cfg"
    cfg.write_text(text)
    return str(cfg)


def test_compile_linux_main_mcu_with_short_and_chip_names(tmp_path):
    """compile picks the linux profile without --mcu; the stream prints
    Klipper's names (the chip form, as parsedump prints a shared number)."""
    cfg = _linux_printer(tmp_path)
    out = str(tmp_path / "out.txt")
    r = CliRunner().invoke(cli_main, ["compile", GCODE, "--config", cfg, "-o", out])
    assert r.exit_code == 0, r.output
    assert "MCU mcu: profile linux picked (serial /tmp/klipper_host_mcu" in r.output
    lines = open(out).read().splitlines()
    steppers = [line for line in lines if line.startswith("config_stepper")]
    assert steppers[0] == ("config_stepper oid=2 step_pin=gpiochip0/gpio2 dir_pin=gpiochip0/gpio3"
                           " invert_step=0 step_pulse_ticks=100")   # 2 us at 50 MHz


def test_simulate_main_mcu_on_the_host_serial_is_the_linux_process(tmp_path):
    """issue 11: the main [mcu] on /tmp/klipper_host_mcu runs as the Linux
    process without --mcu linux (short gcode: a square and a Z move)."""
    gcode = tmp_path / "square.gcode"
    gcode.write_text("SET_KINEMATIC_POSITION X=100 Y=100 Z=10\nG1 X120 F6000\nG1 Y120\n"
                     "G1 X100\nG1 Y100\nG1 Z12 F600\n")
    report = tmp_path / "r.json"
    r = CliRunner().invoke(cli_main, ["simulate", str(gcode), "--config",
                                      _linux_printer(tmp_path), "--report", str(report)])
    assert r.exit_code == 0, r.output
    assert "MCU mcu: profile linux picked (serial /tmp/klipper_host_mcu" in r.output
    data = json.load(open(report))
    assert data["verdict"] == "ok" and data["mcus"]["mcu"]["profile"] == "linux"
    assert "linux_process" in data["mcus"]["mcu"]


@requires_klipper_configs
def test_printers_test_configs_get_their_dictionarys_profile():
    """Over Klipper's printers.test (201 configs with a dictionary): the
    pick equals the profile of the dictionary printers.test names for all
    but 4, whose config text names a sibling chip of the same pin set
    (Octopus v1.1: F446 named, F429 built; EZBoard: F405/F407; the Sermoon
    V1 comments name an F401; the Duet 3 Mini names no chip)."""
    right, wrong = 0, []
    dicts = []
    for line in open(os.path.join(KLIPPER_CONFIGS_DIR, "printers.test")):
        words = line.split()
        if words[:1] == ["DICTIONARY"]:
            dicts = words[1:]
        elif words[:1] == ["CONFIG"]:
            want = {(d.rpartition("=")[0] or "mcu"): d.rpartition("=")[2][:-5] for d in dicts}
            if any(not os.path.exists(os.path.join(KLIPPER_CONFIGS_DIR, "dicts", f + ".dict"))
                   for f in want.values()):
                continue       # the PRU boards: no dictionary
            config = load_config(os.path.join(KLIPPER_CONFIGS_DIR, "config",
                                              os.path.basename(words[1])))
            picks = pick_profiles(config)
            if all(picks[n].profile == msgproto.resolve_profile(w) for n, w in want.items()):
                right += 1
            else:
                wrong.append(os.path.basename(words[1]))
    assert right + len(wrong) == 201
    assert right >= 197, wrong
