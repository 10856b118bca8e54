"""[safe_z_home] (docs/Config_Reference.md): G28 homes X and Y, moves to
home_xy_position, then homes Z there; with z_hop it first lifts Z (an
unhomed Z is taken as 0 for that lift), and lifts again after homing Z."""


class SafeZHome:
    def __init__(self, section):
        x, y = section.getfloatlist("home_xy_position", count=2)
        self.home_xy = (x, y)
        self.speed = section.getfloat("speed", 50., above=0.)
        self.z_hop = section.getfloat("z_hop", 0.)
        self.z_hop_speed = section.getfloat("z_hop_speed", 15., above=0.)
        self.move_to_previous = section.getboolean("move_to_previous", False)
        self.y_before_x = section.getboolean("home_y_before_x", False)

    def connect(self, printer):
        self.printer = printer
        self.normal_g28 = printer.dispatcher.unregister("G28")
        printer.dispatcher.register("G28", self.cmd_G28, "Home axes (safe_z_home)")

    def _move(self, coord, speed):
        # manual_move: the G-code position follows (a later G1 Z.. starts
        # from the lifted Z, as in Klipper).
        self.printer.toolhead.manual_move(coord, speed)

    def _home(self, cmd, axes):
        from ..gcode.command import make_command
        self.normal_g28(make_command("G28", {a: "0" for a in axes}, "G28 " + " ".join(axes),
                                     cmd.source, cmd.lineno))

    def cmd_G28(self, cmd):
        toolhead = self.printer.toolhead
        kin = toolhead.kin
        if self.z_hop:
            pos = toolhead.get_position()
            if "z" not in kin.homed_axes():
                pos[2] = 0.
                toolhead.set_position(pos, homing_axes="z")
                self._move([None, None, self.z_hop], self.z_hop_speed)
                kin.clear_homing_state("z")
            elif pos[2] < self.z_hop:
                self._move([None, None, self.z_hop], self.z_hop_speed)
        need = [cmd.get(a, None) is not None for a in "XYZ"]
        if not any(need):
            need = [True, True, True]
        xy = [a for a, n in zip("XY", need[:2]) if n]
        if self.y_before_x:
            xy.reverse()
        for axis in xy:
            self._home(cmd, [axis])
        if need[2]:
            homed = kin.homed_axes()
            if "x" not in homed or "y" not in homed:
                raise cmd.error("Must home X and Y axes first")
            previous = toolhead.get_position()
            self._move(list(self.home_xy), self.speed)
            self._home(cmd, ["Z"])
            if self.z_hop and toolhead.get_position()[2] < self.z_hop:
                self._move([None, None, self.z_hop], self.z_hop_speed)
            if self.move_to_previous:
                self._move(previous[:2], self.speed)


def load(printer, section):
    return SafeZHome(section)
