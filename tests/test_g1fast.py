"""The C fast path for plain G0/G1 lines (host/g1fast.py, chelper/src/
g1fast.c) against the Python path it replaces (parse_line + dispatcher +
gcode_move + toolhead + look-ahead), kept as the reference model: on random
G-code the trapq contents, the look-ahead queue, the G-code state, the
messages and the MCU stream must be the same bits."""
import io
import struct

from hypothesis import given, settings, strategies as st

from klipsim.chelper._chelper import ffi, lib
from klipsim.chelper.msgproto import load_dictionary
from klipsim.chelper.streamio import StreamWriter
from klipsim.gcode.command import parse_line
from klipsim.gcode.dispatch import Dispatcher
from klipsim.gcode.reader import read_lines
from klipsim.golden import reference
from klipsim.host.configfile import load_config
from klipsim.host.g1fast import G1FastPath
from klipsim.host.lookahead import Move
from klipsim.host.printer import Printer
from klipsim.host.reactor import BatchReactor
from klipsim.sim.compile.batch import BatchClock, StreamLink

# corexy_basic: corexy, 250 x 250 x 200, one extruder.  multi_extruder_tools:
# cartesian, two extruders (T0/T1 macros), a fan (M106 queues its pin
# change behind the look-ahead: a timing callback on the last move).
CASE = reference.case("corexy_basic")
TOOLS = reference.case("multi_extruder_tools")
START = "SET_KINEMATIC_POSITION X=100 Y=100 Z=10\n"


def bits(value):
    """A float's exact bits (so -0.0 != 0.0 and nan == nan)."""
    return struct.pack("<d", value) if isinstance(value, float) else value


def exact(seq):
    return [bits(v) for v in seq]


class Machine:
    """A printer from the corexy_basic config, messages and stream kept."""

    def __init__(self, case=CASE):
        self.out = io.StringIO()
        self.messages = []
        dictionary = load_dictionary(case.dictionary)
        self.writer = StreamWriter(self.out, "text", dictionary)
        self.dispatcher = Dispatcher(
            warning_sink=lambda t: self.messages.append(("warning", t)),
            error_sink=lambda t: self.messages.append(("error", t)),
            info_sink=lambda t: self.messages.append(("info", t)))
        config = load_config(case.config)
        self.printer = Printer(config, {"mcu": dictionary}, StreamLink(self.writer),
                               BatchClock(), BatchReactor(), self.dispatcher)
        self.printer.connect()
        self.fast = G1FastPath(self.dispatcher, self.printer.gcode_move,
                               self.printer.toolhead)

    def run_python(self, blocks):
        lineno = 0
        for block in blocks:
            lines = block.split("\n")
            if block.endswith("\n"):
                lines.pop()
            self.dispatcher.run_commands(read_lines(lines, "t.gcode", lineno + 1))
            lineno += len(lines)
            self.printer.reactor.run_due_timers()

    def run_fast(self, blocks):
        lineno = 0
        for block in blocks:
            lineno = self.fast.run_block(block.encode(), lineno, "t.gcode")
            self.printer.reactor.run_due_timers()

    def snapshot(self):
        gm, th = self.printer.gcode_move, self.printer.toolhead
        trapqs = [th.trapq, th.extruder.trapq]
        return {
            "trapq": [[{k: bits(v) for k, v in sorted(m.items()) if not isinstance(v, tuple)}
                       | {k: exact(v) for k, v in m.items() if isinstance(v, tuple)}
                       for m in tq.extract_moves(100000)] for tq in trapqs],
            "queue": [move_fields(m) for m in th.lookahead.queue],
            "junction_flush": bits(th.lookahead.junction_flush),
            "gcode": (exact(gm.last_position), exact(gm.base_position), bits(gm.speed),
                      bits(gm.speed_factor), bits(gm.extrude_factor),
                      gm.absolute_coord, gm.absolute_extrude),
            "toolhead": (exact(th.commanded_pos), bits(th.print_time), th.state,
                         bits(th.need_check_pause), bits(th.extruder.last_position)),
            "messages": list(self.messages),
        }

    def finish(self):
        self.printer.finish()
        self.writer.close()
        return self.out.getvalue()


def move_fields(move):
    return {name: (exact(getattr(move, name)) if isinstance(getattr(move, name), (list, tuple))
                   else bits(getattr(move, name)))
            for name in Move.__slots__ if name != "timing_callbacks"}


# ---- random G-code ----------------------------------------------------------
def number(draw, low, high):
    value = draw(st.floats(low, high, allow_nan=False))
    style = draw(st.sampled_from(["%.3f", "%.5f", "%g", "%.0f", "%.17f", "%d"]))
    text = style % (int(value) if style == "%d" else value)
    if draw(st.booleans()) and text.startswith("0."):
        text = text[1:]            # '.5'
    return text


@st.composite
def move_line(draw):
    name = draw(st.sampled_from(["G1", "G1", "G1", "G0", "g1"]))
    words = []
    for letter, low, high in (("X", -30, 280), ("Y", -30, 280), ("Z", -2, 40),
                              ("E", -8, 8), ("F", -100, 30000)):
        if draw(st.integers(0, 2)):
            key = letter if draw(st.integers(0, 5)) else letter.lower()
            words.append(key + number(draw, low, high))
    sep = draw(st.sampled_from([" ", " ", "", "\t", "  "]))
    line = name + sep + sep.join(words)
    if draw(st.integers(0, 6)) == 0:
        line += " ; comment"
    return line


OTHER_LINES = ["G90", "G91", "M82", "M83", "G92 E0", "G92 X10", "G92", "M220 S80",
               "M220 S150", "M221 S90", "M221 S110", "M400", "G4 P50", "M204 S2000",
               "SET_VELOCITY_LIMIT SQUARE_CORNER_VELOCITY=2", "SET_VELOCITY_LIMIT ACCEL=800",
               "; only a comment", "", "   ", "M106 S128", "M107", "G1 X1e1", "G1 X",
               "N5 G1 X10", "G1 X10 A3", "G1 F0", "G1 E200", "G1 X300", "G10",
               "SET_KINEMATIC_POSITION X=100 Y=100 Z=10",
               "SET_VELOCITY_LIMIT MINIMUM_CRUISE_RATIO=0.2", "SET_VELOCITY_LIMIT VELOCITY=50",
               "M204 S300", "G1 E2 F1800", "G1 E-1.5 F2400", "G1 Z12 F600", "G92 E5"]


TOOL_LINES = ["T0", "T1", "M106 S200", "M107", "G2 X105 Y100 I2.5 J0", "G3 X100 Y100 I-2 J1"]


@st.composite
def programs(draw, other=OTHER_LINES):
    lines = draw(st.lists(st.one_of(move_line(), move_line(), move_line(),
                                    st.sampled_from(other)), min_size=1, max_size=60))
    text = START + "\n".join(lines) + "\n"
    # cut into blocks at line ends, as the 4096-byte reads do
    ends = [i + 1 for i, c in enumerate(text) if c == "\n"]
    cuts = sorted(set(draw(st.lists(st.sampled_from(ends), max_size=5))) | {len(text)})
    blocks, start = [], 0
    for cut in cuts:
        blocks.append(text[start:cut])
        start = cut
    return blocks


def same_run(case, blocks):
    slow, fast = Machine(case), Machine(case)
    slow.run_python(blocks)
    fast.run_fast(blocks)
    assert fast.snapshot() == slow.snapshot()
    assert fast.finish() == slow.finish()


@settings(max_examples=150, deadline=None)
@given(programs())
def test_fast_path_matches_python_path(blocks):
    same_run(CASE, blocks)


@settings(max_examples=60, deadline=None)
@given(programs(OTHER_LINES + TOOL_LINES * 3))
def test_fast_path_with_tools_fan_and_arcs(blocks):
    """Python moves (arcs) and C moves share the queue; tool changes swap
    the extruder between flushes; fan changes wait on move callbacks."""
    same_run(TOOLS, blocks)


def test_fast_path_is_taken_for_plain_moves():
    """A print of plain moves never builds a Python Move per line."""
    machine = Machine()
    calls = []
    toolhead = machine.printer.toolhead
    original = toolhead.move
    toolhead.move = lambda *args: calls.append(args) or original(*args)
    text = START + "".join("G1 X%d Y%d E%.2f F3000\n" % (100 + i % 7, 100 + i % 5, i * .02)
                           for i in range(200))
    machine.run_fast([text])
    assert calls == []
    assert len(machine.printer.toolhead.trapq.extract_moves(1000)) > 150


def test_renamed_g1_goes_through_python():
    """A macro that renames G1 must see every G1 (no fast path)."""
    machine = Machine()
    seen = []
    original = machine.dispatcher.unregister("G1")
    machine.dispatcher.register("G1", lambda cmd: seen.append(cmd.text) or original(cmd))
    machine.run_fast([START + "G1 X110\nG1 X120 ; c\n"])
    assert seen == ["G1 X110", "G1 X120 ; c"]


def test_errors_name_the_line():
    """Klipper's messages (move_error adds 'x y z [e]' of the refused
    position), at the file line, and the run goes on from where it was."""
    machine = Machine()
    machine.run_fast([START + "G1 X10\nG1 X300 Y5\nG1 E80\n"])
    errors = [t for kind, t in machine.messages if kind == "error"]
    assert errors == ["t.gcode:3: Move out of range: 300.000 5.000 10.000 [0.000]",
                      "t.gcode:4: Extrude only move too long (80.000mm vs 50.000mm)\n"
                      "See the 'max_extrude_only_distance' config option for details:"
                      " 10.000 100.000 10.000 [80.000]"]


# ---- the lexer against parse_line -------------------------------------------
LINE_CHARS = st.sampled_from(list("GgXxYyZzEeFf0123456789.+- \t;NM*") + ["\r", "e1", "G1 "])


@settings(max_examples=500, deadline=None)
@given(st.lists(LINE_CHARS, max_size=24).map("".join))
def test_lexer_agrees_with_parse_line(text):
    data = text.encode()
    vals, present, is_g0 = ffi.new("double[5]"), ffi.new("int[5]"), ffi.new("int *")
    kind = lib.g1fast_parse_line(data, len(data), is_g0, vals, present)
    cmd = parse_line(text)
    if kind == 0:
        assert cmd is None
    elif kind == 1:
        assert cmd.name == ("G0" if is_g0[0] else "G1")
        keys = {k for k in cmd.params if k != "G"}
        assert keys == {k for i, k in enumerate("XYZEF") if present[i]}
        for i, key in enumerate("XYZEF"):
            if present[i]:
                assert bits(vals[i]) == bits(float(cmd.params[key]))


def test_print_time_bound_reported_at_the_move():
    """A flush that would take print time past klipsim's 30-day bound is
    a G-code error at the move that released it, as in the Python path,
    and the run goes on."""
    slow_moves = "".join("G1 X%d F0.007\n" % (100 + 10 * (i % 2)) for i in range(35))
    blocks = [START + slow_moves, "G1 X120 F3000\nG1 Y120\n"]
    same_run(CASE, blocks)
    machine = Machine()
    machine.run_fast(blocks)
    errors = [t for kind, t in machine.messages if kind == "error"]
    # each move: 10 mm at 0.007 mm/min = 85714.29 s; print time starts at
    # 0.25 s, so timing the 31st move (line 32) reaches 2657143 s > 30 days;
    # it is timed when a later move's lazy flush releases it
    first = errors[0]
    assert first.endswith(": Print time would reach 2.65714e+06 s, more than"
                          " klipsim's bound of 2.592e+06 s (30 days)")
    assert first.startswith("t.gcode:") and int(first.split(":")[1]) > 32


def test_internal_error_names_the_move_like_the_dispatcher():
    """A bug surfacing in the flush after a fast move is the dispatcher's
    GCodeInternalError for that line, word for word."""
    import pytest
    from klipsim.gcode.errors import GCodeInternalError

    def broken():
        raise ZeroDivisionError("float division by zero")
    texts = []
    for run in ("run_python", "run_fast"):
        machine = Machine()
        machine.printer.toolhead._begin_timing = broken
        with pytest.raises(GCodeInternalError) as info:
            getattr(machine, run)([START + "G1 X110 F6000\nG0 X120\nG1 X100\n" * 20])
        texts.append(str(info.value))
    assert texts[0] == texts[1]
    assert texts[0].startswith("t.gcode:")
    assert texts[0].endswith(': Internal error on command "G1": ZeroDivisionError:'
                             ' float division by zero')
