"""Regenerate the shipped MCU profiles (chelper/profiles/<name>.json).

A profile is a data dictionary in Klipper's JSON shape plus `move_count`
(the move-queue slots the MCU reports in its `config` response; Klipper's
batch mode assumes 500, see golden/klipper/README.md) and a `_source` note.

- atmega2560, stm32f407, stm32f446: copied from Klipper's own dictionaries
  in golden/klipper/dicts/ (same ids, formats, pins and constants).
- rp2040: no Klipper dictionary is in the reference set, so its message ids
  and formats are stm32f446's; its constants are the figures the project
  brief gives for Klipper's rp2040 port (12 MHz timer, ADC_MAX 4095,
  PWM_MAX 255, 30 GPIOs named gpio0..gpio29) and its static strings are
  stm32f446's (same firmware sources).

- linux: Klipper's Linux-process MCU (src/linux, `[mcu host]`); message
  ids and formats are stm32f446's; CLOCK_FREQ 50 MHz (the host's
  monotonic clock, KLIPPER-FACTS 8) and PWM_MAX 1<<15 (src/linux's sysfs
  hardware PWM); pin NAMES as the Linux target declares them
  (gpiochipN/gpioM, analogN for iio ADC channels, pwmchipN/pwmM) for a
  subset (4 GPIO chips of 64 lines, 8 ADC channels, 2 PWM chips of 4
  channels); the pin NUMBERS are klipsim's own (they are internal).

Run: python chelper/profiles/make_profiles.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DICTS = os.path.join(HERE, "..", "..", "golden", "klipper", "dicts")
BATCH_MOVE_COUNT = 500   # klippy batch mode's assumed MCU move_count

# Enumerations that do not depend on the chip's peripherals.
PORTABLE_ENUMS = ("bus_oid_type", "i2c_bus_status", "lis_chip_type",
                  "spi_angle_type", "static_string_id", "thermocouple_type",
                  "trigger_analog_type")


def from_klipper_dict(name):
    with open(os.path.join(DICTS, name + ".dict")) as f:
        profile = json.load(f)
    profile["move_count"] = BATCH_MOVE_COUNT
    profile["_source"] = ("Klipper data dictionary golden/klipper/dicts/%s.dict "
                          "(Klipper %s); move_count is klippy batch mode's 500"
                          % (name, profile.get("version", "?")))
    return profile


def derived_profile(stm32, pins, config, source):
    """A profile that is not a Klipper build: stm32f446's message ids,
    formats and static strings with this chip's pins and constants."""
    enums = {k: v for k, v in stm32["enumerations"].items() if k in PORTABLE_ENUMS}
    enums["pin"] = pins
    return {
        "app": "Klipper",
        "version": stm32.get("version", ""),
        "build_versions": "",
        "license": stm32.get("license", ""),
        "commands": stm32["commands"],
        "responses": stm32["responses"],
        "enumerations": enums,
        "config": config,
        "move_count": BATCH_MOVE_COUNT,
        "_source": ("not a Klipper build: message ids/formats and static strings "
                    "from golden/klipper/dicts/stm32f446.dict; " + source),
    }


def rp2040_profile(stm32):
    return derived_profile(
        stm32, {"gpio0": [0, 30]},
        {"CLOCK_FREQ": 12000000, "MCU": "rp2040", "ADC_MAX": 4095, "PWM_MAX": 255,
         "STATS_SUMSQ_BASE": 256, "STEPPER_STEP_BOTH_EDGE": 1},
        "CLOCK_FREQ 12 MHz, ADC_MAX 4095, PWM_MAX 255 and pins gpio0..gpio29 are the "
        "figures of Klipper's rp2040 port as given in the project brief; "
        "USB CDC, so no SERIAL_BAUD/RECEIVE_WINDOW")


LINUX_GPIO_CHIPS, LINUX_GPIO_LINES = 4, 64
LINUX_ADC_CHANNELS = 8
LINUX_PWM_CHIPS, LINUX_PWM_CHANNELS = 2, 4


def linux_pins():
    pins, number = {}, 0
    for chip in range(LINUX_GPIO_CHIPS):
        pins["gpiochip%d/gpio0" % chip] = [number, LINUX_GPIO_LINES]
        number += LINUX_GPIO_LINES
    pins["analog0"] = [number, LINUX_ADC_CHANNELS]
    number += LINUX_ADC_CHANNELS
    for chip in range(LINUX_PWM_CHIPS):
        pins["pwmchip%d/pwm0" % chip] = [number, LINUX_PWM_CHANNELS]
        number += LINUX_PWM_CHANNELS
    return pins


def linux_profile(stm32):
    return derived_profile(
        stm32, linux_pins(),
        {"CLOCK_FREQ": 50000000, "MCU": "linux", "ADC_MAX": 4095, "PWM_MAX": 1 << 15,
         "STATS_SUMSQ_BASE": 256},
        "CLOCK_FREQ 50 MHz and PWM_MAX 32768 of Klipper's Linux-process MCU (src/linux); "
        "pin names as it declares them, a subset, numbered by klipsim; "
        "a pseudo-tty, so no SERIAL_BAUD/RECEIVE_WINDOW")


def write(name, profile):
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(profile, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    profiles = {n: from_klipper_dict(n) for n in ("atmega2560", "stm32f407", "stm32f446")}
    profiles["rp2040"] = rp2040_profile(profiles["stm32f446"])
    profiles["linux"] = linux_profile(profiles["stm32f446"])
    for name, profile in sorted(profiles.items()):
        write(name, profile)


if __name__ == "__main__":
    main()
