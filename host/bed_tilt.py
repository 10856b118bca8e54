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

BED_TILT_CALIBRATE (with `points`): probes the points (probe_points.py),
fits z = x*x_adjust + y*y_adjust + z_adjust to the results by Klipper's
coordinate descent (z_tilt.py), starting from the current adjustments and
the probe's z_offset, and applies the fit (the constant less the probe's
z_offset and its X/Y offsets times the slopes).  In batch mode every point
reads the same height, so the tilt comes out (nearly) level.
"""
from ..gcode.errors import GCodeError
from .configfile import ConfigError
from .probe_points import ProbePointsHelper
from .z_tilt import coordinate_descent


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
        self.dispatcher = printer.dispatcher
        if section.get("points", None) is not None:
            self.helper = ProbePointsHelper(printer, section, self.probe_finalize)
            self.helper.minimum_points(3)
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
        self.helper.start_probe(cmd)

    def probe_finalize(self, offsets, positions):
        z_offset = offsets[2]

        def error(params):
            return sum((z - x * params["x_adjust"] - y * params["y_adjust"]
                        - params["z_adjust"]) ** 2 for x, y, z in positions)
        fit = coordinate_descent(("x_adjust", "y_adjust", "z_adjust"),
                                 {"x_adjust": self.x_adjust, "y_adjust": self.y_adjust,
                                  "z_adjust": z_offset}, error)
        x_adjust, y_adjust = fit["x_adjust"], fit["y_adjust"]
        z_adjust = (fit["z_adjust"] - z_offset - x_adjust * offsets[0]
                    - y_adjust * offsets[1])
        self.update_adjust(x_adjust, y_adjust, z_adjust)
        self.dispatcher.info("x_adjust: %.6f y_adjust: %.6f z_adjust: %.6f\n"
                             "The above parameters have been applied to the current\n"
                             "session. The SAVE_CONFIG command will update the printer\n"
                             "config file and restart the printer."
                             % (x_adjust, y_adjust, z_adjust))


def load(printer, section):
    return BedTilt(printer, section)
