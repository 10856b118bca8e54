"""G-code reader: Klipper's lexical rules, checksums, places, big files."""
import functools
import gzip
import operator
import pytest
from hypothesis import given, settings, strategies as st

from klipsim.gcode import GCodeError, parse_line, read_gcode, read_lines
from klipsim.golden import reference


def one(text):
    cmd = parse_line(text, "t.gcode", 5)
    assert cmd is not None
    return cmd


# -- classic commands ----------------------------------------------------

@pytest.mark.parametrize("text,name,expected", [
    ("G1 X10 F3000", "G1", {"X": "10", "F": "3000"}),
    ("g1 x10 y-2.5", "G1", {"X": "10", "Y": "-2.5"}),
    ("G1X10Y20", "G1", {"X": "10", "Y": "20"}),
    ("   G1 X1   ; move", "G1", {"X": "1"}),
    ("M104 S200", "M104", {"S": "200"}),
    ("T0", "T0", {}),
    ("G1", "G1", {}),
    ("N12 G1 X3", "G1", {"N": "12", "X": "3"}),
])
def test_classic_name_and_params(text, name, expected):
    cmd = one(text)
    assert cmd.name == name
    for key, value in expected.items():
        assert cmd.params[key] == value
    # the command's own letter is a parameter too, as in Klipper
    assert cmd.params[name[0]] == name[1:]


def test_exponent_splits_into_an_e_parameter():
    # Klipper splits on letters after upper-casing: 1e2 is X=1 and E=2.
    cmd = one("G1 X1e2")
    assert cmd.get_float("X") == 1.0 and cmd.get_float("E") == 2.0


def test_numbers_follow_python_float():
    cmd = one("G1 X-.5 Y+3 Z.25")
    assert (cmd.get_float("X"), cmd.get_float("Y"), cmd.get_float("Z")) == (-0.5, 3.0, 0.25)


def test_comment_and_blank_lines_are_skipped_but_counted():
    cmds = list(read_lines(["; header", "", "   ", "G28", ";x", "G1 X1"], "f.gcode"))
    assert [(c.name, c.lineno) for c in cmds] == [("G28", 4), ("G1", 6)]


def test_numbers_after_a_name_join_the_name_like_klipper():
    # 'M117 12 34' is read as the single name 'M117 12 34'; the dispatcher
    # hands it to M117 (tested in test_gcode_dispatch).
    assert one("M117 12 34").name == "M117 12 34"


# -- extended commands ---------------------------------------------------

def test_extended_keys_upper_values_as_written():
    cmd = one("set_velocity_limit accel=3000 Square_Corner_Velocity=5")
    assert cmd.name == "SET_VELOCITY_LIMIT"
    assert cmd.params == {"ACCEL": "3000", "SQUARE_CORNER_VELOCITY": "5"}
    assert cmd.extended


def test_extended_quoted_value_and_raw_params():
    text = """SET_GCODE_VARIABLE MACRO=x VARIABLE=y VALUE='{"a": 1}'"""
    cmd = one(text)
    assert cmd.params["VALUE"] == '{"a": 1}'
    assert cmd.raw_params == text[len("SET_GCODE_VARIABLE "):]


def test_extended_comment_is_dropped():
    cmd = one("SET_PIN PIN=fan VALUE=1 ; full speed")
    assert cmd.params == {"PIN": "fan", "VALUE": "1"}


def test_extended_word_without_equals_is_malformed_when_run():
    cmd = one("MY_MACRO positional")
    assert cmd.param_error is not None and "Malformed" in cmd.param_error


def test_raw_params_of_m117_keep_case_and_drop_line_number_checksum():
    assert one("M117 Hello World").raw_params == "Hello World"
    line = "N7 M117 Hi there"
    star = functools.reduce(operator.xor, line.encode(), 0)
    cmd = one("%s*%d" % (line, star))
    assert cmd.line_error is None
    assert cmd.raw_params == "Hi there"


# -- checksums -----------------------------------------------------------

def with_checksum(line):
    return "%s*%d" % (line, functools.reduce(operator.xor, line.encode(), 0))


def test_good_checksum_is_accepted():
    cmd = one(with_checksum("N3 G1 X10 Y2"))
    assert cmd.line_error is None
    assert cmd.get_float("X") == 10.0


def test_bad_checksum_is_ignored_as_in_klipper():
    good = with_checksum("N3 G1 X10 Y2")
    value = int(good.rsplit("*", 1)[1])
    cmd = one("N3 G1 X10 Y2*%d" % ((value + 1) % 256))
    assert cmd.line_error is None
    assert (cmd.name, cmd.get_float("X"), cmd.get_float("Y")) == ("G1", 10.0, 2.0)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.floats(-1000, 1000, allow_nan=False))
def test_checksum_round_trip(n, x):
    line = "N%d G1 X%.4f" % (n, x)
    cmd = one(with_checksum(line))
    assert cmd.line_error is None
    assert cmd.get_float("X") == float("%.4f" % x)
    broken = with_checksum(line).replace("G1", "G0")
    assert one(broken).line_error is None and one(broken).name == "G0"


# -- accessors and error places -----------------------------------------

def test_parse_error_names_file_line_and_value():
    cmd = one("G1 X1.2.3")
    with pytest.raises(GCodeError) as info:
        cmd.get_float("X")
    message = str(info.value)
    assert message.startswith("t.gcode:5: ")
    assert "1.2.3" in message and "\n" not in message


def test_missing_and_range_errors():
    cmd = one("M204 S-5")
    with pytest.raises(GCodeError, match=r"^t.gcode:5: .*P"):
        cmd.get_float("P")
    with pytest.raises(GCodeError, match="above"):
        cmd.get_float("S", above=0.0)
    assert cmd.get_float("P", 7.5) == 7.5
    with pytest.raises(GCodeError, match="integer"):
        one("M106 S1.5").get_int("S")


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from("XYZEF"),
                       st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
                       min_size=1))
def test_classic_round_trip(values):
    text = "G1 " + " ".join("%s%.6f" % (k, v) for k, v in values.items())
    cmd = one(text)
    for key, value in values.items():
        assert cmd.get_float(key) == float("%.6f" % value)


# -- files ---------------------------------------------------------------

def test_gz_and_plain_files_give_the_same_commands(tmp_path):
    text = "G28\nG1 X1 Y2 ; c\n\nSET_PIN PIN=a VALUE=1\n"
    (tmp_path / "a.gcode").write_text(text)
    with gzip.open(tmp_path / "b.gcode.gz", "wt") as handle:
        handle.write(text)
    plain = [(c.name, c.params, c.lineno) for c in read_gcode(tmp_path / "a.gcode")]
    packed = [(c.name, c.params, c.lineno) for c in read_gcode(tmp_path / "b.gcode.gz")]
    assert plain == packed and len(plain) == 3


def test_missing_file_is_a_one_line_error(tmp_path):
    with pytest.raises(GCodeError) as info:
        read_gcode(tmp_path / "nope.gcode")
    assert "nope.gcode" in str(info.value) and "\n" not in str(info.value)


def test_overlong_line_is_reported_not_stored(tmp_path):
    path = tmp_path / "long.gcode"
    path.write_bytes(b"G28\n" + b"X" * 200000 + b"\nG1 X1\n")
    cmds = list(read_gcode(path))
    assert [c.lineno for c in cmds] == [1, 2, 3]
    assert cmds[1].line_error and cmds[2].name == "G1"


def test_every_reference_input_reads_without_errors():
    for case in reference.cases():
        for cmd in read_gcode(case.gcode):
            assert cmd.line_error is None and cmd.param_error is None, cmd


@pytest.mark.parametrize("name", ["corexy_print_long", "corexy_print_cylinder"])
def test_big_inputs_stream_with_klipper_move_counts(name):
    case = reference.case(name)
    moves = sum(1 for c in read_gcode(case.gcode) if c.name in ("G0", "G1", "G2", "G3"))
    assert moves == case.meta["gcode_move_commands"]


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
                       st.text(st.characters(blacklist_categories=("Cs", "Cc")),
                               max_size=12),
                       max_size=4))
def test_extended_params_round_trip_through_shell_quoting(values):
    import shlex
    values = {k: v for k, v in values.items()
              if k.upper() not in {x.upper() for x in values if x != k}}
    line = "SET_THING " + " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in values.items())
    cmd = one(line)
    assert cmd.param_error is None
    assert cmd.params == {k.upper(): v for k, v in values.items()}


def test_crlf_and_non_utf8_bytes(tmp_path):
    path = tmp_path / "dos.gcode"
    path.write_bytes(b"G28\r\nM117 caf\xe9\r\nG1 X1.5\r\n")
    cmds = list(read_gcode(path))
    assert [c.name for c in cmds] == ["G28", "M117", "G1"]
    assert cmds[2].get_float("X") == 1.5 and cmds[2].text == "G1 X1.5"
    assert cmds[1].raw_params.startswith("caf")
