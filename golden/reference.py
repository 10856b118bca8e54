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
        return os.path.join(REFERENCE_DIR, self.meta["dictionary"])


def cases(reference_dir=REFERENCE_DIR):
    """All reference cases, sorted by name."""
    names = sorted(n for n in os.listdir(reference_dir)
                   if os.path.exists(os.path.join(reference_dir, n, "meta.json")))
    return [ReferenceCase(n, os.path.join(reference_dir, n)) for n in names]


def case(name, reference_dir=REFERENCE_DIR):
    folder = os.path.join(reference_dir, name)
    if not os.path.exists(os.path.join(folder, "meta.json")):
        raise KeyError("no reference case %r in %s" % (name, reference_dir))
    return ReferenceCase(name, folder)
