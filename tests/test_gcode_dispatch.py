"""Dispatcher: handlers, Klipper's default-handler quirks, error reporting."""
import pytest

from klipsim.gcode import (Dispatcher, GCodeError, GCodeInternalError,
                           parse_line, read_lines)


def make():
    seen = []
    d = Dispatcher()
    d.register("G1", lambda c: seen.append(("G1", dict(c.params))))
    d.alias("G0", "G1")
    return d, seen


def test_runs_handlers_and_aliases():
    d, seen = make()
    d.run_commands(read_lines("G0 X1\nG1 Y2\n", "a.gcode"))
    assert [s[1]["X" if i == 0 else "Y"] for i, s in enumerate(seen)] == ["1", "2"]
    assert d.errors == 0 and d.warnings == 0


def test_g1_without_parameters_reaches_the_handler():
    d, seen = make()
    d.run(parse_line("G1", "a.gcode", 1))
    assert seen == [("G1", {"G": "1"})]


def test_unknown_command_warns_with_place_and_run_goes_on():
    d, seen = make()
    warnings = []
    d.warning_sink = warnings.append
    d.run_commands(read_lines("FOO_BAR X=1\nG1 X5\n", "p.gcode"))
    assert warnings == ['p.gcode:1: Unknown command: "FOO_BAR"']
    assert d.warnings == 1 and len(seen) == 1


def test_handler_error_is_reported_and_counted_then_continues():
    d, seen = make()
    errors = []
    d.error_sink = errors.append

    def bad(cmd):
        cmd.get_float("S", above=0.0)
    d.register("M204", bad)
    d.run_commands(read_lines("M204 S0\nG1 X1\nM204 Sabc\n", "p.gcode"))
    assert d.errors == 2 and len(seen) == 1
    assert errors[0].startswith("p.gcode:1: ") and errors[1].startswith("p.gcode:3: ")


def test_stop_on_error_stops_like_klipper_batch_mode():
    d, seen = make()
    d.stop_on_error = True
    d.register("M204", lambda c: c.get_float("S", above=0.0))
    d.run_commands(read_lines("M204 S0\nG1 X1\n", "p.gcode"))
    assert d.errors == 1 and seen == []


def test_checksum_is_ignored_as_klippers_parser_does():
    d, seen = make()
    d.run(parse_line("N1 G1 X1*0", "p.gcode", 9))     # wrong checksum (the XOR is 33)
    assert d.errors == 0 and seen[0][1]["X"] == "1"


def test_malformed_extended_params_error_only_when_handled():
    d, seen = make()
    d.register("MY_MACRO", lambda c: seen.append(c.name))
    d.run(parse_line("MY_MACRO oops", "p.gcode", 2))
    d.run(parse_line("OTHER oops", "p.gcode", 3))
    assert d.errors == 1 and d.warnings == 1 and seen == []


def test_silent_unknowns_like_klipper():
    d, _ = make()
    d.run_commands(read_lines("M104 S0\nM140\nM107\nM106 S255\nM105\nM21\n", "p"))
    assert d.warnings == 0
    d.run(parse_line("M104 S200", "p", 7))
    assert d.warnings == 1


def test_m117_with_numbers_reaches_m117_with_raw_text():
    d, _ = make()
    got = []
    d.register("M117", lambda c: got.append(c.raw_params))
    d.run_commands(read_lines("M117 12 34\nM117 Hello World\n", "p"))
    assert got == ["12 34", "Hello World"]


def test_mux_commands_choose_by_key():
    d, _ = make()
    got = []
    d.register_mux("SET_PIN", "PIN", "fan", lambda c: got.append("fan"))
    d.register_mux("SET_PIN", "PIN", "led", lambda c: got.append("led"))
    d.run_commands(read_lines("SET_PIN PIN=led\nSET_PIN PIN=fan\nSET_PIN PIN=x\n", "p"))
    assert got == ["led", "fan"] and d.errors == 1


def test_run_script_places_and_aborts_on_first_error():
    d, seen = make()
    d.register("FAIL", lambda c: (_ for _ in ()).throw(c.error("nope")))
    with pytest.raises(GCodeError) as info:
        d.run_script("G1 X1\nUNKNOWN_THING\nFAIL\nG1 X2", "macro PRINT_START")
    assert str(info.value) == "macro PRINT_START:3: nope"
    assert len(seen) == 1 and d.warnings == 1
    assert d.messages[-1][1] == 'macro PRINT_START:2: Unknown command: "UNKNOWN_THING"'


def test_invalid_names_and_duplicates_are_rejected():
    d, _ = make()
    with pytest.raises(ValueError):
        d.register("G1", lambda c: None)
    for bad in ("lower_case", "MACRO25_TEST3", "A1B"):
        with pytest.raises(ValueError):
            d.register(bad, lambda c: None)
    d.register("TEST_MACRO25", lambda c: None)


def test_internal_error_is_one_line_with_place():
    d, _ = make()
    d.register("BOOM", lambda c: 1 / 0)
    with pytest.raises(GCodeInternalError) as info:
        d.run(parse_line("BOOM", "p.gcode", 4))
    assert str(info.value).startswith('p.gcode:4: Internal error on command "BOOM"')
    assert "\n" not in str(info.value)


def test_status_and_help():
    d, seen = make()
    d.register("MY_THING", lambda c: None, "Does my thing")
    d.run(parse_line("STATUS", "p.gcode", 1))
    d.run(parse_line("HELP", "p.gcode", 2))
    infos = [t for kind, t in d.messages if kind == "info"]
    assert infos[0] == "Klipper state: Ready"
    lines = infos[1].split("\n")
    assert lines[0] == "Available extended commands:"
    assert "MY_THING  : Does my thing" in lines
    assert not any(l.startswith("G1") for l in lines)      # traditional: not listed
