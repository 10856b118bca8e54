"""Data dictionaries, the parsedump text form and the shipped MCU profiles,
checked against Klipper's own dictionaries and batch outputs."""
import json
import zlib

import pytest

from klipsim.chelper import msgformat, msgproto
from klipsim.golden import reference

SMALL_CASES = [c for c in reference.cases() if not c.klipper_output.endswith(".gz")]


def text_round_trip(case):
    """Every line survives parse_text -> encode -> decode -> format_text."""
    dictionary = msgproto.Dictionary.load(case.dictionary)
    count = 0
    with reference.open_text(case.klipper_output) as f:
        for line in f:
            line = line.rstrip("\n")
            name, args = dictionary.parse_text(line)
            payload = dictionary.encode(name, args)
            [(name2, args2)] = dictionary.decode(payload)
            assert (name2, args2) == (name, args), line
            assert dictionary.format_text(name2, args2) == line
            count += 1
    return count


@pytest.mark.parametrize("case", SMALL_CASES, ids=lambda c: c.name)
def test_reference_text_round_trip(case):
    assert text_round_trip(case) == case.meta["output_lines"]


def test_reference_text_round_trip_big_case():
    case = reference.case("cartesian_print_cube")
    assert text_round_trip(case) == case.meta["output_lines"]


@pytest.mark.parametrize("name", ["atmega2560", "stm32f407", "stm32f446"])
def test_profile_matches_klipper_dictionary(name):
    with open(f"{reference.REFERENCE_DIR}/dicts/{name}.dict") as f:
        klipper = json.load(f)
    profile = msgproto.load_profile(name)
    assert profile.raw["commands"] == klipper["commands"]
    assert profile.raw["responses"] == klipper["responses"]
    assert profile.raw["enumerations"] == klipper["enumerations"]
    assert profile.config == klipper["config"]
    assert profile.move_count == 500
    assert profile.clock_freq == klipper["config"]["CLOCK_FREQ"]


def test_profiles_have_required_constants():
    assert {"atmega2560", "stm32f407", "stm32f446", "rp2040"} <= set(msgproto.profile_names())
    for name in msgproto.profile_names():
        d = msgproto.load_profile(name)
        keys = ("CLOCK_FREQ", "MCU", "ADC_MAX", "STATS_SUMSQ_BASE", "STEPPER_STEP_BOTH_EDGE")
        if name not in ("samd51p20", "same70q20b"):   # no hardware PWM in those builds
            keys += ("PWM_MAX",)
        for key in keys:
            assert key in d.config, (name, key)
        assert "static_string_id" in d.enumerations and d.pins
        assert d.lookup("queue_step").params == [("oid", "%c"), ("interval", "%u"),
                                                 ("count", "%hu"), ("add", "%hi")]
    rp = msgproto.load_profile("rp2040")
    # Klipper's rp2040 build: 12 MHz timer, 12-bit ADC, PWM_MAX 32768,
    # gpio0..gpio29 plus the chip's temperature sensor
    assert rp.clock_freq == 12_000_000 and rp.config["ADC_MAX"] == 4095
    assert rp.config["PWM_MAX"] == 32768
    assert sorted(rp.pins.values()) == list(range(30)) + [254] and rp.pins["gpio29"] == 29
    stm = msgproto.load_profile("stm32f446")
    assert {n: m.msgid for n, m in rp.commands.items()} == \
        {n: m.msgid for n, m in stm.commands.items()}
    linux = msgproto.load_profile("linux")      # Klipper's src/linux target
    assert linux.clock_freq == 50_000_000 and linux.config["PWM_MAX"] == 1 << 15
    assert {"gpiochip0/gpio17", "gpiochip3/gpio63", "analog7", "pwmchip1/pwm3"} <= set(linux.pins)
    # chip N line M is N * 288 + M; the short gpioM names chip 0's lines
    assert linux.pins["gpio17"] == linux.pins["gpiochip0/gpio17"] == 17
    assert linux.pins["gpiochip1/gpio0"] == 288 and linux.pins["pwmchip0/pwm0"] == 65536
    assert linux.pin_names[17] == "gpiochip0/gpio17"     # the long name is printed


def test_pin_enumeration_ranges():
    # atmega2560.dict: "PA0": [0, 8], "PJ0": [72, 8] (no PI port)
    d = msgproto.load_profile("atmega2560")
    assert [d.pins["PA%d" % i] for i in range(8)] == list(range(8))
    assert d.pins["PJ0"] == 72 and d.pins["PL7"] == 95 and "PA8" not in d.pins
    stm = msgproto.load_profile("stm32f446")
    assert stm.pins["PB15"] == 31 and stm.pins["ADC_TEMPERATURE"] == 254


def test_enumerations_follow_parameter_names():
    d = msgproto.load_profile("stm32f446")
    assert d.lookup("config_stepper").enum_names.keys() == {"step_pin", "dir_pin"}
    assert "pin" in d.lookup("config_analog_in").enum_names
    assert "static_string_id" in d.lookup("shutdown").enum_names
    assert "spi_bus" in d.lookup("spi_set_bus").enum_names
    assert not d.lookup("queue_step").enum_names


def test_negative_message_ids_encode_to_their_vlq_byte():
    d = msgproto.load_profile("stm32f446")
    reset = d.lookup("reset")
    assert reset.msgid < 0
    payload = d.encode("reset", {})
    assert payload == bytes([reset.msgid & 0x7F]) and 0x60 <= payload[0] <= 0x7F
    assert d.decode(payload) == [("reset", {})]
    # response ids >= 96 take two bytes
    pong = d.lookup("pong")
    assert len(pong.id_bytes) == 2 and d.decode(pong.encode({"data": b"x"}), "response") \
        == [("pong", {"data": b"x"})]


def test_value_forms():
    d = msgproto.load_profile("stm32f446")
    # unsigned printed masked to 32 bits, signed kept, pins by name
    args = {"oid": 3, "clock": (5 << 32) + 7, "on_ticks": -1}
    assert d.format_text("queue_digital_out", args) == \
        "queue_digital_out oid=3 clock=7 on_ticks=4294967295"
    name, parsed = d.decode(d.encode("queue_digital_out", args))[0]
    assert parsed == {"oid": 3, "clock": 7, "on_ticks": 4294967295}
    line = "config_stepper oid=0 step_pin=PF0 dir_pin=?200 invert_step=0 step_pulse_ticks=5"
    name, args = d.parse_text(line)
    assert args["step_pin"] == "PF0" and args["dir_pin"] == 200
    assert d.format_text(name, args) == line
    assert d.decode(d.encode(name, args), enums=False)[0][1]["step_pin"] == 80
    # buffers are shown as Python bytes literals, quotes and spaces included
    for data in (b"", b"a b", b"it's", b"\x00\x7e\xff\"'\\"):
        line = d.format_text("debug_ping", {"data": data})
        assert line == "debug_ping data=" + repr(data)
        assert d.parse_text(line) == ("debug_ping", {"data": data})
        assert msgformat.parse_text_generic(line) == ("debug_ping", {"data": data})


def test_numpy_integers_accepted():
    import numpy as np
    d = msgproto.load_profile("stm32f446")
    plain = {"oid": 1, "interval": 5000, "count": 2, "add": -3}
    numpy_args = {"oid": np.uint8(1), "interval": np.int64(5000), "count": np.uint16(2),
                  "add": np.int16(-3)}
    assert d.encode("queue_step", numpy_args) == d.encode("queue_step", plain)
    assert d.format_text("queue_step", numpy_args) == d.format_text("queue_step", plain)


def test_bad_input_is_reported():
    d = msgproto.load_profile("stm32f446")
    with pytest.raises(KeyError):
        d.parse_text("no_such_command x=1")
    with pytest.raises(ValueError):
        d.parse_text("queue_step oid=1 interval=2 count=3")
    with pytest.raises(ValueError):
        d.encode("config_stepper", {"oid": 0, "step_pin": "PZ9", "dir_pin": 0,
                                    "invert_step": 0, "step_pulse_ticks": 0})
    with pytest.raises(ValueError):
        d.decode(bytes([0x22]))          # queue_step id with no parameters


def test_dictionary_load_plain_and_zlib(tmp_path):
    raw = msgproto.load_profile("atmega2560").raw
    text = json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
    (tmp_path / "plain.dict").write_bytes(text)
    (tmp_path / "packed.dict").write_bytes(zlib.compress(text))
    a = msgproto.Dictionary.load(tmp_path / "plain.dict")
    b = msgproto.load_dictionary(str(tmp_path / "packed.dict"))
    assert a.raw == b.raw == raw
    assert msgproto.load_dictionary("atmega2560").clock_freq == 16_000_000


def test_profiles_are_what_the_generator_derives():
    """chelper/profiles/*.json are reproducible from Klipper's bundled
    dicts and the facts make_profiles.py writes down, every one of them."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "make_profiles", f"{msgproto.PROFILE_DIR}/make_profiles.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    derived = make.all_profiles()
    assert sorted(derived) == msgproto.profile_names()
    for name, raw in derived.items():
        assert msgproto.load_profile(name).raw == raw, name
    # and the pin index profile picking reads (chelper/profile_pins.py)
    from klipsim.chelper.profile_pins import PINS
    assert make.pin_index(derived) == PINS


def _arg_strategy(mf, key, fmt):
    from hypothesis import strategies as st
    kind = msgformat.PARAM_KINDS[fmt]
    if kind == msgformat.BUFFER:
        return st.binary(max_size=20)
    if key in mf.enum_values:
        # names as decoded: where names alias one value, the one Klipper prints
        return st.sampled_from(sorted(set(mf.enum_values[key].values())))
    if kind == msgformat.SIGNED:
        return st.integers(-(1 << 31), (1 << 31) - 1)
    return st.integers(0, (1 << 32) - 1)


def test_every_message_format_round_trips():
    """Random values for every command and response of a dictionary go
    through text and binary unchanged (names for enumerations)."""
    from hypothesis import given, settings, strategies as st
    d = msgproto.load_profile("stm32f446")
    formats = sorted(list(d.commands.values()) + list(d.responses.values()),
                     key=lambda mf: mf.msgid)

    @st.composite
    def message(draw):
        mf = draw(st.sampled_from(formats))
        return mf.name, {k: draw(_arg_strategy(mf, k, f)) for k, f in mf.params}

    @settings(max_examples=300, deadline=None)
    @given(message())
    def check(msg):
        name, args = msg
        line = d.format_text(name, args)
        assert d.parse_text(line) == (name, args)
        kind = "response" if name in d.responses else "command"
        assert d.decode(d.encode(name, args), kind=kind) == [(name, args)]

    check()
