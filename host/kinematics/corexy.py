"""CoreXY kinematics: stepper_x moves x+y, stepper_y moves x-y
(docs/Kinematics.md), stepper_z drives z directly."""
from ...chelper import motion
from ..stepper import Rail
from .cartesian import AXES, CartesianFamily


def load(printer_section, config, hw, trapq):
    rails = [Rail(config.section("stepper_" + a), hw) for a in AXES]
    solvers = [motion.corexy_stepper("+"), motion.corexy_stepper("-"),
               motion.cartesian_stepper("z")]
    kin = CartesianFamily(rails, solvers, printer_section, trapq)
    # Either XY stepper moves for either axis: both must stop on either endstop.
    for rail, other in ((rails[0], rails[1]), (rails[1], rails[0])):
        for endstop in rail.endstops():
            endstop.add_stepper(other.stepper)
    return kin
