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
from ..homing import home_cartesian_axis
from ..stepper import Rail, Stepper, make_endstop
from .cartesian import AXES, CartesianFamily

_TERM_START = re.compile(r"[+-]")


class CarriageRail(Rail):
    """An axis of a [carriage] section: endstop, limits and homing; its
    steppers come from the [stepper] sections that reference it."""

    def __init__(self, section, hw):
        self.name = section.name.split()[-1]
        default_axis = self.name if self.name in AXES else None
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


def parse_carriages(text, carriages, section):
    """[(coefficient, carriage)] of a `carriages:` expression such as
    `carriage_x-carriage_y` or `0.5*carriage_x+carriage_z`."""
    terms = []
    position = 0
    while position < len(text):
        match = _TERM_START.search(text, position + 1)
        end = len(text) if match is None else match.start()
        term = text[position:end].strip()
        parts = term.split("*")
        if len(parts) == 2:
            try:
                coeff = float(parts[0])
            except ValueError:
                raise section.error("Invalid float '%s'" % parts[0], "carriages")
        elif len(parts) == 1:
            coeff = -1. if term.startswith("-") else 1.
            parts = [term.lstrip("+-").strip()]
        else:
            raise section.error("Invalid term '%s' in '%s'" % (term, text), "carriages")
        name = parts[-1].strip()
        if name not in carriages:
            raise section.error("Invalid '%s' carriage referenced in '%s'" % (name, text),
                                "carriages")
        terms.append((coeff, carriages[name]))
        position = end
    return terms


class GenericCartesian(CartesianFamily):
    """Axis limits and homing as cartesian (one carriage per axis); the
    steppers are the [stepper] sections."""

    def __init__(self, printer_section, config, hw, trapq):
        rails = self._load_carriages(config, hw)
        self.kin_steppers = self._load_steppers(config, hw, rails, trapq)
        super().__init__([rails[a] for a in AXES], [], printer_section, trapq)

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
        for section in config.sections("extra_carriage "):
            extra = ExtraCarriage(section, by_name)
            by_name[extra.name] = extra
        by_axis["names"] = by_name
        return by_axis

    @staticmethod
    def _load_steppers(config, hw, rails, trapq):
        carriages = rails.pop("names")
        steppers = []
        for section in config.sections("stepper "):
            stepper = Stepper(section, hw)
            terms = parse_carriages(section.get("carriages"), carriages, section)
            coeffs = [0., 0., 0.]
            for coeff, carriage in terms:
                index = AXES.index(carriage.axis)
                if coeffs[index]:
                    raise section.error("Axis '%s' was referenced multiple times by carriages"
                                        " in '%s'" % (carriage.axis, section.get("carriages")),
                                        "carriages")
                coeffs[index] = coeff
            stepper.allocate()
            hw.register_stepper(stepper)
            for _coeff, carriage in terms:
                if isinstance(carriage, ExtraCarriage):
                    carriage.add_stepper(stepper, hw)
                else:
                    carriage.add_stepper(stepper)
            stepper.set_stepper_kinematics(motion.GenericCartesianStepper(*coeffs))
            stepper.set_trapq(trapq)
            steppers.append(stepper)
        return steppers

    def steppers(self):
        return list(self.kin_steppers)

    def set_position(self, newpos, homing_axes=""):
        for stepper in self.kin_steppers:
            stepper.set_position(newpos)
        self.axis_limits.note_homed(homing_axes)

    def home(self, toolhead, axes):
        for axis in axes:
            home_cartesian_axis(toolhead, self.rails[axis], axis)


def load(printer_section, config, hw, trapq):
    return GenericCartesian(printer_section, config, hw, trapq)

