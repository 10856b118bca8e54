"""[gcode_macro]: rendering, variables, SET_GCODE_VARIABLE, errors, and the
reference user config's macros run through the dispatcher."""
import pytest

from klipsim.gcode import Dispatcher, GCodeError, parse_line, read_lines
from klipsim.gcode.macros import Macro, MacroSet, parse_variables
from klipsim.golden import reference
from klipsim.host.configfile import load_config


def test_params_rawparams_and_variables_render():
    macro = Macro("purge", "G1 X{params.X|float * 2} E{amount}\nM117 {rawparams}",
                  {"amount": 1.5})
    text = macro.render({"X": "3"}, "X=3 note", {})
    assert text.split("\n") == ["G1 X6.0 E1.5", "M117 X=3 note"]


def test_statement_delimiters_and_do_extension():
    macro = Macro("loop", "{% set xs = [] %}{% for i in range(3) %}{% do xs.append(i*i) %}"
                  "{% endfor %}G4 P{xs|sum}")
    assert macro.render({}, "", {}) == "G4 P5"


def test_printer_status_by_attribute_and_item():
    macro = Macro("park", "G1 Z{printer.toolhead.position.z + 1} "
                  "X{printer['toolhead'].axis_maximum.x}")
    status = {"toolhead": {"position": {"z": 2.0}, "axis_maximum": {"x": 200}}}
    assert macro.render({}, "", status) == "G1 Z3.0 X200"


def test_render_error_names_macro_and_line():
    macro = Macro("broken", "G28\n\n{ printer.nothing.here }")
    with pytest.raises(GCodeError) as info:
        macro.render({}, "", {})
    assert str(info.value).startswith("macro BROKEN:3: ")
    with pytest.raises(GCodeError, match=r"^macro BAD:2: Error loading"):
        Macro("bad", "G28\n{% if %}")


def test_sandbox_blocks_python_internals():
    macro = Macro("evil", "{ ''.__class__.__mro__ }")
    with pytest.raises(GCodeError):
        macro.render({}, "", {})


def test_action_raise_error_and_respond_info():
    logged = []
    macro = Macro("check", "{action_respond_info('hello')}"
                  "{% if params.T|int > 1 %}{action_raise_error('too hot')}{% endif %}",
                  log=logged.append)
    assert macro.render({"T": "0"}, "", {}) == ""
    assert logged == ["// hello"]
    with pytest.raises(GCodeError, match="too hot"):
        macro.render({"T": "5"}, "", {})


def test_variables_are_python_literals():
    assert parse_variables({"variable_a": "{'k': [1, 2]}", "variable_b": "'s'",
                            "gcode": "G28"}) == {"a": {"k": [1, 2]}, "b": "s"}
    with pytest.raises(ValueError, match="variable_c"):
        parse_variables({"variable_c": "not a literal"})


def make_set():
    d = Dispatcher()
    out = []
    d.register("G1", lambda c: out.append(c.text))
    d.register("M117", lambda c: out.append("M117 " + c.raw_params))
    return d, MacroSet(d), out


def test_set_gcode_variable_and_recursion():
    d, macros, out = make_set()
    macros.add(Macro("SHOW", "M117 v={v}", {"v": 0}))
    macros.add(Macro("LOOP", "LOOP"))
    d.run_commands(read_lines(
        "SHOW\nSET_GCODE_VARIABLE MACRO=SHOW VARIABLE=v VALUE='{\"a\": 1}'\nSHOW\n"
        "SET_GCODE_VARIABLE MACRO=SHOW VARIABLE=nope VALUE=1\nLOOP\n", "p.gcode"))
    assert out == ["M117 v=0", "M117 v={'a': 1}"]
    assert d.errors == 2
    errors = [m for kind, m in d.messages if kind == "error"]
    assert errors[0].startswith("p.gcode:4: Unknown gcode_macro variable")
    assert "called recursively" in errors[1]


def test_rename_existing_wraps_a_command():
    d, macros, out = make_set()
    macros.add(Macro("G1", "G1.1 {rawparams}\nM117 moved", rename_existing="G1.1"))
    d.run(parse_line("G1 X5", "p", 1))
    assert out == ["G1.1 X5", "M117 moved"]


def test_reference_user_macros_expand_through_the_dispatcher():
    config = load_config(reference.case("user_print_parts").config)
    d = Dispatcher()
    seen = []
    for name in ("G90", "G91", "M83", "G28", "M140", "M104", "M190", "M109", "G4",
                 "SET_PIN", "M117", "G1", "M400", "M106", "M107", "M84",
                 "SAVE_GCODE_STATE", "RESTORE_GCODE_STATE"):
        d.register(name, lambda c: seen.append(c))
    status = {"toolhead": {"position": {"x": 0.0, "y": 0.0, "z": 7.0},
                           "axis_maximum": {"x": 235.0, "y": 235.0, "z": 220.0}}}
    macros = MacroSet(d, lambda: status)
    macros.add_from_config(config)
    assert sorted(macros.macros) == ["BEEP", "FAN_RAMP", "PRINT_END", "PRINT_START",
                                     "PURGE_LINE"]
    d.run(parse_line("PRINT_START BED=60 EXTRUDER=210", "input.gcode", 3))
    d.run(parse_line("PRINT_END", "input.gcode", 900))
    assert d.errors == 0 and d.warnings == 0
    texts = [c.text for c in seen]
    assert "M104 S158.0" in texts            # round(210 * 0.75)
    assert "G1 X85.0 E7.199999999999999 F1500" in texts   # 5 + 80, 80*0.06*1.5
    assert texts.count("SET_PIN PIN=beeper VALUE=1") == 2 + 3   # BEEP COUNT=2, 3
    assert "G1 X225.0 Y225.0 Z17.0 F12000" in texts   # min(7 + 10, 220)
    assert texts[-1] == "M117 Done (bed was 60.0)"
    assert seen[-1].source == "input.gcode:900: macro PRINT_END" and seen[-1].lineno > 1
    beep = [c for c in seen if c.text == "SET_PIN PIN=beeper VALUE=1"][0]
    assert beep.source.startswith("input.gcode:3: macro PRINT_START:")
    assert beep.source.endswith(": macro BEEP")


def test_error_inside_nested_macro_names_every_place():
    d, macros, out = make_set()
    macros.add(Macro("OUTER", "G1 X1\nINNER"))
    macros.add(Macro("INNER", "M117 hi\nG1 Xbad\n"))
    d.handlers["G1"] = lambda c: c.get_float("X")
    d.run(parse_line("OUTER", "job.gcode", 12))
    errors = [m for kind, m in d.messages if kind == "error"]
    assert len(errors) == 1
    assert errors[0].startswith("job.gcode:12: macro OUTER:2: macro INNER:2: ")
