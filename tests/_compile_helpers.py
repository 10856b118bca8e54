"""Compile G-code text against the cartesian_homing reference printer
(plus extra config text) and return the stream text."""
import io

from klipsim.chelper.msgproto import load_dictionary
from klipsim.golden import reference
from klipsim.sim.compile.batch import compile_gcode

CASE = reference.case("cartesian_homing")


def compile_text(tmp_path, gcode, extra_config=""):
    cfg = tmp_path / "printer.cfg"
    cfg.write_text(open(CASE.config).read() + extra_config)
    src = tmp_path / "in.gcode"
    src.write_text(gcode)
    out = io.StringIO()
    errors = []
    compile_gcode(str(src), str(cfg), load_dictionary(CASE.dictionary), out,
                  warn=errors.append)
    assert not errors, errors
    return out.getvalue()
