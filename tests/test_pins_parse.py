"""Pin descriptions: modifiers, chip prefixes, errors, double use."""
import pytest
from hypothesis import given, settings, strategies as st

from klipsim.host.pins import PinError, PinRegistry, PinSpec, parse_pin


@pytest.mark.parametrize("text,spec", [
    ("PA1", PinSpec("mcu", "PA1")),
    ("  !PF12 ", PinSpec("mcu", "PF12", invert=True)),
    ("^PG6", PinSpec("mcu", "PG6", pullup=1)),
    ("~PG6", PinSpec("mcu", "PG6", pullup=-1)),
    ("^!ar3", PinSpec("mcu", "ar3", invert=True, pullup=1)),
    ("~ ! z:PB2", PinSpec("z", "PB2", invert=True, pullup=-1)),
    ("rpi:gpio17", PinSpec("rpi", "gpio17")),
])
def test_modifiers_and_chips(text, spec):
    assert parse_pin(text, can_invert=True, can_pullup=True) == spec


@pytest.mark.parametrize("text,kwargs", [
    ("!PA1", {}),                          # inversion not allowed here
    ("^PA1", {"can_invert": True}),        # pull-up not allowed here
    ("!^PA1", {"can_invert": True, "can_pullup": True}),  # wrong order
    ("PA 1", {}),
    ("mcu:", {}),
    ("", {}),
    ("a:b:c", {}),
])
def test_bad_descriptions_name_the_pin(text, kwargs):
    with pytest.raises(PinError) as info:
        parse_pin(text, **kwargs)
    assert repr(text.strip())[1:-1] in str(info.value) or text in str(info.value)


def test_unknown_chip_when_chips_are_known():
    with pytest.raises(PinError, match="chip name 'ebb'"):
        parse_pin("ebb:PB1", chips=["mcu"])


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["", "^", "~"]), st.booleans(),
       st.sampled_from(["", "z:", "toolboard:"]),
       st.from_regex(r"[A-Za-z][A-Za-z0-9_.]{0,6}", fullmatch=True))
def test_round_trip_through_str(pull, invert, chip, pin):
    text = pull + ("!" if invert else "") + chip + pin
    spec = parse_pin(text, can_invert=True, can_pullup=True)
    assert str(spec) == text
    assert spec.pullup == {"": 0, "^": 1, "~": -1}[pull] and spec.invert == invert


def test_registry_rejects_double_use_unless_shared():
    reg = PinRegistry()
    reg.reserve(parse_pin("PA1"), "stepper_x:step_pin")
    with pytest.raises(PinError, match="PA1.*stepper_x:step_pin.*fan:pin"):
        reg.reserve(parse_pin("PA1"), "fan:pin")
    reg.reserve(parse_pin("!PB1", can_invert=True), "stepper_x:enable_pin", share_type="enable")
    reg.reserve(parse_pin("!PB1", can_invert=True), "stepper_y:enable_pin", share_type="enable")
    with pytest.raises(PinError, match="polarity"):
        reg.reserve(parse_pin("PB1"), "stepper_z:enable_pin", share_type="enable")
    reg.reserve(parse_pin("z:PA1"), "other chip is another pin")
    assert reg.owner("mcu", "PB1") == "stepper_x:enable_pin"
