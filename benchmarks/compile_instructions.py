"""Instructions executed by `klipsim compile` (text output, as
compile_speed.py runs it) on the big reference prints, counted by
valgrind: the stable figure behind compile_speed.py's CPU ratios
(issue 10 asks for instruction counts before and after). The start-up
(compiling an empty G-code file with the same config) is given apart.

Usage: python benchmarks/compile_instructions.py [case ...]
(default corexy_print_cylinder; about 50x the plain run time each)
"""
import os
import sys
import tempfile

from _valgrind import have_valgrind, instructions

from klipsim.golden import reference


def compile_instructions(gcode, case, out):
    return instructions([sys.executable, "-m", "klipsim.cli", "compile", gcode,
                         "--config", case.config, "--dictionary", case.dictionary,
                         "-o", out, "--quiet"])


def main(names):
    if not have_valgrind():
        raise SystemExit("valgrind not found")
    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "empty.gcode")
        open(empty, "w").close()
        out = os.path.join(tmp, "out.txt")
        for name in names:
            case = reference.case(name)
            startup = compile_instructions(empty, case, out)
            total = compile_instructions(case.gcode, case, out)
            print("%-22s %8d M instructions (start-up %d M)"
                  % (name, total // 10**6, startup // 10**6))


if __name__ == "__main__":
    main(sys.argv[1:] or ["corexy_print_cylinder"])
