"""Hybrid CoreXZ kinematics (docs/Config_Reference.md [printer]
hybrid_corexz): stepper_x moves x-z, stepper_y drives y, stepper_z z; the
Z endstop must also stop stepper_x."""
from ...chelper import motion
from ..stepper import Rail
from .cartesian import AXES, CartesianFamily


def load(printer_section, config, hw, trapq):
    rails = [Rail(config.section("stepper_" + a), hw) for a in AXES]
    solvers = [motion.corexz_stepper("-"), motion.cartesian_stepper("y"),
               motion.cartesian_stepper("z")]
    kin = CartesianFamily(rails, solvers, printer_section, trapq)
    for endstop in rails[2].endstops():
        endstop.add_stepper(rails[0].stepper)
    return kin
