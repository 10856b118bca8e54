"""Real-world printer.cfg shapes load: Klipper's own example configs when
$KLIPSIM_KLIPPER_CONFIGS names a folder of them (Klipper's config/ folder;
nothing of it is copied here), our own samples below always, and a
generated round trip."""
import configparser
import os
import re
import string

from hypothesis import given, settings, strategies as st

from klipsim.host.configfile import load_config

SAMPLES = {
    # Delta with tabs, '=' delimiters, inline comments and a SAVE_CONFIG
    # block holding a multi-line bed mesh (tab-indented, as Klipper writes it).
    "delta.cfg": (
        "[printer]\nkinematics = delta\t# a delta\nmax_velocity= 300\n"
        "delta_radius : 174.75\n\n"
        "[stepper_a]\nstep_pin: ar54\ndir_pin: !ar55\nenable_pin: !ar38\n"
        "microsteps: 16\nrotation_distance: 40\nendstop_pin: ^ar2\n"
        "homing_speed: 50\nposition_endstop: 297.05\narm_length: 333.0\n"
        "[bed_mesh]\nspeed: 50\nhorizontal_move_z: 5\nmesh_radius: 75\n"
        "round_probe_count: 5\n"
        "\n#*# <---------------------- SAVE_CONFIG ---------------------->\n"
        "#*# DO NOT EDIT THIS BLOCK OR BELOW. The contents are auto-generated.\n"
        "#*#\n#*# [printer]\n#*# delta_radius = 174.8\n#*#\n"
        "#*# [bed_mesh default]\n#*# version = 1\n#*# points =\n"
        "#*# \t  0.01, -0.02, 0.03\n#*# \t  0.04, 0.05, -0.06\n#*# x_count = 3\n"),
    # Macros with '#' and ';' inside templates and a board_pins alias list.
    "macros.cfg": (
        "[board_pins arduino-mega]\naliases:\n    ar0=PE0, ar1=PE1,\n"
        "    ar2=PE4, ar3=PE5\n\n"
        "[gcode_macro START_PRINT]\ndescription: Start; warm up\ngcode:\n"
        "    {% set t = params.T|default(200)|int %}  ; target\n"
        "    M104 S{t}#no space before the hash either\n"
        "    ; a comment line inside the macro\n"
        "    G28\n"
        "[delayed_gcode clear]\ninitial_duration: 1.\ngcode:\n  M117\n"),
}

EXPECTED = {
    "delta.cfg": {("printer", "delta_radius"): "174.8",
                  ("printer", "kinematics"): "delta",
                  ("bed_mesh default", "points"):
                      "\n0.01, -0.02, 0.03\n0.04, 0.05, -0.06",
                  ("stepper_a", "endstop_pin"): "^ar2"},
    "macros.cfg": {("board_pins arduino-mega", "aliases"):
                       "\nar0=PE0, ar1=PE1,\nar2=PE4, ar3=PE5",
                   ("gcode_macro START_PRINT", "description"): "Start; warm up",
                   ("gcode_macro START_PRINT", "gcode"):
                       "\n{% set t = params.T|default(200)|int %}\nM104 S{t}\nG28",
                   ("delayed_gcode clear", "gcode"): "\nM117"},
}


def header_scan(path):
    """Section names found by a plain scan of the text (independent of the
    reader): lines starting with '[' outside the SAVE_CONFIG prefix."""
    names = []
    for line in open(path, encoding="utf-8"):
        line = line[4:] if line.startswith("#*# ") else line.split("#")[0]
        match = re.match(r"\[([^\]]+)\]", line)
        if match and not match.group(1).startswith("include ") \
                and match.group(1) not in names:
            names.append(match.group(1))
    return names


def external_configs():
    folder = os.environ.get("KLIPSIM_KLIPPER_CONFIGS")
    if not folder:
        return []
    return sorted(os.path.join(folder, n) for n in os.listdir(folder)
                  if n.endswith(".cfg"))


def test_samples_and_klipper_examples_load(tmp_path):
    paths = []
    for name, text in SAMPLES.items():
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    paths += external_configs()
    for path in paths:
        config = load_config(path)
        assert sorted(config.section_names()) == sorted(header_scan(path)), path
    for name, values in EXPECTED.items():
        config = load_config(tmp_path / name)
        for (section, option), value in values.items():
            assert config.section(section).get(option) == value


def test_macro_sample_matches_configparser_on_klippers_cut_text(tmp_path):
    # Klipper cuts each line at '#' and hands the rest to configparser
    # (strict=False, inline ';'/'#' comments): use that as the oracle.
    text = SAMPLES["macros.cfg"]
    cut = "\n".join(line.split("#")[0] for line in text.split("\n"))
    parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";", "#"))
    parser.read_string(cut)
    (tmp_path / "macros.cfg").write_text(text)
    config = load_config(tmp_path / "macros.cfg")
    assert config.section_names() == parser.sections()
    for name in parser.sections():
        assert dict(parser.items(name)) == {
            o: config.section(name).get(o) for o in config.section(name).options()}


names = st.text(string.ascii_lowercase + "_", min_size=1, max_size=8)
values = st.text(string.ascii_letters + string.digits + " .,!^~:=_-", min_size=1,
                 max_size=20).map(str.strip).filter(bool)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(names, st.dictionaries(names, values, min_size=1, max_size=5),
                       min_size=1, max_size=5),
       st.sampled_from([": ", "=", " = ", ":"]), st.booleans())
def test_generated_configs_round_trip(tmp_path_factory, table, delimiter, comments):
    lines = []
    for section, options in table.items():
        lines.append("[%s]%s" % (section, "  # section" if comments else ""))
        for option, value in options.items():
            lines.append("%s%s%s%s" % (option.upper() if comments else option,
                                       delimiter, value, " ; note" if comments else ""))
        lines.append("")
    path = tmp_path_factory.mktemp("gen") / "printer.cfg"
    path.write_text("\n".join(lines))
    config = load_config(path)
    assert config.section_names() == list(table)
    for section, options in table.items():
        sec = config.section(section)
        assert sec.options() == list(options)
        for index, (option, value) in enumerate(options.items()):
            assert sec.get(option) == value
        assert sec.location(list(options)[0]) == "printer.cfg:%d" % (
            lines.index("[%s]%s" % (section, "  # section" if comments else "")) + 2)
    config.check_unused()
