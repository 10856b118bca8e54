"""Which bundled MCU profile an [mcu] gets when the command line names none.

Contract: `pick_profiles(config, given)` returns {MCU name: Pick} for every
[mcu] / [mcu NAME] section of the config whose name is not in `given`
(the MCUs --mcu or --dictionary named), and raises PickError (one line
naming the file:line of the first pin that fits nothing) when no bundled
profile can be picked.  The rule:
1. `serial: /tmp/klipper_host_mcu` is Klipper's Linux-process MCU: `linux`;
2. otherwise the candidates are the profiles whose pin names contain every
   pin the config uses on that MCU (each option named `pin`, `pins`,
   `*_pin` or `*_pins` of every section but [display]'s analog ranges,
   [board_pins] aliases applied,
   `chip:` prefixes other than this MCU's name skipped);
3. among them, the first chip the config's own text names (a comment
   such as Klipper's "compiled for the STM32F103", or the serial path
   `usb-Klipper_stm32f446xx`), else the first in PICK_ORDER: the families
   by how many of Klipper's example configs use them (printers.test),
   most common first.
Nothing is marked used in the config (raw option text only).
"""
import re
from typing import NamedTuple

from ...chelper import msgproto
from ...host.mcu import mcu_sections
from .linux_names import HOST_MCU_SERIAL, LINUX_PROFILE

# Families by their count in Klipper's printers.test (atmega2560 60,
# stm32f103 51, atmega1284p 16, stm32f407 15, lpc176x 9, ...), then the rest.
PICK_ORDER = ("atmega2560", "stm32f103", "atmega1284p", "stm32f407", "lpc1768",
              "stm32f446", "stm32g0b1", "stm32f401", "sam3x8e", "sam4e8e", "stm32h743",
              "stm32h723", "stm32f405", "stm32f070", "same70q20b", "hc32f460",
              "atmega1280", "stm32f429", "samd51p20", "sam4s8c", "sam3x8c", "rp2040",
              "atmega644p", "at90usb1286", "linux")
# Chip names as config texts write them -> profile (besides the names
# themselves): a build for the LPC1769 runs the LPC176x pin set.
CHIP_WORDS = {"lpc1769": "lpc1768", "lpc176x": "lpc1768", "samd51": "samd51p20",
              "same70": "same70q20b"}
# pin options: `pin`, `pins`, `*_pin`, `*_pins`; [display]'s
# analog_range_*_pin hold resistance ranges, not pins
_PIN_OPTION = re.compile(r"^(?!analog_range_)(pins?|\w+_pins?)$")


class PickError(Exception):
    """No bundled profile fits an MCU (one line naming the place)."""


class Pick(NamedTuple):     # (not a dataclass: start-up, see host/pins.py)
    profile: str
    reason: str


def _aliases(config, mcu):
    """[board_pins] alias -> pin for this MCU (empty values dropped)."""
    out = {}
    for section in config.sections("board_pins"):
        targets = [t.strip() for t in (section.raw("mcu") or "mcu").split(",")]
        if mcu not in targets:
            continue
        for option in section.options():
            if option == "aliases" or option.startswith("aliases_"):
                for pair in (section.raw(option) or "").replace("\n", ",").split(","):
                    name, _, pin = (p.strip() for p in pair.partition("="))
                    if name and pin:
                        out[name] = pin
    return out


def used_pins(config, mcu, mcu_names):
    """[(pin name, place)] of every pin the config puts on MCU `mcu`."""
    aliases = _aliases(config, mcu)
    found = []
    for section in config.sections():
        if section.name.split()[0] in ("board_pins", "mcu"):
            continue
        for option in section.options():
            if not _PIN_OPTION.match(option):
                continue
            for text in (section.raw(option) or "").replace("\n", ",").split(","):
                pin = text.strip().lstrip("^~!").strip()
                chip, sep, name = pin.rpartition(":")
                chip = chip.strip() if sep else "mcu"
                name = aliases.get(name.strip(), name.strip())
                if not name or name.startswith("<") or chip != mcu:
                    continue
                if chip not in mcu_names:
                    continue
                found.append((name, section.location(option)))
    return found


def _hinted(config_text, candidates):
    """The first candidate profile the config text names, or None."""
    words = {name: name for name in candidates}
    words.update({w: p for w, p in CHIP_WORDS.items() if p in candidates})
    pattern = re.compile("|".join(sorted(map(re.escape, words), key=len, reverse=True)),
                         re.IGNORECASE)
    for match in pattern.finditer(config_text):
        return words[match.group(0).lower()]
    return None


def pick_profile(config, name, section, config_text, mcu_names):
    """Pick for one MCU section (see the module rule)."""
    serial = (section.raw("serial") or "").strip()
    if serial == HOST_MCU_SERIAL:
        return Pick(LINUX_PROFILE, "serial %s is Klipper's Linux-process MCU" % serial)
    pins = used_pins(config, name, mcu_names)
    names = {p: msgproto.profile_pins(p) for p in PICK_ORDER}
    fits = [p for p in PICK_ORDER if all(pin in names[p] for pin, _ in pins)]
    if not fits:
        raise PickError(_no_fit(section, pins, names))
    hinted = _hinted(config_text, fits)
    count = "%d pins" % len({pin for pin, _ in pins})
    if hinted:
        return Pick(hinted, "its %s fit %s, which the config names" % (count, hinted))
    return Pick(fits[0], "its %s fit %s (%d bundled profiles fit; the most common in "
                "Klipper's example configs first)" % (count, fits[0], len(fits)))


def _no_fit(section, pins, names):
    for pin, place in pins:
        if not any(pin in n for n in names.values()):
            return ("%s: pin '%s' is no pin of any bundled MCU profile; give [%s] a "
                    "firmware with --mcu or --dictionary" % (place, pin, section.name))
    best = max(names, key=lambda p: sum(pin in names[p] for pin, _ in pins))
    pin, place = next((pin, place) for pin, place in pins if pin not in names[best])
    return ("%s: pin '%s' fits no bundled MCU profile together with the other pins of "
            "[%s]; give it a firmware with --mcu or --dictionary" % (place, pin, section.name))


def _config_text(config):
    try:
        with open(config.path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def pick_profiles(config, given=()):
    """{MCU name: Pick} for every MCU section not in `given`."""
    sections = mcu_sections(config)
    mcu_names = {name for name, _ in sections}
    text = _config_text(config)
    return {name: pick_profile(config, name, section, text, mcu_names)
            for name, section in sections if name not in given}


def describe(picks):
    """Summary lines: which profile each MCU got and why."""
    return ["MCU %s: profile %s picked (%s)" % (name, pick.profile, pick.reason)
            for name, pick in sorted(picks.items())]

