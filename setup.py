"""Build hook: the C helpers and the simulated firmware are compiled here,
at install time, by cffi in API mode (out of line). Nothing is compiled at
run time."""
from setuptools import setup

setup(
    cffi_modules=[
        "chelper/build_chelper.py:ffibuilder",
        "firmware/simulator/build_firmware.py:ffibuilder",
    ],
)
