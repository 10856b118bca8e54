"""Where tests find ../shared (Klipper's reference outputs and example
configs), and the skip for a clone without it.

CI runs with ../shared beside the checkout, so these tests run there; a
bare clone skips them with a reason that says what is missing.
"""
import os

import pytest

from klipsim.golden.reference import (KLIPPER_CONFIGS_DIR, SHARED_DIR,
                                      SHARED_REFERENCE_DIR)

HAVE_SHARED_REFERENCE = os.path.isdir(SHARED_REFERENCE_DIR)
HAVE_KLIPPER_CONFIGS = os.path.isfile(os.path.join(KLIPPER_CONFIGS_DIR, "printers.test"))

requires_shared_reference = pytest.mark.skipif(
    not HAVE_SHARED_REFERENCE, reason="needs ../shared/reference beside the checkout")
requires_klipper_configs = pytest.mark.skipif(
    not HAVE_KLIPPER_CONFIGS, reason="needs ../shared/klipper-configs beside the checkout")

__all__ = ["SHARED_DIR", "SHARED_REFERENCE_DIR", "KLIPPER_CONFIGS_DIR",
           "HAVE_SHARED_REFERENCE", "HAVE_KLIPPER_CONFIGS",
           "requires_shared_reference", "requires_klipper_configs"]
