"""Golden outputs of the bundled examples: the compiled command stream of
each example, approved and kept in golden/examples/, compared byte for
byte by the tests. `klipsim golden --update` rewrites them and shows what
changed (review the diff before committing it).

An example's stream is approved when the compiler is step-equivalent to
Klipper on the reference cases (tests/test_compile_reference.py) and the
example's own independent checks hold (tests/test_golden_examples.py:
net steps per stepper equal the final position in steps).
"""
import difflib
import io
import os
from dataclasses import dataclass

from ..chelper.msgproto import load_profile
from ..sim.compile.batch import compile_gcode

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES_DIR = os.path.join(PACKAGE_DIR, "examples")
GOLDEN_DIR = os.path.join(PACKAGE_DIR, "golden", "examples")


@dataclass(frozen=True)
class Example:
    name: str
    gcode: str
    config: str
    mcu: str

    @property
    def golden_path(self):
        return os.path.join(GOLDEN_DIR, self.name + ".txt")

    def render(self):
        """The example compiled now, as text."""
        out = io.StringIO()
        compile_gcode(os.path.join(EXAMPLES_DIR, self.gcode),
                      os.path.join(EXAMPLES_DIR, self.config),
                      load_profile(self.mcu), out)
        return out.getvalue()

    def approved(self):
        with open(self.golden_path) as f:
            return f.read()


EXAMPLES = [Example("example", "example.gcode", "printer.cfg", "stm32f446")]


def diff_text(old, new, name):
    return "".join(difflib.unified_diff(
        old.splitlines(True), new.splitlines(True),
        "golden/examples/%s.txt (approved)" % name, "%s (now)" % name, n=1))


def check(examples=EXAMPLES):
    """[(example, unified diff)] for every example whose output changed."""
    changed = []
    for example in examples:
        old = example.approved() if os.path.exists(example.golden_path) else ""
        new = example.render()
        if old != new:
            changed.append((example, diff_text(old, new, example.name)))
    return changed


def update(examples=EXAMPLES):
    """Rewrite the golden files; return the diffs of those that changed."""
    changed = check(examples)
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    for example, _ in changed:
        with open(example.golden_path, "w") as f:
            f.write(example.render())
    return changed
