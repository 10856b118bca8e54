"""[skew_correction]: the XY/XZ/YZ skew move transform and its commands
(docs/Skew_Correction.md, docs/G-Codes.md "[skew_correction]").

Contract: `load(printer, section)` reads [skew_correction] and its saved
[skew_correction NAME] profiles (xy_skew, xz_skew, yz_skew); `connect()`
puts the transform in front of whatever transform is there (Klipper
forces it in at start-up, so it composes with [bed_mesh] and
[bed_tilt]: G-code -> skew -> mesh/tilt -> toolhead).  Commands:
SET_SKEW (XY/XZ/YZ=AC,BD,AD lengths, CLEAR=1), SKEW_PROFILE
LOAD/SAVE/REMOVE, GET_CURRENT_SKEW, CALC_MEASURED_SKEW.

The geometry (docs/Skew_Correction.md): a printed square's diagonals AC
and BD and side AD give the skew angle; the factor is
tan(pi/2 - acos((AC^2 - s^2 - AD^2) / (2 s AD))) with
s = sqrt(2 AC^2 + 2 BD^2 - 4 AD^2) / 2.  A G-code position (x, y, z) is
sent as x - y*xy - z*(xz - xy*yz), y - z*yz; the inverse adds y*xy +
z*xz and z*yz back.
"""
import math

from ..gcode.command import finite_float


def skew_factor(ac, bd, ad):
    side = math.sqrt(2 * ac * ac + 2 * bd * bd - 4 * ad * ad) / 2.
    return math.tan(math.pi / 2 - math.acos((ac * ac - side * side - ad * ad)
                                            / (2 * side * ad)))


class SkewCorrection:
    PLANES = ("XY", "XZ", "YZ")

    def __init__(self, printer, section):
        self.printer = printer
        self.dispatcher = printer.dispatcher
        self.factors = {"xy": 0., "xz": 0., "yz": 0.}
        self.profiles = {}
        for profile in printer.config.sections(section.name + " "):
            name = profile.name.split(" ", 1)[1]
            self.profiles[name] = {p: profile.getfloat(p + "_skew") for p in self.factors}
        self.next_transform = None
        self.gcode_move = None
        for name, handler in (("GET_CURRENT_SKEW", self.cmd_GET_CURRENT_SKEW),
                              ("CALC_MEASURED_SKEW", self.cmd_CALC_MEASURED_SKEW),
                              ("SET_SKEW", self.cmd_SET_SKEW),
                              ("SKEW_PROFILE", self.cmd_SKEW_PROFILE)):
            self.dispatcher.register(name, handler)

    def connect(self, printer):
        self.gcode_move = printer.gcode_move
        self.next_transform = printer.gcode_move.set_move_transform(self, force=True)

    # ---- the transform ---------------------------------------------------------
    def skew(self, pos):
        f = self.factors
        return [pos[0] - pos[1] * f["xy"] - pos[2] * (f["xz"] - (f["xy"] * f["yz"])),
                pos[1] - pos[2] * f["yz"]] + list(pos[2:])

    def unskew(self, pos):
        f = self.factors
        return [pos[0] + pos[1] * f["xy"] + pos[2] * f["xz"],
                pos[1] + pos[2] * f["yz"]] + list(pos[2:])

    def get_position(self):
        return self.unskew(self.next_transform.get_position())

    def move(self, newpos, speed):
        self.next_transform.move(self.skew(newpos), speed)

    def _update(self, xy, xz, yz):
        self.factors.update(xy=xy, xz=xz, yz=yz)
        self.gcode_move.reset_last_position()

    # ---- commands ----------------------------------------------------------------
    def cmd_GET_CURRENT_SKEW(self, cmd):
        lines = ["Current Printer Skew:"]
        for plane in self.PLANES:
            value = self.factors[plane.lower()]
            lines.append("%s Skew: %.6f radians, %.2f degrees"
                         % (plane, value, math.degrees(value)))
        self.dispatcher.info("\n".join(lines))

    def cmd_CALC_MEASURED_SKEW(self, cmd):
        factor = skew_factor(cmd.get_float("AC", above=0.), cmd.get_float("BD", above=0.),
                             cmd.get_float("AD", above=0.))
        self.dispatcher.info("Calculated Skew: %.6f radians, %.2f degrees"
                             % (factor, math.degrees(factor)))

    def cmd_SET_SKEW(self, cmd):
        if cmd.get_int("CLEAR", 0):
            self._update(0., 0., 0.)
            return
        for plane in self.PLANES:
            lengths = cmd.get(plane, None)
            if lengths is None:
                continue
            try:
                values = [finite_float(v.strip()) for v in lengths.strip().split(",", 2)]
                if len(values) != 3:
                    raise ValueError(plane)
                factor = skew_factor(*values)
            except (ValueError, ZeroDivisionError):
                raise cmd.error("skew_correction: improperly formatted entry for plane"
                                " [%s]\n%s" % (plane, cmd.text.strip())) from None
            # Klipper sets the factor only; positions are re-read at the
            # next transform update.
            self.factors[plane.lower()] = factor

    def cmd_SKEW_PROFILE(self, cmd):
        name = cmd.get("LOAD", None)
        if name is not None:
            profile = self.profiles.get(name)
            if profile is None:
                self.dispatcher.info("skew_correction: Load failed, unknown profile [%s]"
                                     % (name,))
                return
            self._update(profile["xy"], profile["xz"], profile["yz"])
        elif cmd.get("SAVE", None) is not None:
            name = cmd.get("SAVE")
            self.profiles[name] = dict(self.factors)
            self.dispatcher.info("Skew Correction state has been saved to profile [%s]\n"
                                 "for the current session.  The SAVE_CONFIG command will\n"
                                 "update the printer config file and restart the printer."
                                 % (name,))
        elif cmd.get("REMOVE", None) is not None:
            name = cmd.get("REMOVE")
            if self.profiles.pop(name, None) is None:
                self.dispatcher.info("skew_correction: No profile named [%s] to remove"
                                     % (name,))
            else:
                self.dispatcher.info("Profile [%s] removed from storage for this session.\n"
                                     "The SAVE_CONFIG command will update the printer\n"
                                     "configuration and restart the printer" % (name,))


def load(printer, section):
    """[skew_correction]; a [skew_correction NAME] profile is read by it."""
    if section.name != "skew_correction":
        return None
    printer.config.section(section.name)   # an option-less section is used
    return SkewCorrection(printer, section)
