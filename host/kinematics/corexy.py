"""CoreXY kinematics: stepper_x moves x+y, stepper_y moves x-y
(docs/Kinematics.md), stepper_z drives z directly."""
from ...chelper import motion
from ..stepper import Rail
from .cartesian import AXES, CartesianFamily, share_endstops


def load(printer_section, config, hw, trapq):
    rails = [Rail(config.section("stepper_" + a), hw) for a in AXES]
    solvers = [motion.corexy_stepper("+"), motion.corexy_stepper("-"),
               motion.cartesian_stepper("z")]
    kin = CartesianFamily(rails, solvers, printer_section, trapq, forward=_forward)
    share_endstops(rails[0], rails[1])
    return kin


def _forward(pos):
    """Inverse of the a = x + y, b = x - y mapping (docs/Kinematics.md)."""
    return [0.5 * (pos[0] + pos[1]), 0.5 * (pos[0] - pos[1]), pos[2]]
