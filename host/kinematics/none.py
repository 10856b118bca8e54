"""`kinematics: none` (docs/Config_Reference.md): a printer without
motion axes (e.g. an extruder-only test rig); every XYZ move is accepted
and steps nothing, homing does nothing."""


class NoKinematics:
    def steppers(self):
        return []

    def set_position(self, newpos, homing_axes=""):
        pass

    def clear_homing_state(self, axes):
        pass

    def homed_axes(self):
        return ""

    def check_move(self, move):
        pass

    def axis_bounds(self):
        return [0., 0., 0.], [0., 0., 0.]

    def home(self, toolhead, axes):
        pass


def load(printer_section, config, hw, trapq):
    return NoKinematics()
