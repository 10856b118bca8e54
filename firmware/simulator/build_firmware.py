"""cffi (API mode, out of line) builder for klipsim.firmware.simulator._fwsim.

Contract: first runs the dictionary generator (firmware/dictgen.py), which
writes firmware/simulator/_gen/fw_gen.c from the command declarations in
firmware/src/*.c and the MCU profiles; then compiles firmware/src/*.c,
the board layer board_sim.c and the generated file into one extension
(sched.c, stepper.c, adccmds.c and board_sim.c through fw_hotpath.c, one
unit so that the per-step path inlines).
Only the declarations between the cffi markers in fwsim.h are exposed.
Nothing is compiled at run time.
"""
import glob
import importlib.util
import os
import re

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
FIRMWARE = os.path.dirname(HERE)
SRC = os.path.join(FIRMWARE, "src")
GENERATED = os.path.join(HERE, "_gen", "fw_gen.c")
CDEF_BLOCK = re.compile(r"/\* cffi:begin \*/(.*?)/\* cffi:end \*/", re.S)
# extern "Python" declarations are not C: a header keeps them in a comment
PYTHON_BLOCK = re.compile(r"cffi:python-begin(.*?)cffi:python-end", re.S)
HEADERS = ("fwsim.h", "thermal_sim.h", "fw_node.h")

# Reproducible floating point (DESIGN.md, determinism), as build_chelper.py.
# -fvisibility=hidden: only the module's init function (marked for export
# by Python) leaves the extension, so the compiler may inline and call
# directly instead of through the PLT (firmware functions are per-step).
CFLAGS = ["-O2", "-std=gnu11", "-ffp-contract=off", "-fno-fast-math",
          "-Wall", "-Wno-unused-function", "-fvisibility=hidden"]


def _load_dictgen():
    spec = importlib.util.spec_from_file_location(
        "klipsim_fw_dictgen", os.path.join(FIRMWARE, "dictgen.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cdef_text():
    parts = []
    for name in HEADERS:
        with open(os.path.join(HERE, name)) as f:
            text = f.read()
            parts.extend(CDEF_BLOCK.findall(text))
            parts.extend(PYTHON_BLOCK.findall(text))
    return "\n".join(parts)


CHELPER_SRC = os.path.join(HERE, "..", "..", "chelper", "src")

_load_dictgen().write_generated(GENERATED)
# sched.c, stepper.c, adccmds.c and board_sim.c are one unit (fw_hotpath.c)
HOTPATH = ("sched.c", "stepper.c", "adccmds.c")
_sources = [p for p in sorted(glob.glob(os.path.join(SRC, "*.c")))
            if os.path.basename(p) not in HOTPATH] + [
    os.path.join(HERE, "fw_hotpath.c"), os.path.join(HERE, "fw_node.c"), GENERATED,
    os.path.join(HERE, "thermal_sim.c"), os.path.join(HERE, "fw_grid.c"),
    os.path.join(HERE, "stream_plan.c"), os.path.join(HERE, "stream_exec.c")]

ffibuilder = FFI()
ffibuilder.cdef(_cdef_text())
ffibuilder.set_source(
    "klipsim.firmware.simulator._fwsim",
    "\n".join('#include "%s"' % h for h in HEADERS),
    sources=[os.path.relpath(p) for p in _sources],
    # chelper/src for headers both extensions share (minheap.h)
    include_dirs=[SRC, HERE, CHELPER_SRC],
    # headers as dependencies, so a header-only change rebuilds (see build_chelper);
    # so are the files fw_hotpath.c includes
    depends=[os.path.relpath(p) for d in (SRC, HERE, CHELPER_SRC)
             for p in sorted(glob.glob(os.path.join(d, "*.h")))]
    + [os.path.relpath(os.path.join(SRC, n)) for n in HOTPATH]
    + [os.path.relpath(os.path.join(HERE, "board_sim.c"))],
    extra_compile_args=CFLAGS,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
