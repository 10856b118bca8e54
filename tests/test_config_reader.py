"""printer.cfg reader: dialect, includes, SAVE_CONFIG, typed options, errors."""
import configparser
import re

import pytest

from klipsim.golden import reference
from klipsim.host.configfile import ConfigError, load_config


def write(tmp_path, text, name="printer.cfg"):
    path = tmp_path / name
    path.write_text(text)
    return path


def headers(path):
    """Section names by an independent scan of the file text."""
    names = []
    for line in open(path):
        match = re.match(r"\[([^\]]+)\]", line.split("#")[0])
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


@pytest.mark.parametrize("case", reference.cases(), ids=lambda c: c.name)
def test_reference_configs_load_with_their_sections(case):
    config = load_config(case.config)
    expected = [n for n in headers(case.config) if not n.startswith("include ")]
    if case.name == "user_print_parts":
        included = headers(case.folder + "/macros.cfg")
        assert config.section_names() == included + expected
        assert config.section("gcode_macro PRINT_START").location("gcode") == "macros.cfg:5"
    else:
        assert config.section_names() == expected


@pytest.mark.parametrize("case", reference.cases(), ids=lambda c: c.name)
def test_values_match_pythons_configparser(case):
    # Klipper feeds configparser; where no '#' is mid-line the values must agree.
    parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";", "#"))
    parser.read(case.config)
    config = load_config(case.config)
    for name in parser.sections():
        for option, value in parser.items(name):
            assert config.section(name).get(option) == value


def test_dialect_comments_delimiters_continuations(tmp_path):
    path = write(tmp_path, (
        "# full comment\n"
        "[stepper_x]\n"
        "step_pin: PA1   # trailing\n"
        "dir_pin = !PA2 ; inline\n"
        "Microsteps : 16\n"
        "note: a;b\n"
        "  ; indented comment\n"
        "[gcode_macro T0]\n"
        "gcode:\n"
        "  G1 X1\n"
        "    G1 X2 ; c\n"
        "\n"
        "  G1 X3\n"
        "\n"))
    config = load_config(path)
    sec = config.section("stepper_x")
    assert sec.get("step_pin") == "PA1"
    assert sec.get("dir_pin") == "!PA2"
    assert sec.getint("MICROSTEPS") == 16
    assert sec.get("note") == "a;b"
    assert config.section("gcode_macro T0").get("gcode") == "\nG1 X1\nG1 X2\n\nG1 X3"
    assert sec.location("microsteps") == "printer.cfg:5"


def test_repeated_sections_merge_and_override(tmp_path):
    path = write(tmp_path, "[a]\nx: 1\ny: 2\n[b]\nz: 0\n[a]\nx: 3\n")
    config = load_config(path)
    assert config.section_names() == ["a", "b"]
    assert config.section("a").get("x") == "3" and config.section("a").get("y") == "2"
    assert config.section("a").location("x") == "printer.cfg:7"


def test_include_glob_relative_sorted_and_errors(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path, "[z_part]\nv: 2\n", "sub/b.cfg")
    write(tmp_path, "[a_part]\nv: 1\n[main]\nv: inc\n", "sub/a.cfg")
    path = write(tmp_path, "[main]\nv: 0\n[include sub/*.cfg]\n[after]\nk: 1\n")
    config = load_config(path)
    assert config.section_names() == ["main", "a_part", "z_part", "after"]
    assert config.section("main").get("v") == "inc"
    assert config.section("z_part").location("v") == "sub/b.cfg:2"
    write(tmp_path, "[main]\n[include none_*.cfg]\n", "glob_empty.cfg")
    assert load_config(tmp_path / "glob_empty.cfg").section_names() == ["main"]
    write(tmp_path, "[main]\n[include missing.cfg]\n", "missing.cfg.main")
    with pytest.raises(ConfigError, match=r"^missing.cfg.main:2: Include file .*missing.cfg"):
        load_config(tmp_path / "missing.cfg.main")
    write(tmp_path, "[include self.cfg]\n", "self.cfg")
    with pytest.raises(ConfigError, match="Recursive include"):
        load_config(tmp_path / "self.cfg")


def test_options_after_include_need_a_section(tmp_path):
    write(tmp_path, "[x]\na: 1\n", "inc.cfg")
    path = write(tmp_path, "[main]\n[include inc.cfg]\nb: 2\n")
    with pytest.raises(ConfigError, match=r"^printer.cfg:3: .*section"):
        load_config(path)


def test_save_config_block_overrides_and_counts_as_used(tmp_path):
    path = write(tmp_path, (
        "[extruder]\ncontrol: pid\npid_kp: 1.0\n"
        "\n#*# <---------------------- SAVE_CONFIG ---------------------->\n"
        "#*# DO NOT EDIT THIS BLOCK OR BELOW. The contents are auto-generated.\n"
        "#*#\n#*# [extruder]\n#*# pid_kp = 22.5\n#*# pid_ki = 1.1\n"))
    config = load_config(path)
    sec = config.section("extruder")
    assert sec.getfloat("pid_kp") == 22.5
    assert sec.location("pid_kp") == "printer.cfg:9"
    sec.get("control")
    config.check_unused()   # pid_ki from SAVE_CONFIG is never reported


def test_unknown_option_and_section_errors_name_them(tmp_path):
    path = write(tmp_path, "[stepper_x]\nstep_pin: PA1\nfoo: 3\n[mystery]\nq: 1\n")
    config = load_config(path)
    config.section("stepper_x").get("step_pin")
    problems = config.unused()
    assert problems == [
        ("printer.cfg:3", "Option 'foo' is not valid in section 'stepper_x'"),
        ("printer.cfg:4", "Section 'mystery' is not a valid config section")]
    with pytest.raises(ConfigError) as info:
        config.check_unused()
    assert str(info.value).startswith(
        "printer.cfg:3: Option 'foo' is not valid in section 'stepper_x'")


def test_typed_getters_and_their_errors(tmp_path):
    path = write(tmp_path, (
        "[s]\ni: 12\nf: 2.5\nb: yes\nc: corexy\nl: 1, 2 ,3\nbad: 1.2.3\nneg: -1\n"))
    sec = load_config(path).section("s")
    assert sec.getint("i", minval=1) == 12
    assert sec.getfloat("f", above=0.0) == 2.5
    assert sec.getboolean("b") is True
    assert sec.getchoice("c", {"corexy": 2, "cartesian": 1}) == 2
    assert sec.getchoice("c", ["corexy"]) == "corexy"
    assert sec.getintlist("l", count=3) == (1, 2, 3)
    assert sec.getfloat("missing", 4.0) == 4.0
    with pytest.raises(ConfigError, match=r"^printer.cfg:7: Unable to parse option 'bad'"):
        sec.getfloat("bad")
    with pytest.raises(ConfigError, match=r"^printer.cfg:8: .*'neg'.*minimum of 0"):
        sec.getint("neg", minval=0)
    with pytest.raises(ConfigError, match=r"must be specified"):
        sec.get("absent")
    with pytest.raises(ConfigError, match="not a valid choice"):
        sec.getchoice("c", ["delta"])
    with pytest.raises(ConfigError, match="must have 2 elements"):
        sec.getfloatlist("l", count=2)
    with pytest.raises(ConfigError, match="boolean"):
        sec.getboolean("c")


def test_syntax_errors_have_file_and_line(tmp_path):
    with pytest.raises(ConfigError, match=r"^printer.cfg:1: "):
        load_config(write(tmp_path, "orphan: 1\n[a]\n"))
    with pytest.raises(ConfigError, match=r"^printer.cfg:3: .*not_an_option"):
        load_config(write(tmp_path, "[a]\nx: 1\nnot_an_option\n"))
    with pytest.raises(ConfigError, match="nope.cfg"):
        load_config(tmp_path / "nope.cfg")
