"""Stream reading/writing: text, serial blocks and JSON lines round trips."""
import gzip
import io
import json

import pytest

from klipsim.chelper import msgblock, msgproto, streamio
from klipsim.golden import reference

CASE = reference.case("cartesian_homing")     # pins, homing, negative adds


@pytest.fixture(scope="module")
def dictionary():
    return msgproto.Dictionary.load(CASE.dictionary)


@pytest.fixture(scope="module")
def messages(dictionary):
    return list(streamio.read_stream(CASE.klipper_output, dictionary))


def reference_text():
    with reference.open_text(CASE.klipper_output) as f:
        return f.read()


def write_all(fmt, dictionary, messages, clock=None):
    out = io.BytesIO()
    writer = streamio.StreamWriter(out, fmt, dictionary)
    for name, args in messages:
        writer.write(name, args, clock)
    writer.close()
    return writer, out.getvalue()


def test_text_writer_reproduces_reference(dictionary, messages):
    writer, data = write_all("text", dictionary, messages)
    assert data.decode() == reference_text()
    assert writer.bytes_written == len(data)
    assert writer.counts == CASE.meta["command_counts"]


def test_text_writer_to_text_file_object(dictionary, messages):
    out = io.StringIO()
    with streamio.StreamWriter(out, "text", dictionary) as writer:
        for name, args in messages[:10]:
            writer.write(name, args)
    assert out.getvalue() == "".join(reference_text().splitlines(True)[:10])


def test_serial_round_trip_and_block_packing(dictionary, messages, tmp_path):
    writer, data = write_all("serial", dictionary, messages)
    blocks = []
    pos = 0
    while pos < len(data):
        seq, payload, pos = msgblock.check_block(data, pos)
        blocks.append((seq, payload))
    assert writer.blocks_written == len(blocks)
    # sequence numbers count from 1 (Klipper's host) modulo 16
    assert [s for s, _ in blocks] == [(1 + i) & 15 for i in range(len(blocks))]
    # greedy packing: the next block's first message would not have fit
    sizes = [len(p) for _, p in blocks]
    assert max(sizes) <= msgblock.MESSAGE_PAYLOAD_MAX
    for (_, payload), (_, following) in zip(blocks, blocks[1:]):
        first = dictionary.decode(following)[0]
        assert len(payload) + len(dictionary.encode(*first)) > msgblock.MESSAGE_PAYLOAD_MAX
    path = tmp_path / "out.bin"
    path.write_bytes(data)
    assert streamio.stream_kind(str(path)) == "serial"
    assert list(streamio.read_stream(str(path), dictionary)) == messages
    gz = tmp_path / "out.bin.gz"
    gz.write_bytes(gzip.compress(data))
    assert list(streamio.read_stream(str(gz), dictionary)) == messages


def test_serial_reading_with_small_buffers(dictionary, messages, tmp_path, monkeypatch):
    """Many decode rounds per file chunk and per end of file."""
    from klipsim.chelper import blockcodec
    _, data = write_all("serial", dictionary, messages)
    path = tmp_path / "small.bin"
    path.write_bytes(data)
    monkeypatch.setattr(blockcodec.BlockUnpacker, "INTS", 2 * msgblock.MESSAGE_PAYLOAD_MAX)
    monkeypatch.setattr(streamio, "READ_CHUNK", 1000)
    assert list(streamio.read_stream(str(path), dictionary)) == messages
    # trailing bytes of a cut block are an error at the end of the file
    path.write_bytes(data[:-3])
    with pytest.raises(ValueError, match="truncated"):
        list(streamio.read_stream(str(path), dictionary))


def test_serial_needs_dictionary_and_detects_corruption(dictionary, messages, tmp_path):
    _, data = write_all("serial", dictionary, messages[:200])
    path = tmp_path / "bad.bin"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="dictionary"):
        list(streamio.read_stream(str(path)))
    broken = bytearray(data)
    broken[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(broken))
    with pytest.raises(ValueError, match="bad.bin: byte offset"):
        list(streamio.read_stream(str(path), dictionary))


def test_text_reading_with_and_without_dictionary(dictionary, messages, tmp_path):
    generic = list(streamio.read_stream(CASE.klipper_output))
    assert generic == messages          # names for pins, ints for numbers
    path = tmp_path / "k.txt.gz"
    path.write_bytes(gzip.compress(reference_text().encode()))
    assert streamio.stream_kind(str(path)) == "text"
    with open(path, "rb") as f:
        assert list(streamio.read_stream(f, dictionary)) == messages
    path.write_text("queue_step oid=1 interval=2 count=3 add=0\nqueue_step oid=1\n")
    with pytest.raises(ValueError, match=r"k.txt.gz:2:"):
        list(streamio.read_stream(str(path), dictionary))


def test_detection_of_text_with_leading_blank_lines(dictionary, tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("\n   \nget_clock\n queue_step oid=1 interval=2 count=3 add=0\n")
    assert streamio.stream_kind(str(path)) == "text"
    assert [n for n, _ in streamio.read_stream(str(path), dictionary)] == ["get_clock",
                                                                          "queue_step"]
    # a serial stream starting with a printable length byte (0x20..0x40)
    block = msgblock.frame_block(dictionary.encode("debug_ping", {"data": b"x" * 40}), 1)
    assert 0x20 <= block[0] <= 0x40
    path.write_bytes(block)
    assert streamio.stream_kind(str(path)) == "serial"


def test_jsonl_lines(dictionary, messages):
    _, data = write_all("jsonl", dictionary, messages[:400], clock=1 << 33)
    lines = data.decode().splitlines()
    assert len(lines) == 400
    for line, (name, args) in zip(lines, messages):
        obj = json.loads(line)
        mf = dictionary.lookup(name)
        expected_keys = ["cmd"] + list(mf.keys) + ([] if "clock" in mf.keys else ["clock"])
        assert list(obj) == expected_keys
        if "clock" in mf.keys:     # its own clock, made 64-bit next to the request
            assert obj["clock"] & 0xFFFFFFFF == args["clock"] & 0xFFFFFFFF
            assert abs(obj["clock"] - (1 << 33)) <= 1 << 31
        else:
            assert obj["clock"] == 1 << 33
        assert all(obj[k] == v for k, v in args.items() if k != "clock")


def test_unknown_format_or_text_file_for_serial_rejected(dictionary):
    with pytest.raises(ValueError):
        streamio.StreamWriter(io.BytesIO(), "xml", dictionary)
    with pytest.raises(ValueError, match="binary"):
        streamio.StreamWriter(io.StringIO(), "serial", dictionary)


def test_text_reading_with_small_buffers(dictionary, messages, monkeypatch):
    from klipsim.chelper import textcodec
    monkeypatch.setattr(textcodec, "SCAN_ROWS", 3)
    monkeypatch.setattr(textcodec, "SCAN_CHUNK", 100)
    assert list(streamio.read_stream(CASE.klipper_output, dictionary)) == messages
