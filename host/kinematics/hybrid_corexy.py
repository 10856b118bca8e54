"""Hybrid CoreXY kinematics (docs/Config_Reference.md [printer]
hybrid_corexy): stepper_x moves x-y, stepper_y drives y, stepper_z z; the
Y endstop must also stop stepper_x."""
from ...chelper import motion
from ..stepper import Rail
from .cartesian import AXES, CartesianFamily


def load(printer_section, config, hw, trapq):
    rails = [Rail(config.section("stepper_" + a), hw) for a in AXES]
    solvers = [motion.corexy_stepper("-"), motion.cartesian_stepper("y"),
               motion.cartesian_stepper("z")]
    kin = CartesianFamily(rails, solvers, printer_section, trapq)
    for endstop in rails[1].endstops():
        endstop.add_stepper(rails[0].stepper)
    return kin
