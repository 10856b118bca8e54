"""klipsim: a deterministic simulator and offline step-generation compiler
for the Klipper 3D-printer stack (see README.md and DESIGN.md)."""

__version__ = "0.1.0"
