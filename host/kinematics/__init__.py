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
    "generic_cartesian": "generic_cartesian",
    "none": "none",
}


def read_speed_limits(printer_section):
    """(max_velocity, max_accel, max_z_velocity, max_z_accel) of [printer];
    the Z limits default to, and may not exceed, the toolhead's."""
    max_velocity = printer_section.getfloat("max_velocity", above=0.)
    max_accel = printer_section.getfloat("max_accel", above=0.)
    max_z_velocity = printer_section.getfloat(
        "max_z_velocity", max_velocity, above=0., maxval=max_velocity)
    max_z_accel = printer_section.getfloat(
        "max_z_accel", max_accel, above=0., maxval=max_accel)
    return max_velocity, max_accel, max_z_velocity, max_z_accel


def load_kinematics(name, printer_section, config, hw, trapq):
    module_name = KINEMATICS.get(name)
    if module_name is None:
        raise printer_section.error(
            "Unknown kinematics '%s' (known: %s)"
            % (name, ", ".join(sorted(KINEMATICS))), "kinematics")
    module = importlib.import_module("." + module_name, __name__)
    return module.load(printer_section, config, hw, trapq)
