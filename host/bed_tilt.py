"""[bed_tilt]: a tilted-plane Z correction as a move transform
(docs/Config_Reference.md [bed_tilt], docs/G-Codes.md BED_TILT_CALIBRATE).

Contract: `load(printer, section)` reads x_adjust, y_adjust, z_adjust
(mm of Z per mm of X, per mm of Y, and a constant); `install_transform()`
puts the transform between the G-code move state and the toolhead
(before the connect handlers, as Klipper does at config load).  A move to
(x, y, z) goes to z + x*x_adjust + y*y_adjust + z_adjust; get_position
takes that back off.  Klipper registers it without force, so a config
with both [bed_tilt] and [bed_mesh] is refused at start-up, as there
("G-Code move transform already specified").

BED_TILT_CALIBRATE (with `points`) probes through the printer's probe;
until the probing helpers are here it answers with an error naming what
is missing; the `points`, `speed` and `horizontal_move_z` options are
read so a valid config is accepted.
"""
from ..gcode.errors import GCodeError
from .configfile import ConfigError


def add_transform(transform, printer, where):
    """Put `transform` after the G-code move state without force (as
    Klipper's [bed_mesh]/[bed_tilt] do): a second such transform is a
    config error naming its section."""
    try:
        return printer.gcode_move.set_move_transform(transform)
    except GCodeError as e:
        raise ConfigError(e.message, where) from None


class BedTilt:
    def __init__(self, printer, section):
        self.printer = printer
        self.x_adjust = section.getfloat("x_adjust", 0.)
        self.y_adjust = section.getfloat("y_adjust", 0.)
        self.z_adjust = section.getfloat("z_adjust", 0.)
        self.where = section.location()
        self.has_points = section.get("points", None) is not None
        if self.has_points:
            printer.dispatcher.warn("%s: [%s] BED_TILT_CALIBRATE is not modelled by"
                                    " klipsim (the tilt set by x/y/z_adjust is)"
                                    % (section.location("points"), section.name))
            section.getfloat("speed", 50., above=0.)
            section.getfloat("horizontal_move_z", 5.)
            printer.dispatcher.register("BED_TILT_CALIBRATE", self.cmd_BED_TILT_CALIBRATE)
        self.next_transform = None
        self.gcode_move = None

    def install_transform(self, printer):
        self.gcode_move = printer.gcode_move
        self.next_transform = add_transform(self, printer, self.where)

    def get_position(self):
        pos = self.next_transform.get_position()
        x, y, z = pos[:3]
        pos[2] = z - x * self.x_adjust - y * self.y_adjust - self.z_adjust
        return pos

    def move(self, newpos, speed):
        pos = list(newpos)
        x, y, z = pos[:3]
        pos[2] = z + x * self.x_adjust + y * self.y_adjust + self.z_adjust
        self.next_transform.move(pos, speed)

    def update_adjust(self, x_adjust, y_adjust, z_adjust):
        self.x_adjust, self.y_adjust, self.z_adjust = x_adjust, y_adjust, z_adjust
        self.gcode_move.reset_last_position()

    def cmd_BED_TILT_CALIBRATE(self, cmd):
        raise cmd.error("BED_TILT_CALIBRATE: probing for [bed_tilt] is not modelled"
                        " by klipsim yet")


def load(printer, section):
    return BedTilt(printer, section)
