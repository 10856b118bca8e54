"""Compile G-code and config text in a test's tmp_path: `compile_files`
(any config, any dictionary) and `compile_text` (the cartesian_homing
reference printer plus extra config text)."""
import io

from klipsim.chelper.msgproto import load_dictionary
from klipsim.golden import reference
from klipsim.sim.compile.batch import compile_gcode

CASE = reference.case("cartesian_homing")


def compile_files(tmp_path, config_text, gcode, dictionary):
    """(stream text, warning lines, CompileResult) of `gcode` on a printer
    configured by `config_text`, both written to tmp_path as printer.cfg
    and in.gcode; ConfigError propagates."""
    cfg = tmp_path / "printer.cfg"
    cfg.write_text(config_text)
    src = tmp_path / "in.gcode"
    src.write_text(gcode)
    out = io.StringIO()
    warnings = []
    result = compile_gcode(str(src), str(cfg), dictionary, out, warn=warnings.append)
    return out.getvalue(), warnings, result


def compile_text(tmp_path, gcode, extra_config=""):
    text, errors, _ = compile_files(tmp_path, open(CASE.config).read() + extra_config,
                                    gcode, load_dictionary(CASE.dictionary))
    assert not errors, errors
    return text
