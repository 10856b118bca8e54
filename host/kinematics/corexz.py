"""CoreXZ kinematics: stepper_x moves x+z, stepper_z moves x-z
(docs/Kinematics.md), stepper_y drives y directly."""
from ...chelper import motion
from ..stepper import Rail
from .cartesian import AXES, CartesianFamily, share_endstops


def load(printer_section, config, hw, trapq):
    rails = [Rail(config.section("stepper_" + a), hw) for a in AXES]
    solvers = [motion.corexz_stepper("+"), motion.cartesian_stepper("y"),
               motion.corexz_stepper("-")]
    kin = CartesianFamily(rails, solvers, printer_section, trapq)
    share_endstops(rails[0], rails[2])
    return kin
