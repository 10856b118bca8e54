"""Regenerate the shipped MCU profiles (chelper/profiles/<name>.json).

A profile is a data dictionary in Klipper's JSON shape plus `move_count`
(the move-queue slots the MCU reports in its `config` response; Klipper's
batch mode assumes 500, see golden/klipper/README.md) and a `_source` note.

- atmega2560, stm32f407, stm32f446: copied from Klipper's own dictionaries
  in golden/klipper/dicts/ (same ids, formats, pins and constants).
- every other family is written down below as facts (FAMILIES: MCU name,
  clock, ADC_MAX, PWM_MAX, the stepper constants, the pin-naming rule and
  its ports, the SPI/I2C bus enumerations, the transport) about Klipper's
  build of that chip at the reference commit (its CI Kconfig, as in
  ../shared/klipper-configs/dicts; tests/test_mcu_profiles.py checks every
  profile against that dictionary field by field). Message ids, formats
  and static strings are those of the same firmware family's bundled
  dictionary (AVR: atmega2560; everything else: stm32f446), which is what
  a build of the same sources gives for the commands klipsim sends.
- ALIASES (written to aliases.json) accepts Klipper's dictionary file
  stems (lpc176x, linuxprocess, stm32f103-serial ...) as profile names.
- chelper/profile_pins.py: every profile's pin enumeration (profile
  picking reads it at start-up).

Run: python chelper/profiles/make_profiles.py
"""
import json
import os
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
DICTS = os.path.join(HERE, "..", "..", "golden", "klipper", "dicts")
BATCH_MOVE_COUNT = 500   # klippy batch mode's assumed MCU move_count
ADC_TEMPERATURE = 254    # the internal temperature sensor's pin number (ARM ports)

# Enumerations that do not depend on the chip's peripherals.
PORTABLE_ENUMS = ("bus_oid_type", "i2c_bus_status", "lis_chip_type",
                  "spi_angle_type", "static_string_id", "thermocouple_type",
                  "trigger_analog_type")

# Klipper's serial (UART) builds: 250000 baud and a 192-byte receive
# buffer declared as RECEIVE_WINDOW (src/generic/serial_irq.c); USB and
# pseudo-tty builds declare neither.
UART = {"SERIAL_BAUD": 250000, "RECEIVE_WINDOW": 192}

# ---- bus enumerations (name -> bus number in that port's table) ----
AVR_BUSES = {"spi_bus": {"spi": 0}, "i2c_bus": {"twi": 0}}
STM32_SPI_F1 = {"spi2": 0, "spi1": 1, "spi1a": 2, "spi3": 3}
STM32_SPI_F0 = {"spi2": 0, "spi1": 1, "spi1a": 2, "spi2a": 3}
STM32_SPI_F4 = {"spi2": 0, "spi1": 1, "spi1a": 2, "spi2a": 3, "spi3": 4, "spi3a": 5,
                "spi2b": 6}
STM32_SPI_G0 = {"spi2": 0, "spi1": 1, "spi1a": 2, "spi2a": 3, "spi3": 6}
STM32_SPI_H7 = {"spi2": 0, "spi1": 1, "spi1a": 2, "spi2a": 3, "spi3a": 4, "spi4": 5,
                "spi5": 6, "spi5a": 7, "spi6": 8, "spi2b": 9}
# STM32 ports also name each bus by its pins "spiN_MISO_MOSI_SCK" (the
# same number as the short name): (long name, bus number) pairs.
SPI_PINS = {"spi2": "PB14_PB15_PB13", "spi1": "PA6_PA7_PA5", "spi1a": "PB4_PB5_PB3",
            "spi2a": "PC2_PC3_PB10", "spi3": "PB4_PB5_PB3", "spi3a": "PC11_PC12_PC10",
            "spi2b": "PI2_PI3_PI1", "spi4": "PE13_PE14_PE12"}
STM32_I2C_F1 = {"i2c1": 0, "i2c1a": 1, "i2c2": 2}
STM32_I2C_F4 = {"i2c1": 0, "i2c1a": 1, "i2c2": 2, "i2c3": 3}
STM32_I2C_F4X = {**STM32_I2C_F4, "i2c2a": 4, "i2c3a": 5, "i2c2_PF1_PF0": 6}
STM32_I2C_H7 = {"i2c1_PB6_PB7": 0, "i2c1_PB8_PB9": 1, "i2c2_PB10_PB11": 2,
                "i2c3_PA8_PC9": 3}


def stm32_spi(short, extra_long=()):
    """spi_bus enumeration: the short names plus the pin-named aliases of
    the buses in SPI_PINS (F0/F1/F4/G0 ports) and `extra_long` pairs."""
    table = dict(short)
    for name, number in short.items():
        if name in SPI_PINS:
            table["%s_%s" % (name[:4], SPI_PINS[name])] = number
    table.update(extra_long)
    return table


def ports(letters, width, first=0):
    """Pins named P<letter><n>, numbered (letter - 'A') * width + n."""
    return {"P%s%d" % (c, first): [(ord(c) - ord("A")) * width + first, width]
            for c in letters}


def lpc_ports(count):
    """LPC176x pins P<port>.<n>, 32 a port, numbered port * 32 + n."""
    return {"P%d.0" % p: [p * 32, 32] for p in range(count)}


def linux_pins():
    """Klipper's Linux-process MCU (src/linux): gpiochipN/gpioM is
    N * 288 + M for 9 chips, and the short gpioM names chip 0; analogN
    (iio channels) from 4096; pwmchipN/pwmM from 65536, 16 a chip."""
    pins = {"gpio0": [0, 288], "analog0": [4096, 8]}
    for chip in range(9):
        pins["gpiochip%d/gpio0" % chip] = [chip * 288, 288]
    for chip in range(8):
        pins["pwmchip%d/pwm0" % chip] = [65536 + chip * 16, 16]
    return pins


ARM = {"ADC_MAX": 4095, "STATS_SUMSQ_BASE": 256, "STEPPER_STEP_BOTH_EDGE": 1}
AVR = {"ADC_MAX": 1023, "PWM_MAX": 255, "STATS_SUMSQ_BASE": 256,
       "STEPPER_STEP_BOTH_EDGE": 1, "STEPPER_OPTIMIZED_UNSTEP": 40}

# name: (base dictionary, config constants, pins, chip enumerations)
FAMILIES = {
    "atmega1280": ("atmega2560", {**AVR, **UART, "CLOCK_FREQ": 16000000, "MCU": "atmega1280"},
                   ports("ABCDEFGHJKL", 8), AVR_BUSES),
    "atmega1284p": ("atmega2560", {**AVR, **UART, "CLOCK_FREQ": 16000000, "MCU": "atmega1284p"},
                    ports("ABCD", 8), AVR_BUSES),
    "atmega644p": ("atmega2560", {**AVR, **UART, "CLOCK_FREQ": 16000000, "MCU": "atmega644p"},
                   ports("ABCD", 8), AVR_BUSES),
    "at90usb1286": ("atmega2560", {**AVR, "CLOCK_FREQ": 16000000, "MCU": "at90usb1286"},
                    ports("ABCDEF", 8), AVR_BUSES),
    "stm32f070": ("stm32f446", {**ARM, "CLOCK_FREQ": 48000000, "MCU": "stm32f070xb",
                                "PWM_MAX": 32768, "STEPPER_OPTIMIZED_EDGE": 6},
                  ports("ABCDF", 16),
                  {"spi_bus": stm32_spi(STM32_SPI_F0),
                   "i2c_bus": {"i2c1": 0, "i2c1a": 1, "i2c1_PB6_PB7": 0, "i2c1_PF1_PF0": 1,
                               "i2c1_PB8_PB9": 2, "i2c1_PB8_PB7": 3}}),
    "stm32f103": ("stm32f446", {**ARM, "CLOCK_FREQ": 72000000, "MCU": "stm32f103xe",
                                "PWM_MAX": 32768, "STEPPER_OPTIMIZED_EDGE": 9},
                  ports("ABCDEFG", 16),
                  {"spi_bus": stm32_spi(STM32_SPI_F1), "i2c_bus": STM32_I2C_F1}),
    "stm32f401": ("stm32f446", {**ARM, "CLOCK_FREQ": 84000000, "MCU": "stm32f401xc",
                                "PWM_MAX": 32768, "STEPPER_OPTIMIZED_EDGE": 11},
                  ports("ABCDEH", 16),
                  {"spi_bus": stm32_spi({**STM32_SPI_F4, "spi4": 7}),
                   "i2c_bus": STM32_I2C_F4, "sdio_bus": {"sdio": 0}}),
    "stm32f405": ("stm32f446", {**ARM, "CLOCK_FREQ": 168000000, "MCU": "stm32f405xx",
                                "PWM_MAX": 32768, "STEPPER_OPTIMIZED_EDGE": 21},
                  ports("ABCDEFGHI", 16),
                  {"spi_bus": stm32_spi(STM32_SPI_F4), "i2c_bus": STM32_I2C_F4X,
                   "sdio_bus": {"sdio": 0}}),
    "stm32f429": ("stm32f446", {**ARM, "CLOCK_FREQ": 168000000, "MCU": "stm32f429xx",
                                "PWM_MAX": 32768, "STEPPER_OPTIMIZED_EDGE": 21},
                  ports("ABCDEFGHI", 16),
                  {"spi_bus": stm32_spi({**STM32_SPI_F4, "spi4": 7},
                                        [("spi6_PG12_PG14_PG13", 8)]),
                   "i2c_bus": STM32_I2C_F4X, "sdio_bus": {"sdio": 0}}),
    "stm32g0b1": ("stm32f446", {**ARM, "CLOCK_FREQ": 64000000, "MCU": "stm32g0b1xx",
                                "PWM_MAX": 32768, "STEPPER_OPTIMIZED_EDGE": 8},
                  ports("ABCDEF", 16),
                  {"spi_bus": stm32_spi(STM32_SPI_G0, [("spi2_PB2_PB11_PB10", 4),
                                                       ("spi2_PB6_PB7_PB8", 5),
                                                       ("spi3_PC11_PC12_PC10", 7)]),
                   "i2c_bus": {"i2c1_PB6_PB7": 0, "i2c1_PB8_PB9": 1, "i2c1_PA9_PA10": 2,
                               "i2c2_PB10_PB11": 3, "i2c2_PB13_PB14": 4, "i2c2_PA7_PA6": 5,
                               "i2c3_PB3_PB4": 6, "i2c3_PC0_PC1": 7, "i2c3_PA7_PA6": 8}}),
    # H7: no STEPPER_OPTIMIZED_EDGE (shared/reference/README.md says so)
    "stm32h723": ("stm32f446", {**ARM, "CLOCK_FREQ": 520000000, "MCU": "stm32h723xx",
                                "PWM_MAX": 32768},
                  ports("ABCDEFGH", 16), {"spi_bus": STM32_SPI_H7, "i2c_bus": STM32_I2C_H7}),
    "stm32h743": ("stm32f446", {**ARM, "CLOCK_FREQ": 400000000, "MCU": "stm32h743xx",
                                "PWM_MAX": 32768},
                  ports("ABCDEFGHI", 16), {"spi_bus": STM32_SPI_H7, "i2c_bus": STM32_I2C_H7}),
    "lpc1768": ("stm32f446", {**ARM, "CLOCK_FREQ": 100000000, "MCU": "lpc1768",
                              "PWM_MAX": 255, "STEPPER_OPTIMIZED_EDGE": 13},
                lpc_ports(5),
                {"spi_bus": {"ssp0": 0, "ssp1": 1},
                 "i2c_bus": {"i2c1": 0, "i2c1a": 1, "i2c0": 2, "i2c2": 3}}),
    "sam3x8c": ("stm32f446", {**ARM, "CLOCK_FREQ": 84000000, "MCU": "sam3x8c",
                              "PWM_MAX": 255, "STEPPER_OPTIMIZED_EDGE": 11},
                ports("AB", 32),
                {"spi_bus": {"spi0": 0, "usart0": [1, 3]}, "i2c_bus": {"twi0": [0, 2]}}),
    "sam3x8e": ("stm32f446", {**ARM, "CLOCK_FREQ": 84000000, "MCU": "sam3x8e",
                              "PWM_MAX": 255, "STEPPER_OPTIMIZED_EDGE": 11},
                ports("ABCD", 32),
                {"spi_bus": {"spi0": 0, "usart0": [1, 3]}, "i2c_bus": {"twi0": [0, 2]}}),
    "sam4s8c": ("stm32f446", {**ARM, "CLOCK_FREQ": 120000000, "MCU": "sam4s8c",
                              "PWM_MAX": 255, "STEPPER_OPTIMIZED_EDGE": 15},
                ports("ABC", 32),
                {"spi_bus": {"spi": 0, "usart0": [1, 2]}, "i2c_bus": {"twi0": [0, 2]}}),
    "sam4e8e": ("stm32f446", {**ARM, "CLOCK_FREQ": 120000000, "MCU": "sam4e8e",
                              "PWM_MAX": 255, "STEPPER_OPTIMIZED_EDGE": 15},
                ports("ABCDE", 32),
                {"spi_bus": {"spi": 0, "usart0": [1, 2]}, "i2c_bus": {"twi0": [0, 2]}}),
    # SAMD51/SAME70: no PWM_MAX (no hardware PWM in those builds); SAMD51
    # names its SERCOM units in a `bus` enumeration instead of spi_bus.
    "samd51p20": ("stm32f446", {**ARM, "CLOCK_FREQ": 120000000, "MCU": "samd51p20a",
                                "STEPPER_OPTIMIZED_EDGE": 15},
                  ports("ABCD", 32), {"bus": {"sercom0": [0, 8]}}),
    "same70q20b": ("stm32f446", {**ARM, "CLOCK_FREQ": 300000000, "MCU": "same70q20b",
                                 "STEPPER_OPTIMIZED_EDGE": 38},
                   ports("ABCDE", 32),
                   {"spi_bus": {"spi0": [0, 2], "usart0": [2, 3]},
                    "i2c_bus": {"twihs0": [0, 3]}}),
    "rp2040": ("stm32f446", {**ARM, "CLOCK_FREQ": 12000000, "MCU": "rp2040",
                             "PWM_MAX": 32768, "STEPPER_OPTIMIZED_EDGE": 2},
               {"gpio0": [0, 30]},
               {"spi_bus": {"spi0a": 0, "spi0b": 1, "spi0c": 2, "spi0d": 3, "spi1a": 5,
                            "spi1b": 6, "spi1c": 7,
                            "spi0_gpio0_gpio3_gpio2": 0, "spi0_gpio4_gpio7_gpio6": 1,
                            "spi0_gpio16_gpio19_gpio18": 2, "spi0_gpio20_gpio23_gpio22": 3,
                            "spi0_gpio4_gpio3_gpio2": 4, "spi1_gpio8_gpio11_gpio10": 5,
                            "spi1_gpio12_gpio15_gpio14": 6, "spi1_gpio24_gpio27_gpio26": 7,
                            "spi1_gpio12_gpio11_gpio10": 8},
                "i2c_bus": {"i2c%d%s" % (unit, chr(ord("a") + k)): unit * 8 + k
                            for unit in (0, 1) for k in range(8 - unit)}}),
    # HC32F460: a serial build, ports A-E and the single pin PH2
    "hc32f460": ("stm32f446", {**ARM, **UART, "CLOCK_FREQ": 168000000, "MCU": "HC32F460",
                               "PWM_MAX": 65535, "STEPPER_OPTIMIZED_EDGE": 21},
                 {**ports("ABCDE", 16), "PH2": [82, 1]}, {}),
    # Klipper's Linux-process MCU (src/linux): 50 MHz (the host's monotonic
    # clock, KLIPPER-FACTS 8), sysfs hardware PWM of 1<<15, PCA9685 outputs
    "linux": ("stm32f446", {"ADC_MAX": 4095, "STATS_SUMSQ_BASE": 256,
                            "STEPPER_STEP_BOTH_EDGE": 1, "CLOCK_FREQ": 50000000,
                            "MCU": "linux", "PWM_MAX": 32768, "PCA9685_MAX": 4096},
              linux_pins(),
              {"spi_bus": {"spidev%d.0" % n: [n * 256, 16] for n in range(8)},
               "i2c_bus": {"i2c.0": [0, 15]}}),
}
# ARM ports expose the chip's temperature sensor as pin ADC_TEMPERATURE
# (not the Linux process, not AVR, not LPC176x, not HC32F460).
NO_ADC_TEMPERATURE = ("linux", "lpc1768", "hc32f460")

# Klipper's dictionary file stems (klipper-configs/dicts) -> profile names
ALIASES = {"lpc176x": "lpc1768", "linuxprocess": "linux",
           "stm32f103-serial": "stm32f103", "hc32f460-serial-PA3PA2": "hc32f460",
           "hc32f460-serial-PA7PA8": "hc32f460"}


def from_klipper_dict(name):
    with open(os.path.join(DICTS, name + ".dict")) as f:
        profile = json.load(f)
    profile["move_count"] = BATCH_MOVE_COUNT
    profile["_source"] = ("Klipper data dictionary golden/klipper/dicts/%s.dict "
                          "(Klipper %s); move_count is klippy batch mode's 500"
                          % (name, profile.get("version", "?")))
    return profile


def derived_profile(name, base):
    """A profile written from FAMILIES facts on `base`'s message set."""
    base_name, config, pins, buses = FAMILIES[name]
    pins = dict(pins)
    if base_name != "atmega2560" and name not in NO_ADC_TEMPERATURE:
        pins["ADC_TEMPERATURE"] = ADC_TEMPERATURE
    enums = {k: v for k, v in base["enumerations"].items() if k in PORTABLE_ENUMS}
    enums.update(buses)
    enums["pin"] = pins
    return {
        "app": "Klipper",
        "version": base.get("version", ""),
        "build_versions": "",
        "license": base.get("license", ""),
        "commands": base["commands"],
        "responses": base["responses"],
        "enumerations": enums,
        "config": dict(sorted(config.items())),
        "move_count": BATCH_MOVE_COUNT,
        "_source": ("not a Klipper build: message ids/formats and static strings from "
                    "golden/klipper/dicts/%s.dict; constants, pins and buses are the facts "
                    "in make_profiles.py FAMILIES" % base_name),
    }


def write(name, profile):
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(profile, f, indent=1, sort_keys=True)
        f.write("\n")


def all_profiles():
    """{name: profile} of every shipped profile."""
    profiles = {n: from_klipper_dict(n) for n in ("atmega2560", "stm32f407", "stm32f446")}
    for name in FAMILIES:
        profiles[name] = derived_profile(name, profiles[FAMILIES[name][0]])
    return profiles


def pin_index(profiles):
    """{name: pin enumeration} of every profile, as chelper/profile_pins.py
    holds it."""
    return {name: profiles[name]["enumerations"]["pin"] for name in sorted(profiles)}


def write_pin_index(profiles):
    """chelper/profile_pins.py: every profile's pin enumeration, which
    profile picking reads instead of parsing every profile (start-up)."""
    with open(os.path.join(HERE, "..", "profile_pins.py"), "w") as f:
        f.write('"""The pin enumerations of the shipped MCU profiles (generated by\n'
                'chelper/profiles/make_profiles.py; do not edit): msgproto.profile_pins\n'
                'reads them here rather than parsing every profile (start-up)."""\n'
                "PINS = {\n")
        for name, pins in pin_index(profiles).items():
            head = "    %s: " % json.dumps(name)
            entries = json.dumps(pins, sort_keys=True, separators=(",", ": "))
            text = textwrap.fill(entries.replace(',"', ', "') + ",", width=95,
                                 initial_indent=head, subsequent_indent=" " * len(head),
                                 break_on_hyphens=False, break_long_words=False)
            f.write(text + "\n")
        f.write("}\n")


def main():
    profiles = all_profiles()
    for name, profile in sorted(profiles.items()):
        write(name, profile)
    write_pin_index(profiles)
    with open(os.path.join(HERE, "aliases.json"), "w") as f:
        json.dump(ALIASES, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
