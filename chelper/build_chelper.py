"""cffi (API mode, out of line) builder for klipsim.chelper._chelper.

Every C file in chelper/src/ is compiled into one extension. Each header
in chelper/src/ exposes its Python-visible declarations between the
markers `/* cffi:begin */` and `/* cffi:end */`; only that text is handed
to cffi's cdef, so headers can keep include guards and macros.
"""
import glob
import os
import re

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
CDEF_BLOCK = re.compile(r"/\* cffi:begin \*/(.*?)/\* cffi:end \*/", re.S)
# extern "Python" declarations are not C: a header keeps them in a comment
PYTHON_BLOCK = re.compile(r"cffi:python-begin(.*?)cffi:python-end", re.S)

# Reproducible floating point (DESIGN.md, determinism): no fast-math and
# no fused multiply-add contraction, so every build computes the same bits.
CFLAGS = ["-O2", "-std=gnu11", "-ffp-contract=off", "-fno-fast-math",
          "-fno-semantic-interposition", "-fno-plt",
          "-Wall", "-Wno-unused-function"]


def _headers():
    return sorted(glob.glob(os.path.join(SRC, "*.h")))


def _cdef_text():
    parts = []
    for path in _headers():
        with open(path) as f:
            text = f.read()
            parts.extend(CDEF_BLOCK.findall(text))
            parts.extend(PYTHON_BLOCK.findall(text))
    return "\n".join(parts)


ffibuilder = FFI()
ffibuilder.cdef(_cdef_text())
ffibuilder.set_source(
    "klipsim.chelper._chelper",
    "\n".join('#include "%s"' % os.path.basename(h) for h in _headers()),
    sources=[os.path.relpath(p) for p in sorted(glob.glob(os.path.join(SRC, "*.c")))],
    include_dirs=[SRC],
    # the headers too: without them a header-only change left the built
    # extension in place ("is up-to-date") until build_ext --force
    depends=[os.path.relpath(p) for p in sorted(glob.glob(os.path.join(SRC, "*.h")))],
    extra_compile_args=CFLAGS,
    libraries=["m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
