"""Klipper's own example configs compile (issue 9): every CONFIG line of
../shared/klipper-configs/printers.test, with the dictionaries of the
DICTIONARY line above it and Klipper's move.gcode (G28, moves, dwells,
extrude-only moves, GET_POSITION), as Klipper's printers.test runs them.

Each must compile with no G-code error and at least one queue_step, and
every warning must name its place (file:line). Configs whose dictionary
is not in ../shared (the two BeagleBone PRU boards) are not listed.
Skips without ../shared/klipper-configs (a bare clone).
"""
import io
import os
import re
import sys

import pytest

from klipsim.chelper.msgproto import load_dictionary
from klipsim.sim.compile.batch import compile_gcode

sys.path.insert(0, os.path.dirname(__file__))
from _shared_corpus import HAVE_KLIPPER_CONFIGS, KLIPPER_CONFIGS_DIR  # noqa: E402

PLACE = re.compile(r"^[^\s:]+:\d+: ")


def printers_test_entries(root):
    """(config file name, {MCU name: dictionary path}) per CONFIG line."""
    entries, dicts = [], {}
    with open(os.path.join(root, "printers.test")) as f:
        for line in f:
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "DICTIONARY":
                dicts = {}
                for spec in words[1:]:
                    name, _, path = spec.rpartition("=")
                    dicts[name or "mcu"] = os.path.join(root, "dicts", path)
            elif words[0] == "CONFIG":
                if all(os.path.exists(p) for p in dicts.values()):
                    entries.append((os.path.basename(words[1]), dict(dicts)))
    return entries


ENTRIES = printers_test_entries(KLIPPER_CONFIGS_DIR) if HAVE_KLIPPER_CONFIGS else []


def test_printers_test_lists_every_config_with_a_dictionary():
    if not HAVE_KLIPPER_CONFIGS:
        pytest.skip("needs ../shared/klipper-configs beside the checkout")
    assert len(ENTRIES) == 201   # printers.test's 203 less the two PRU boards


@pytest.mark.parametrize("config_name,dicts", ENTRIES, ids=[e[0] for e in ENTRIES])
def test_klipper_example_config_compiles(config_name, dicts, tmp_path):
    config = os.path.join(KLIPPER_CONFIGS_DIR, "config", config_name)
    gcode = os.path.join(KLIPPER_CONFIGS_DIR, "move.gcode")
    others = {name: (load_dictionary(path), io.StringIO())
              for name, path in dicts.items() if name != "mcu"}
    messages = []
    result = compile_gcode(gcode, config, load_dictionary(dicts["mcu"]), io.StringIO(),
                           warn=messages.append, others=others)
    assert result.errors == 0, messages[:5]
    assert result.counts.get("queue_step", 0) > 0
    unplaced = [m for m in messages if not PLACE.match(m)]
    assert not unplaced, unplaced[:5]
