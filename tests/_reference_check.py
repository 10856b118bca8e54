"""One check of `klipsim compile` against a Klipper reference case, shared
by the reference tests: compile the case's input with its printer.cfg and
dictionary, then require no G-code errors, step equivalence with Klipper's
klipper.txt (same steps and directions per stepper, every step within
25 us: Klipper's MAX_STEPCOMPRESS_ERROR), the same configuration block
(allocate_oids .. finalize_config, whose crc covers the config), and
optionally byte-identical text.
"""
import itertools

from klipsim.chelper.msgproto import load_dictionary
from klipsim.golden import reference
from klipsim.golden.stepdiff import diff_files
from klipsim.sim.compile.batch import compile_gcode


def compile_case(case, tmp_path):
    dictionary = load_dictionary(case.dictionary)
    out_path = tmp_path / (case.name + ".txt")
    errors = []
    with open(out_path, "w") as out:
        result = compile_gcode(case.gcode, case.config, dictionary, out,
                               warn=errors.append)
    return out_path, result, errors, dictionary


def config_block(path):
    with reference.open_text(str(path)) as f:
        lines = [l.rstrip("\n") for l in itertools.islice(f, 400)]
    end = next(i for i, l in enumerate(lines) if l.startswith("finalize_config"))
    return lines[:end + 1]


def check_reference_case(name, tmp_path, byte_identical, config_block_same=True):
    """Assert the checks above; returns the stepdiff report.
    config_block_same=False skips the configuration block (for a case
    whose config needs a section klipsim does not model yet)."""
    case = reference.case(name)
    out_path, result, errors, dictionary = compile_case(case, tmp_path)
    assert result.errors == 0, errors[:3]
    report = diff_files(case.klipper_output, str(out_path), dictionary.clock_freq)
    assert report.equivalent, report.verdict()
    assert report.worst_us <= 25.0
    if config_block_same:
        assert config_block(out_path) == config_block(case.klipper_output)
    if byte_identical:
        with reference.open_text(case.klipper_output) as ref:
            assert out_path.read_text() == ref.read(), "no longer byte-identical"
    return report
