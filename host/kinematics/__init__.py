"""Kinematics, one module per kind ([printer] kinematics: NAME).

A kinematics object owns the rails of the printer's axes, gives each
stepper its C position callback, checks moves against the axis limits,
and lowers the speed of moves its axes cannot follow (e.g. Z)."""
import importlib

KINEMATICS = {
    "cartesian": "cartesian",
    "corexy": "corexy",
    "delta": "delta",
    "corexz": "corexz",
    "hybrid_corexy": "hybrid_corexy",
    "hybrid_corexz": "hybrid_corexz",
    "winch": "winch",
    "polar": "polar",
    "deltesian": "deltesian",
    "rotary_delta": "rotary_delta",
}


def load_kinematics(name, printer_section, config, hw, trapq):
    module_name = KINEMATICS.get(name)
    if module_name is None:
        raise printer_section.error(
            "Unknown kinematics '%s' (known: %s)"
            % (name, ", ".join(sorted(KINEMATICS))), "kinematics")
    module = importlib.import_module("." + module_name, __name__)
    return module.load(printer_section, config, hw, trapq)
