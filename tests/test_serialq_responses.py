"""The responses the serial queue's native program reads in C
(chelper/src/serialq_resp.c, sim/link/native_responses.py) against
Python's decode, the reference (chelper/msgproto.py, as
SerialQueue._decode uses it):

- on payloads of random response messages of the firmware's own
  dictionaries, whole or damaged (cut, grown, a byte changed, an
  over-long integer), C takes
  a payload exactly when Python decodes it without error, it carries no
  trsync_state (the fast reader's, read at the wake in Python) and at
  most one clock reply, and then counts the messages Python decodes;
- what C took, it decodes (serialq_resp_read) and take() builds into
  the (name, args) Python's decode gives: names, keys in order, values
  (fails with the unsigned mask or a byte string's offset broken, or
  the enumerations not mapped), a clock reply with the pairing times C
  kept;
- the inbox the serialhdl thread reads keeps the order of responses
  whichever side read them;
- on a print, the native program takes the response wakes (the
  end-to-end equality with the Python program is
  tests/test_serialq_native.py's and the digests').
"""
import collections

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from klipsim.chelper._chelper import ffi, lib
from klipsim.chelper.msgformat import BUFFER
from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.golden import reference
from klipsim.sim.link import serial_link
from klipsim.sim.link.native_responses import NativeResponses, ResponseInbox
from klipsim.sim.simulate.simulation import SimOptions, simulate

PROFILES = ("atmega2560", "stm32f446")


def _python_model(dictionary, payload):
    """The reference decision: messages the native program must count,
    or -1 (Python decodes the payload at the wake)."""
    try:
        decoded = dictionary.decode(payload, "response")
    except ValueError:
        return -1
    names = [name for name, _ in decoded]
    if "trsync_state" in names or names.count("clock") > 1:
        return -1
    return len(decoded)


@st.composite
def _message(draw, dictionary):
    formats = sorted(dictionary.by_id["response"].items())
    _msgid, mf = draw(st.sampled_from(formats))
    args = {}
    for key, kind in zip(mf.keys, mf.kinds):
        if kind == BUFFER:
            args[key] = draw(st.binary(max_size=12))
        else:
            args[key] = draw(st.one_of(st.integers(0, 300), st.integers(-(1 << 31),
                                                                         (1 << 32) - 1)))
    try:
        return mf.encode(args)
    except (ValueError, KeyError):
        return mf.encode({k: 0 if kd != BUFFER else b"" for k, kd in zip(mf.keys, mf.kinds)})


@st.composite
def _payload(draw):
    profile = draw(st.sampled_from(PROFILES))
    dictionary = fwmcu.dictionary(profile)
    data = b"".join(draw(st.lists(_message(dictionary), min_size=1, max_size=4)))
    damage = draw(st.sampled_from(["none", "cut", "cut_last", "grow", "byte", "long_vlq"]))
    if damage == "cut" and len(data) > 1:
        data = data[:draw(st.integers(1, len(data) - 1))]
    elif damage == "cut_last" and len(data) > 1:
        data = data[:-1]
    elif damage == "long_vlq":
        # an integer parameter of 4 to 7 bytes (decode_vlq takes at most 5)
        stats = dictionary.lookup("stats")
        data += stats.id_bytes + b"\x81" * draw(st.integers(3, 6)) + b"\x01" + b"\x00\x00"
    elif damage == "grow":
        data += draw(st.binary(min_size=1, max_size=4))
    elif damage == "byte":
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes((draw(st.integers(0, 255)),)) + data[i + 1:]
    return profile, data


@settings(max_examples=600, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(_payload())
def test_c_takes_what_python_decodes(case):
    profile, payload = case
    dictionary = fwmcu.dictionary(profile)
    responses = NativeResponses(dictionary, 40_000)
    got = lib.serialq_resp_payload(responses.c, payload, len(payload))
    assert got == _python_model(dictionary, payload), payload.hex()


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.lists(_payload(), min_size=1, max_size=3))
def test_c_decodes_as_python(cases):
    """What C took, take() gives as Python's decode of each payload:
    names, keys in order, values (unsigned masked, signed, enumerated
    names, byte strings)."""
    profile = cases[0][0]
    dictionary = fwmcu.dictionary(profile)
    payloads = [p for _, p in cases if _python_model(dictionary, p) >= 0]
    link = ffi.gc(lib.linkio_new(0, 40_000, -1, 1, 1000), lib.linkio_free)
    source = NativeResponses(dictionary, 40_000)
    rx, _keep = _rx(payloads, [0] * len(payloads))
    messages = lib.serialq_resp_check(source.c, rx)
    lib.serialq_resp_take(source.c, link, rx, 0, messages)
    lib.serialq_resp_commit(source.c)
    expected = [m for p in payloads for m in dictionary.decode(p, "response")]
    got = list(source.take(0)) if payloads else []
    assert got == expected
    assert [list(a) for _, a in got] == [list(a) for _, a in expected]


def _rx(payloads, snaps):
    """A struct linkio_rx holding payloads back to back."""
    data = b"".join(payloads)
    ends, end = [], 0
    for p in payloads:
        end += len(p)
        ends.append(end)
    keep = [ffi.new("uint8_t[]", data or b"\0"), ffi.new("int64_t[]", ends),
            ffi.new("int64_t[]", snaps)]
    rx = ffi.new("struct linkio_rx *", {"data": keep[0], "ends": keep[1], "snaps": keep[2],
                                        "n": len(payloads)})
    return rx, keep


def test_take_decodes_as_python_with_the_clock_pairing():
    """A clock reply read when the query block was acknowledged gets its
    query's send time and the read time less the block's wire time, as
    SerialQueue._decode gives it; other responses decode as Python's."""
    dictionary = fwmcu.dictionary("stm32f446")
    byte_ns = 40_000
    link = ffi.gc(lib.linkio_new(0, byte_ns, -1, 1, 1000), lib.linkio_free)
    lib.linkio_set_clock_exact(link, 0, 180_000_000 * 10 ** 9)
    clock = dictionary.lookup("clock").encode({"clock": 123456})
    stats = dictionary.lookup("stats").encode({"count": 5, "sum": 6, "sumsq": 7})
    # one get_clock block sent at 1000 ns: its reply pairs at snap 2
    seq = ffi.new("int32_t *")
    lib.linkio_set_send_seq(link, 1)
    queues = serial_link.MessageQueues(dictionary)
    queues.add([("get_clock", {}, 0, 0)], 0, _generic_for(dictionary), lambda: 1)
    n = lib.linkio_plan(link, queues.c_queues, 1000, queues._frames, queues._records,
                        queues._tags, queues._summaries, seq)
    assert n == 1
    frame_len = queues._frames[0]
    arrivals = ffi.new("int64_t[]", 16)
    lib.linkio_commit(link, 1000, 1, arrivals, ffi.new("int64_t[]", 2))
    sent = 1000 + frame_len * byte_ns        # (its last byte at the MCU: a UART)
    assert arrivals[0] == sent
    responses = NativeResponses(dictionary, byte_ns)
    rx, _keep = _rx([stats, clock + stats], [1, 2])
    assert lib.serialq_resp_check(responses.c, rx) == 3
    lib.serialq_resp_take(responses.c, link, rx, 5_000_000, 3)
    assert lib.serialq_resp_handed(responses.c) == 0
    assert lib.serialq_resp_commit(responses.c) == 3
    got = responses.take(0)
    wire = (len(clock + stats) + 5) * byte_ns
    assert got == [("stats", {"count": 5, "sum": 6, "sumsq": 7}),
                   ("clock", {"clock": 123456, "sent_ns": sent,
                              "received_ns": 5_000_000 - wire}),
                   ("stats", {"count": 5, "sum": 6, "sumsq": 7})]
    assert not responses.take(0)


def _generic_for(dictionary):
    from klipsim.sim.link.messages import Message

    def generic(name, args, req_clock, min_clock, queued_ns):
        return Message(name, args, None, req_clock, min_clock, None, 0, queued_ns)
    return generic


def test_inbox_keeps_the_order_of_both_sides():
    """Responses C handed on before an append come before it; iteration,
    len and clear see them too; those still pending (a commit not made)
    do not show."""
    dictionary = fwmcu.dictionary("stm32f446")
    link = ffi.gc(lib.linkio_new(0, 40_000, -1, 1, 1000), lib.linkio_free)
    source = NativeResponses(dictionary, 40_000)
    stats = dictionary.lookup("stats")

    def c_reads(*counts):
        """A native wake reads stats replies (one payload each) and its
        commit hands them on."""
        payloads = [stats.encode({"count": c, "sum": 0, "sumsq": 0}) for c in counts]
        rx, _keep = _rx(payloads, [0] * len(payloads))
        assert lib.serialq_resp_check(source.c, rx) == len(payloads)
        lib.serialq_resp_take(source.c, link, rx, 0, len(payloads))
        assert lib.serialq_resp_commit(source.c) == len(payloads)

    def c(count):
        return ("stats", {"count": count, "sum": 0, "sumsq": 0})
    inbox = ResponseInbox(collections.deque(), source)
    c_reads(1, 2)
    inbox.append("p1")
    c_reads(3)
    assert len(inbox) == 4
    c_reads(4)
    rx, _keep = _rx([stats.encode({"count": 9, "sum": 0, "sumsq": 0})], [0])
    lib.serialq_resp_take(source.c, link, rx, 0, 1)       # (pending, not handed)
    assert list(inbox) == [c(1), c(2), "p1", c(3), c(4)]
    assert lib.serialq_resp_commit(source.c) == 1
    inbox.clear()
    assert list(inbox) == []


@pytest.mark.parametrize("case_name,profile", [("corexy_basic", "stm32f446")])
def test_response_wakes_run_natively(case_name, profile):
    """The heater reports, clock replies and stats a print receives are
    read by the native program: no wake carrying only them goes back to
    Python."""
    queues = []
    go = serial_link.SerialQueue._go_native

    def watched(self):
        go(self)
        queues.append(self)
    serial_link.SerialQueue._go_native = watched
    decode = serial_link.SerialQueue._decode
    names = collections.Counter()

    def counted(self, payloads, out):
        decode(self, payloads, out)
        names.update(name for name, _ in out)
    serial_link.SerialQueue._decode = counted
    try:
        case = reference.case(case_name)
        simulate(case.gcode, case.config, SimOptions(profile=profile))
    finally:
        serial_link.SerialQueue._go_native = go
        serial_link.SerialQueue._decode = decode
    prog = queues[0]._prog
    assert prog.native_responses > 50, prog.native_responses
    # Python decoded only what came before the program was attached
    assert sum(names.values()) < 10, names


def test_many_payloads_decode_as_python():
    """Hundreds of payloads handed on at once (the decoded values'
    buffer grows while being written) decode as Python's."""
    dictionary = fwmcu.dictionary("stm32f446")
    mf = dictionary.lookup("analog_in_state")
    payloads = [mf.encode({"oid": i % 7, "next_clock": 1000 * i, "values": bytes(range(i % 9))})
                for i in range(500)]
    link = ffi.gc(lib.linkio_new(0, 40_000, -1, 1, 1000), lib.linkio_free)
    source = NativeResponses(dictionary, 40_000)
    for chunk in range(0, 500, 50):
        rx, _keep = _rx(payloads[chunk:chunk + 50], [0] * 50)
        lib.serialq_resp_take(source.c, link, rx, 0, lib.serialq_resp_check(source.c, rx))
        lib.serialq_resp_commit(source.c)
    assert source.take(0) == [m for p in payloads for m in dictionary.decode(p, "response")]
