"""Every bundled MCU profile against Klipper's own data dictionary of that
family (../shared/klipper-configs/dicts, built from the reference commit
with Klipper's CI Kconfig files): field by field, the constants that
change what the host sends, the pin enumeration (names AND numbers:
streams carry pin numbers) and the bus enumerations.  The firmware is
built for every profile and serves the same facts from `identify`.
"""
import json
import os
import sys

import pytest

from klipsim.chelper import msgproto
from klipsim.firmware.simulator import mcu as fwmcu

sys.path.insert(0, os.path.dirname(__file__))
from _shared_corpus import KLIPPER_CONFIGS_DIR, HAVE_KLIPPER_CONFIGS  # noqa: E402
from _shared_corpus import requires_klipper_configs  # noqa: E402

DICTS = os.path.join(KLIPPER_CONFIGS_DIR, "dicts")
STEMS = sorted(f[:-5] for f in os.listdir(DICTS) if f.endswith(".dict")) \
    if HAVE_KLIPPER_CONFIGS else []
HOST_CONSTANTS = ("CLOCK_FREQ", "MCU", "ADC_MAX", "PWM_MAX", "STATS_SUMSQ_BASE",
                  "STEPPER_STEP_BOTH_EDGE", "STEPPER_OPTIMIZED_EDGE",
                  "STEPPER_OPTIMIZED_UNSTEP", "PCA9685_MAX")
TRANSPORT = ("SERIAL_BAUD", "RECEIVE_WINDOW")
BUS_ENUMS = ("spi_bus", "i2c_bus", "bus", "sdio_bus")
# one profile per chip: the serial build of the stm32f103 shares the USB
# build's profile (only its transport differs)
SHARED_TRANSPORT = {"stm32f103-serial"}


def profile_for_stem(stem):
    return msgproto.resolve_profile(stem)


@requires_klipper_configs
def test_every_dictionary_has_a_profile():
    assert len(STEMS) == 27
    names = {profile_for_stem(s) for s in STEMS}
    assert len(names) == 25 and names <= set(msgproto.profile_names())


@requires_klipper_configs
@pytest.mark.parametrize("stem", STEMS)
def test_profile_matches_dictionary(stem):
    klipper = msgproto.Dictionary.load(os.path.join(DICTS, stem + ".dict"))
    ours = msgproto.load_profile(profile_for_stem(stem))
    keys = HOST_CONSTANTS + (() if stem in SHARED_TRANSPORT else TRANSPORT)
    for key in keys:
        assert ours.config.get(key) == klipper.config.get(key), key
    assert ours.pins == klipper.pins          # names and numbers
    for enum in BUS_ENUMS:
        assert ours.enumerations.get(enum) == klipper.enumerations.get(enum), enum
    # sensor chip types: the same numbers (the HC32F460 build has no
    # thermocouple module; the profile keeps the common message set)
    if "thermocouple_type" in klipper.enumerations:
        assert ours.enumerations["thermocouple_type"] == klipper.enumerations["thermocouple_type"]


@requires_klipper_configs
@pytest.mark.parametrize("stem", STEMS)
def test_firmware_serves_the_profile(stem):
    name = profile_for_stem(stem)
    klipper = msgproto.Dictionary.load(os.path.join(DICTS, stem + ".dict"))
    served = fwmcu.dictionary(name)
    assert served.clock_freq == klipper.clock_freq and served.mcu == klipper.mcu
    assert served.pins == klipper.pins
    for key in ("PWM_MAX", "STEPPER_STEP_BOTH_EDGE", "ADC_MAX"):
        assert served.config.get(key) == klipper.config.get(key), key


def test_aliases_name_profiles():
    aliases = msgproto.profile_aliases()
    assert aliases["lpc176x"] == "lpc1768" and aliases["linuxprocess"] == "linux"
    assert msgproto.load_profile("lpc176x").mcu == "lpc1768"
    assert set(aliases.values()) <= set(msgproto.profile_names())
    assert not set(aliases) & set(msgproto.profile_names())
    with open(os.path.join(msgproto.PROFILE_DIR, msgproto.ALIASES_FILE)) as f:
        assert json.load(f) == aliases


def test_linux_short_and_chip_gpio_names():
    # Klipper's Linux MCU: gpio17 and gpiochip0/gpio17 are the same line
    linux = msgproto.load_profile("linux")
    assert linux.pins["gpio17"] == linux.pins["gpiochip0/gpio17"] == 17
    assert linux.pins["gpiochip2/gpio5"] == 2 * 288 + 5
    fw = fwmcu.dictionary("linux")
    assert fw.pins["gpio17"] == 17 and fw.pins["pwmchip1/pwm2"] == 65536 + 18
