"""The C text formatter (chelper/src/msgtext_format.c) against Python's own
decimal formatting: templates with signed (byte 1) and unsigned 32-bit
(byte 2) placeholders, values across every digit count and sign, the
one- and two-digit fast paths included."""
from hypothesis import given, settings, strategies as st

from klipsim.chelper._chelper import ffi, lib

INT64 = st.one_of(st.integers(-120, 120), st.integers(-2 ** 63, 2 ** 63 - 1),
                  st.sampled_from([0, 9, 10, 99, 100, -9, -10, -99, -100, 2 ** 32 - 1,
                                   -2 ** 63, 2 ** 63 - 1, 10 ** 18, 10 ** 18 - 1]))
TEMPLATES = [b"queue_step oid=\x01 interval=\x02 count=\x01 add=\x01",
             b"x=\x01", b"\x02", b"set_next_step_dir oid=\x01 dir=\x01 long literal text"]


def c_format(template_ids, values):
    blob = b"".join(t + b"\0" for t in TEMPLATES)
    starts, lens, pos = [], [], 0
    for t in TEMPLATES:
        starts.append(pos)
        lens.append(len(t))
        pos += len(t) + 1
    ints, it = [], iter(values)
    for tid in template_ids:
        ints.append(tid)
        ints.extend(next(it) for _ in range(TEMPLATES[tid].count(1) + TEMPLATES[tid].count(2)))
    cap = 1 << 16
    out, used = ffi.new("char[]", cap), ffi.new("int64_t *")
    n = lib.msgtext_format(ffi.new("int64_t[]", ints), len(ints), blob,
                           ffi.new("int32_t[]", starts), ffi.new("int32_t[]", lens),
                           len(TEMPLATES), out, cap, used)
    assert used[0] == len(ints)
    return ffi.buffer(out, n)[:]


def py_format(template_ids, values):
    lines, it = [], iter(values)
    for tid in template_ids:
        line = b""
        for ch in TEMPLATES[tid]:
            if ch == 1:
                line += b"%d" % next(it)
            elif ch == 2:
                line += b"%d" % (next(it) & 0xffffffff)
            else:
                line += bytes([ch])
        lines.append(line + b"\n")
    return b"".join(lines)


@settings(max_examples=200, deadline=None)
@given(template_ids=st.lists(st.integers(0, len(TEMPLATES) - 1), min_size=1, max_size=20),
       values=st.lists(INT64, min_size=80, max_size=80))
def test_c_formatter_writes_pythons_digits(template_ids, values):
    assert c_format(template_ids, values) == py_format(template_ids, values)
