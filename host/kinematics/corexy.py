"""CoreXY kinematics: stepper_x moves x+y, stepper_y moves x-y
(docs/Kinematics.md), stepper_z drives z directly."""
from ...chelper import motion
from ..stepper import Rail
from .cartesian import AXES, CartesianFamily, share_endstops


def load(printer_section, config, hw, trapq):
    rails = [Rail(config.section("stepper_" + a), hw) for a in AXES]
    solvers = [motion.corexy_stepper("+"), motion.corexy_stepper("-"),
               motion.cartesian_stepper("z")]
    kin = CartesianFamily(rails, solvers, printer_section, trapq)
    share_endstops(rails[0], rails[1])
    kin.to_cartesian = corexy_to_cartesian
    return kin


def corexy_to_cartesian(pos):
    """x = (a + b) / 2, y = (a - b) / 2 (Klipper's corexy calc_position)."""
    return [0.5 * (pos[0] + pos[1]), 0.5 * (pos[0] - pos[1]), pos[2]]
