"""Pin descriptions of printer.cfg (`!PA1`, `^PG6`, `~!ar3`, `z:PB2`).

Contract: `parse_pin(text, can_invert=False, can_pullup=False) -> PinSpec`;
a malformed description raises `PinError` (a ValueError) whose message
names the pin text; callers add the config place.  `PinRegistry` records
which owner uses each (chip, pin) and rejects a second use unless both
uses declare the same share type, as Klipper's pin resolver does.

Modifier rules (Klipper docs/Config_Reference.md, "pin" options): the pin
may be preceded by `^` (pull-up) or `~` (pull-down), then by `!`
(inverted), each only where the option allows it; a `chip:` prefix names
another micro-controller (default `mcu`); white space around the parts is
ignored; anything else of `^~!:` or a blank left in the pin name is an
error.
"""
from typing import NamedTuple


class PinError(ValueError):
    """A bad pin description or a pin used twice; message is one line.
    `text` is the pin description as written (to find its option)."""

    def __init__(self, message, text=None):
        super().__init__(message)
        self.text = text


# A NamedTuple, not a dataclass: immutable, compared and hashed by value,
# and no dataclasses import and generated code at every command's start-up
# (issue 10).
class PinSpec(NamedTuple):
    chip: str
    pin: str
    invert: bool = False
    pullup: int = 0      # 1 pull-up, -1 pull-down, 0 none

    def __str__(self):
        prefix = {1: "^", -1: "~", 0: ""}[self.pullup] + ("!" if self.invert else "")
        chip = "" if self.chip == "mcu" else self.chip + ":"
        return prefix + chip + self.pin


def parse_pin(text, can_invert=False, can_pullup=False, chips=None):
    """PinSpec for a description; `chips` (optional) lists the valid chip
    names, else any chip name is accepted."""
    desc = text.strip()
    pullup = 0
    invert = False
    if desc[:1] in ("^", "~"):
        if not can_pullup:
            raise PinError("Pin '%s': pull-up/pull-down ('%s') is not allowed here"
                           % (text, desc[0]), text)
        pullup = 1 if desc[0] == "^" else -1
        desc = desc[1:].strip()
    if desc[:1] == "!":
        if not can_invert:
            raise PinError("Pin '%s': inversion ('!') is not allowed here" % (text,), text)
        invert = True
        desc = desc[1:].strip()
    if ":" in desc:
        chip, pin = (part.strip() for part in desc.split(":", 1))
    else:
        chip, pin = "mcu", desc
    if not pin or not chip or any(c in pin for c in "^~!: \t"):
        raise PinError("Invalid pin description '%s' (format: [^~][!][chip:]pin_name)"
                       % (text,), text)
    if chips is not None and chip not in chips:
        raise PinError("Unknown pin chip name '%s' in pin '%s'" % (chip, text), text)
    return PinSpec(chip, pin, invert, pullup)


class PinRegistry:
    """Who uses which pin; a pin may be used once, or shared when every user
    passes the same `share_type` and the same inversion."""

    def __init__(self):
        self._users = {}   # (chip, pin) -> (owner, share_type, invert)

    def reserve(self, spec, owner, share_type=None):
        key = (spec.chip, spec.pin)
        previous = self._users.get(key)
        if previous is None:
            self._users[key] = (owner, share_type, spec.invert)
            return
        prev_owner, prev_share, prev_invert = previous
        if share_type is None or share_type != prev_share:
            raise PinError("Pin '%s' used multiple times in config (%s and %s)"
                           % (_pin_name(spec), prev_owner, owner))
        if prev_invert != spec.invert:
            raise PinError("Shared pin '%s' must have the same polarity (%s and %s)"
                           % (_pin_name(spec), prev_owner, owner))

    def owner(self, chip, pin):
        found = self._users.get((chip, pin))
        return None if found is None else found[0]

    def pins(self):
        """[(chip, pin, owner)] in reservation order."""
        return [(chip, pin, owner) for (chip, pin), (owner, _, _) in self._users.items()]


def _pin_name(spec):
    return spec.pin if spec.chip == "mcu" else "%s:%s" % (spec.chip, spec.pin)
