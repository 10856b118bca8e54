"""The C batch paths (chelper/src/msgblock.c via blockcodec, msgtext.c via
textcodec) against the pure-Python msgproto code they must match byte
for byte."""
import pytest
from hypothesis import given, settings, strategies as st

from klipsim.chelper import blockcodec, msgblock, msgproto, streamio, textcodec
from klipsim.golden import reference

DICT = msgproto.load_profile("stm32f446")


def test_c_extension_present():
    # built at install time (setup.py build_ext); the fallback is slower
    assert blockcodec.HAVE_C


def python_pack(messages, first_seq=1):
    """Reference packing: greedy, in order, with msgproto only."""
    out, block, seq = [], b"", first_seq
    for name, args in messages:
        msg = DICT.encode(name, args)
        if len(block) + len(msg) > msgblock.MESSAGE_PAYLOAD_MAX:
            out.append(msgblock.frame_block(block, seq))
            block, seq = b"", (seq + 1) & 15
        block += msg
    if block:
        out.append(msgblock.frame_block(block, seq))
    return b"".join(out)


MESSAGE = st.one_of(
    st.builds(lambda o, i, c, a: ("queue_step", {"oid": o, "interval": i, "count": c, "add": a}),
              st.integers(0, 255), st.integers(0, (1 << 32) - 1), st.integers(0, 65535),
              st.integers(-32768, 32767)),
    st.builds(lambda o, d: ("set_next_step_dir", {"oid": o, "dir": d}),
              st.integers(0, 255), st.integers(0, 1)),
    st.builds(lambda o, c, t: ("queue_digital_out", {"oid": o, "clock": c, "on_ticks": t}),
              st.integers(0, 255), st.integers(0, (1 << 32) - 1), st.integers(-(1 << 31), (1 << 31) - 1)),
    st.builds(lambda o, p: ("config_analog_in", {"oid": o, "pin": p}),
              st.integers(0, 40), st.sampled_from(sorted(DICT.pins))),
    st.builds(lambda d: ("debug_ping", {"data": d}), st.binary(max_size=40)),
    st.just(("get_clock", {})),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(MESSAGE, max_size=120), st.integers(0, 15))
def test_c_packing_equals_python_packing(messages, first_seq):
    packer = blockcodec.BlockPacker(DICT, first_seq)
    for name, args in messages:
        packer.add(name, args)
    data = packer.finish()
    assert data == python_pack(messages, first_seq)
    assert packer.blocks == len(msgblock.split_blocks(data))


@settings(max_examples=80, deadline=None)
@given(st.lists(MESSAGE, max_size=120), st.data())
def test_c_unpacking_in_any_split(messages, data):
    stream = python_pack(messages)
    expected = []
    for _, payload in msgblock.split_blocks(stream):
        expected.extend(DICT.decode(payload))
    unpacker = blockcodec.BlockUnpacker(DICT)
    got, buf = [], b""
    cut = data.draw(st.integers(0, len(stream)))
    for piece, final in ((stream[:cut], False), (stream[cut:], True)):
        buf += piece
        msgs, used = unpacker.feed(buf, final)
        got.extend(msgs)
        buf = buf[used:]
    assert got == expected and buf == b""


def test_c_unpacking_reports_corruption():
    stream = bytearray(python_pack([("get_clock", {})] * 30))
    stream[20] ^= 0x40
    with pytest.raises(ValueError, match="offset"):
        blockcodec.BlockUnpacker(DICT).feed(bytes(stream), True)


def test_reference_case_through_both_paths(tmp_path):
    case = reference.case("corexy_zigzag")
    dictionary = msgproto.Dictionary.load(case.dictionary)
    messages = list(streamio.read_stream(case.klipper_output, dictionary))
    packer = blockcodec.BlockPacker(dictionary, 1)
    for name, args in messages:
        packer.add(name, args)
    data = packer.finish()
    ref = []
    for _, payload in msgblock.split_blocks(data):
        ref.extend(dictionary.decode(payload))
    assert ref == messages
    path = tmp_path / "zz.bin"
    path.write_bytes(data)
    assert list(streamio.read_stream(str(path), dictionary)) == messages


@settings(max_examples=80, deadline=None)
@given(st.lists(MESSAGE, max_size=150))
def test_c_text_formatting_equals_format_text(messages):
    formatter = textcodec.TextFormatter(DICT)
    for name, args in messages:
        formatter.add(name, args)
    expected = "".join(DICT.format_text(n, a) + "\n" for n, a in messages)
    assert formatter.finish().decode() == expected


def test_c_text_formatting_extremes():
    formatter = textcodec.TextFormatter(DICT)
    messages = [("queue_digital_out", {"oid": 7, "clock": (1 << 40) + 12345, "on_ticks": -5}),
                ("sos_filter_set_state", {"oid": 1, "section_idx": 0,
                                          "state0": -(1 << 63), "state1": (1 << 63) - 1}),
                ("queue_step", {"oid": 0, "interval": -1, "count": 0, "add": 0})]
    for name, args in messages:
        formatter.add(name, args)
    assert formatter.finish().decode().splitlines() == [
        DICT.format_text(n, a) for n, a in messages]


def test_python_fallback_gives_the_same_bytes(monkeypatch):
    case = reference.case("cartesian_homing")
    dictionary = msgproto.Dictionary.load(case.dictionary)
    messages = list(streamio.read_stream(case.klipper_output, dictionary))

    def pack():
        packer = blockcodec.BlockPacker(dictionary, 1)
        for name, args in messages:
            packer.add(name, args)
        return packer.finish(), packer.blocks

    def unpack(data):
        return blockcodec.BlockUnpacker(dictionary).feed(data, True)

    with_c = pack()
    monkeypatch.setattr(blockcodec, "HAVE_C", False)
    assert pack() == with_c
    assert unpack(with_c[0]) == (messages, len(with_c[0]))
