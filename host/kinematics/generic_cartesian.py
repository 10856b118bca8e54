"""generic_cartesian kinematics (docs/Config_Reference.md "Generic
Cartesian Kinematics"): the printer is described by carriages and by
steppers that move linear combinations of them.

- `[carriage NAME]`: one per axis (`axis: x|y|z`, defaulting to NAME when
  NAME is x, y or z) with the axis's endstop, limits and homing options;
- `[extra_carriage NAME]`: `primary_carriage` plus its own `endstop_pin`;
  it moves with its primary carriage, and a stepper that references it
  joins the primary carriage's axis but stops on the extra endstop, so
  two Z motors can home on their own switches;
- `[stepper NAME]`: a stepper with `carriages: carriage_x+carriage_y`,
  `carriage_x-carriage_y`, `0.5*carriage_x` ...: its position is
  sum(coefficient * axis position) (chelper kin_generic.c).

Objects are created in Klipper's order, which decides oids: carriages
(their endstops), then each stepper in file order; an extra carriage's
endstop is created when the first stepper referencing it is.
"""
import re

from ...chelper import motion
from ...gcode.command import finite_float
from ..dual_carriage import DualCarriageAxes, DualCarriages
from ..stepper import Rail, Stepper, make_endstop
from .cartesian import AXES, CartesianFamily

_TERM_START = re.compile(r"[+-]")


class CarriageRail(Rail):
    """An axis of a [carriage] (or generic [dual_carriage]) section:
    endstop, limits and homing; its steppers come from the [stepper]
    sections that reference it."""

    def __init__(self, section, hw, axis=None):
        self.name = section.name.split()[-1]
        default_axis = axis or (self.name if self.name in AXES else None)
        self.axis = section.getchoice("axis", list(AXES), default_axis)
        self.stepper = None
        self._steppers = []
        self.endstop = make_endstop(section, hw)
        self._endstops = [self.endstop] if self.endstop is not None else []
        self._read_limits(section, True, None)

    def add_stepper(self, stepper, endstop=None):
        """`stepper` moves this axis; it stops on `endstop` (an extra
        carriage's) or else on the carriage's own endstop."""
        if stepper not in self._steppers:
            self._steppers.append(stepper)
        target = endstop or self.endstop
        if target is not None:
            target.add_stepper(stepper)
            if target not in self._endstops:
                self._endstops.append(target)

    def endstops(self):
        return list(self._endstops)

    def steppers(self):
        return list(self._steppers)

    def set_position(self, coord):
        for stepper in self._steppers:
            stepper.set_position(coord)


class ExtraCarriage:
    def __init__(self, section, carriages):
        self.name = section.name.split()[-1]
        primary = section.get("primary_carriage")
        if primary not in carriages:
            raise section.error("primary_carriage = '%s' for '%s' is not a valid choice"
                                % (primary, self.name), "primary_carriage")
        self.rail = carriages[primary]
        self.axis = self.rail.axis
        self.section = section
        section.get("endstop_pin")        # required
        self.endstop = None               # made with the first stepper

    def add_stepper(self, stepper, hw):
        if self.endstop is None:
            self.endstop = make_endstop(self.section, hw)
        self.rail.add_stepper(stepper, self.endstop)


def parse_carriages(text, carriages, error):
    """(coefficients per axis, [carriage]) of a `carriages:` expression
    such as `carriage_x-carriage_y` or `0.5*carriage_x+carriage_z`;
    error(message) makes the exception to raise."""
    coeffs, referenced = [0., 0., 0.], []
    position = 0
    while position < len(text):
        match = _TERM_START.search(text, position + 1)
        end = len(text) if match is None else match.start()
        term = text[position:end].strip()
        parts = term.split("*")
        if len(parts) == 2:
            try:
                coeff = finite_float(parts[0])
            except ValueError:
                raise error("Invalid float '%s'" % parts[0])
        elif len(parts) == 1:
            coeff = -1. if term.startswith("-") else 1.
            parts = [term.lstrip("+-").strip()]
        else:
            raise error("Invalid term '%s' in '%s'" % (term, text))
        name = parts[-1].strip()
        if name not in carriages:
            raise error("Invalid '%s' carriage referenced in '%s'" % (name, text))
        index = AXES.index(carriages[name].axis)
        if coeffs[index]:
            raise error("Axis '%s' was referenced multiple times by carriages in '%s'"
                        % (AXES[index], text))
        coeffs[index] = coeff
        referenced.append(carriages[name])
        position = end
    return coeffs, referenced


def independent_axes(coefficient_rows):
    """True when the steppers' coefficients let every axis move on its
    own: det(M^T M) of the n x 3 matrix M is not ~0 (Klipper's check)."""
    mtm = [[sum(row[i] * row[j] for row in coefficient_rows) for j in range(3)]
           for i in range(3)]
    det = (mtm[0][0] * (mtm[1][1] * mtm[2][2] - mtm[1][2] * mtm[2][1])
           - mtm[0][1] * (mtm[1][0] * mtm[2][2] - mtm[1][2] * mtm[2][0])
           + mtm[0][2] * (mtm[1][0] * mtm[2][1] - mtm[1][1] * mtm[2][0]))
    return abs(det) >= 0.00001


NOT_INDEPENDENT = ("Verify configured stepper(s) and their 'carriages' specifications,"
                   " the current configuration does not allow independent movements"
                   " of all printer axes.")


class GenericCartesian(DualCarriageAxes, CartesianFamily):
    """Axis limits and homing as cartesian (one carriage per axis, or a
    PRIMARY/COPY/MIRROR pair with a [dual_carriage NAME]); the steppers
    are the [stepper] sections."""

    def __init__(self, printer_section, config, hw, trapq):
        rails = self._load_carriages(config, hw)
        duals = rails.pop("duals")
        self.carriages = dict(rails["names"])
        self.kin_steppers = self._load_steppers(config, hw, rails, trapq)
        if not duals and not independent_axes([s.carriages[0] for s in self.kin_steppers]):
            raise printer_section.error(NOT_INDEPENDENT, "kinematics")
        super().__init__([rails[a] for a in AXES], [], printer_section, trapq)
        if duals:
            self.dc = DualCarriages([(rails[d.axis], d, AXES.index(d.axis), safe)
                                     for d, safe in duals])

    @staticmethod
    def _load_carriages(config, hw):
        by_axis, by_name = {}, {}
        for section in config.sections("carriage "):
            rail = CarriageRail(section, hw)
            if rail.axis in by_axis:
                raise section.error("Axis '%s' is set for multiple primary carriages (%s, %s)"
                                    % (rail.axis, by_axis[rail.axis].name, rail.name))
            by_axis[rail.axis] = by_name[rail.name] = rail
        for axis in AXES:
            if axis not in by_axis:
                raise config.section("printer").error(
                    "No carriage defined for axis '%s'" % axis, "kinematics")
        duals = []
        for section in config.sections("dual_carriage "):
            primary = section.get("primary_carriage")
            if primary not in by_name:
                raise section.error("primary_carriage = '%s' for '%s' is not a valid choice"
                                    % (primary, section.name.split()[-1]), "primary_carriage")
            if by_name[primary].axis not in "xy":
                raise section.error("Invalid axis '%s' for dual_carriage '%s'"
                                    % (by_name[primary].axis, section.name.split()[-1]))
            dual = CarriageRail(section, hw, axis=by_name[primary].axis)
            duals.append((dual, section.getfloat("safe_distance", None, minval=0.)))
            by_name[dual.name] = dual
        for section in config.sections("extra_carriage "):
            extra = ExtraCarriage(section, by_name)
            by_name[extra.name] = extra
        by_axis["names"] = by_name
        by_axis["duals"] = duals
        return by_axis

    @staticmethod
    def _load_steppers(config, hw, rails, trapq):
        carriages = rails.pop("names")
        steppers = []
        for section in config.sections("stepper "):
            stepper = Stepper(section, hw)
            coeffs, referenced = parse_carriages(
                section.get("carriages"), carriages,
                lambda message, section=section: section.error(message, "carriages"))
            if not any(coeffs):
                raise section.error("'%s' must provide a valid 'carriages' configuration"
                                    % stepper.name, "carriages")
            stepper.allocate()
            hw.register_stepper(stepper)
            for carriage in referenced:
                if isinstance(carriage, ExtraCarriage):
                    carriage.add_stepper(stepper, hw)
                else:
                    carriage.add_stepper(stepper)
            stepper.set_stepper_kinematics(motion.GenericCartesianStepper(*coeffs))
            stepper.set_trapq(trapq)
            stepper.carriages = (list(coeffs), referenced)
            steppers.append(stepper)
        return steppers

    def steppers(self):
        return list(self.kin_steppers)

    def connect(self, printer):
        super().connect(printer)
        self.printer = printer
        printer.dispatcher.register("SET_STEPPER_CARRIAGES", self.cmd_SET_STEPPER_CARRIAGES,
                                    "Set stepper carriages")

    def cmd_SET_STEPPER_CARRIAGES(self, cmd):
        """New coefficients for a stepper's carriages (the same carriages:
        it may not add or drop one); checked unless DISABLE_CHECKS=1."""
        toolhead = self.printer.toolhead
        toolhead.flush_step_generation()
        name = cmd.get("STEPPER")
        matches = [s for s in self.kin_steppers if name in (s.name, s.name.split()[-1])]
        if len(matches) != 1:
            raise cmd.error("Invalid STEPPER '%s' specified" % (name,))
        stepper = matches[0]
        coeffs, referenced = parse_carriages(cmd.get("CARRIAGES").lower(), self.carriages,
                                             cmd.error)
        if not any(coeffs):
            raise cmd.error("A valid string that references at least one carriage"
                            " must be provided for '%s'" % (stepper.name,))
        if referenced != stepper.carriages[1]:
            raise cmd.error("SET_STEPPER_CARRIAGES cannot add or remove carriages"
                            " that the stepper controls")
        # (with dual carriages the generic kinematics sits in a wrapper)
        getattr(stepper.kinematics, "wrapped", stepper.kinematics).set_coeffs(*coeffs)
        stepper.carriages = (coeffs, referenced)
        stepper.set_position(toolhead.get_position())
        if cmd.get_int("DISABLE_CHECKS", 0) or self.dc is not None:
            return
        if not independent_axes([s.carriages[0] for s in self.kin_steppers]):
            raise cmd.error(NOT_INDEPENDENT)


def load(printer_section, config, hw, trapq):
    return GenericCartesian(printer_section, config, hw, trapq)

