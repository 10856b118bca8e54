"""Cable winch kinematics: each stepper (stepper_a, stepper_b, ...) pays
out the cable from its anchor, so its position is the distance from the
anchor to the toolhead (docs/Config_Reference.md [printer] winch). Like
Klipper, no travel limits, and G28 does not move: Klipper's winch
"homing" only declares the toolhead to be at 0, 0, 0."""
from ...chelper import motion
from ..stepper import Rail

STEPPER_NAMES = "abcdefghijklmnopqrstuvwxyz"


class WinchKinematics:
    def __init__(self, config, hw, trapq):
        self.rails = []
        self.anchors = []
        for letter in STEPPER_NAMES:
            name = "stepper_" + letter
            if not config.has_section(name):
                break
            section = config.section(name)
            rail = Rail(section, hw, need_position_minmax=False, default_position_endstop=0.)
            anchor = tuple(section.getfloat("anchor_" + a) for a in "xyz")
            rail.setup_itersolve(motion.winch_stepper(*anchor))
            rail.set_trapq(trapq)
            self.rails.append(rail)
            self.anchors.append(anchor)
        if len(self.rails) < 3:
            raise config.section("printer").error("winch needs at least 3 steppers (stepper_a..)")

    def steppers(self):
        return [rail.stepper for rail in self.rails]

    def set_position(self, newpos, homing_axes=""):
        for rail in self.rails:
            rail.set_position(newpos)

    def clear_homing_state(self, axes):
        pass

    def homed_axes(self):
        return "xyz"

    def home(self, toolhead, axes):
        """G28: no homing move; the homed axes are set to 0 (Klipper's winch
        kinematics marks them homed at position 0)."""
        newpos = toolhead.get_position()
        for axis in axes:
            newpos[axis] = 0.
        toolhead.set_position(newpos, homing_axes="".join("xyz"[a] for a in axes))

    def axis_bounds(self):
        return [0., 0., 0.], [0., 0., 0.]   # Klipper's winch reports no limits

    def check_move(self, move):
        pass   # no boundary checks or speed limits (as Klipper's winch)


def load(printer_section, config, hw, trapq):
    return WinchKinematics(config, hw, trapq)
