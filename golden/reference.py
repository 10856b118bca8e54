"""Klipper's own batch-mode outputs, copied from the shared reference set
into golden/klipper/ so the tests run in a clone with nothing beside it.

A case folder holds printer.cfg (and maybe macros.cfg), input.gcode and
klipper.txt (either possibly gzip-compressed, with a .gz suffix) and
meta.json; dicts/ holds the MCU data dictionaries the cases name.
"""
import gzip
import json
import os
from dataclasses import dataclass

REFERENCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "klipper")
# The full reference corpus beside a checkout (../shared/reference, as in
# CI and the developers' trees); absent in a bare clone or an install.
SHARED_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           "..", "..", "shared"))
SHARED_REFERENCE_DIR = os.path.join(SHARED_DIR, "reference")
KLIPPER_CONFIGS_DIR = os.path.join(SHARED_DIR, "klipper-configs")


def find_file(folder, name):
    """Path of `name` in `folder`, or of its .gz form; error if neither."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(os.path.join(folder, name))


def open_text(path):
    """Open a text file that may be gzip-compressed (decided by suffix)."""
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, "r", encoding="utf-8")


@dataclass(frozen=True)
class ReferenceCase:
    name: str
    folder: str

    @property
    def meta(self):
        with open(os.path.join(self.folder, "meta.json")) as f:
            return json.load(f)

    @property
    def config(self):
        return os.path.join(self.folder, "printer.cfg")

    @property
    def gcode(self):
        return find_file(self.folder, "input.gcode")

    @property
    def klipper_output(self):
        return find_file(self.folder, "klipper.txt")

    @property
    def dictionary(self):
        # meta.json names it relative to the corpus root ("dicts/x.dict").
        return os.path.join(os.path.dirname(self.folder), self.meta["dictionary"])


def cases(reference_dir=REFERENCE_DIR):
    """All reference cases, sorted by name."""
    names = sorted(n for n in os.listdir(reference_dir)
                   if os.path.exists(os.path.join(reference_dir, n, "meta.json")))
    return [ReferenceCase(n, os.path.join(reference_dir, n)) for n in names]


def case(name, reference_dir=None):
    """The named case: from `reference_dir`, else the bundled copy, else
    ../shared/reference (which holds cases too big to bundle)."""
    dirs = [reference_dir] if reference_dir else [REFERENCE_DIR, SHARED_REFERENCE_DIR]
    for directory in dirs:
        folder = os.path.join(directory, name)
        if os.path.exists(os.path.join(folder, "meta.json")):
            return ReferenceCase(name, folder)
    raise KeyError("no reference case %r in %s" % (name, " or ".join(dirs)))
