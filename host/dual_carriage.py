"""[dual_carriage] on cartesian printers (IDEX): a second carriage on the
X (or Y) axis and SET_DUAL_CARRIAGE / SAVE_DUAL_CARRIAGE_STATE /
RESTORE_DUAL_CARRIAGE_STATE (docs/G-Codes.md, docs/Config_Reference.md).

Each carriage's steppers see the axis through a transform
(chelper DualCarriageStepper): position = axis * scale + offset.
PRIMARY follows the toolhead (scale 1), COPY follows it at a fixed
distance (scale 1, offset), MIRROR moves the other way (scale -1),
INACTIVE parks the carriage where it is (scale 0, offset = its position).
Only one carriage per axis is PRIMARY; switching sets the toolhead's axis
position to the new primary carriage's position (so G-code coordinates
follow the carriage).

Travel limits follow Klipper's rules: a PRIMARY carriage keeps its own
range; COPY and MIRROR shrink the toolhead's range so that the other
carriage stays in its range; with safe_distance (default: the smaller
distance between the carriages' position_min and position_max) carriages
moving towards each other keep that far apart (half of the gap each when
both move). Homing homes each carriage in turn, then makes the first
PRIMARY again.
"""
from .kinematics.cartesian import AXES, CartesianFamily
from ..chelper import motion
from .homing import home_cartesian_axis
from .stepper import Rail

INACTIVE, PRIMARY, COPY, MIRROR = "INACTIVE", "PRIMARY", "COPY", "MIRROR"
VALID_MODES = (INACTIVE, PRIMARY, COPY, MIRROR)


class CarriageState:
    """One carriage (a rail) and its transform."""

    def __init__(self, rail, axis, safe_dist, active, wrappers):
        self.rail = rail
        self.axis = axis
        self.safe_dist = safe_dist
        self.other = None            # the carriage sharing the axis
        self.mode = PRIMARY if active else INACTIVE
        self.scale = 1. if active else 0.
        self.offset = 0.
        # One wrapper per stepper, shared by the carriages (of different
        # axes) that stepper moves: each sets its own axis's transform.
        self.wrappers = []
        for stepper in rail.steppers():
            if stepper.name not in wrappers:
                wrappers[stepper.name] = motion.DualCarriageStepper(stepper.kinematics)
                stepper.set_stepper_kinematics(wrappers[stepper.name])
            self.wrappers.append(wrappers[stepper.name])
        self.apply_transform()

    @property
    def name(self):
        return self.rail.name        # stepper_x, dual_carriage

    def is_active(self):
        return self.mode != INACTIVE

    def axis_position(self, position):
        return position[self.axis] * self.scale + self.offset

    def apply_transform(self):
        for wrapper in self.wrappers:
            wrapper.set_transform(AXES[self.axis], self.scale, self.offset)

    def activate(self, mode, position, old_position=None):
        """Follow the toolhead from here, keeping the carriage where it is."""
        old = self.axis_position(old_position or position)
        self.scale = -1. if mode == MIRROR else 1.
        self.offset = old - position[self.axis] * self.scale
        self.apply_transform()
        self.mode = mode

    def inactivate(self, position):
        self.offset = self.axis_position(position)
        self.scale = 0.
        self.apply_transform()
        self.mode = INACTIVE

    def rescale(self, scale, position):
        """Keep the direction, change the speed ratio to the toolhead's."""
        old = self.axis_position(position)
        self.scale = scale if self.scale > 0. else -scale
        self.offset = old - position[self.axis] * self.scale
        self.apply_transform()

    def order_against(self, other):
        """-1 when this carriage always sits below `other` on the axis,
        else 1 (from the homing directions and endstop positions)."""
        mine, theirs = self.rail.homing, other.rail.homing
        if mine.positive_dir != theirs.positive_dir:
            return 1 if mine.positive_dir else -1
        return 1 if mine.position_endstop > theirs.position_endstop else -1


class DualCarriageAxes:
    """Mixin for cartesian-like kinematics with self.rails[0..2] (one per
    axis), self.axis_limits, steppers() and self.dc (DualCarriages or
    None): positions, limits and homing that follow the PRIMARY carriage."""

    dc = None

    def connect(self, printer):
        if self.dc is not None:
            self.dc.attach(printer, self)

    def _dual_axis(self, index):
        return self.dc is not None and index in self.dc.axes

    def set_position(self, newpos, homing_axes=""):
        for stepper in self.steppers():
            stepper.set_position(newpos)
        for axis in homing_axes:
            index = AXES.index(axis)
            rail = self.dc.primary_rail(index) if self._dual_axis(index) else self.rails[index]
            self.axis_limits.limits[index] = rail.get_range()

    def update_limits(self, index, axis_range):
        """New travel limits for an axis, only if it is homed."""
        low, high = self.axis_limits.limits[index]
        if low <= high:
            self.axis_limits.limits[index] = axis_range

    def axis_bounds(self):
        return ([rail.position_min for rail in self.rails[:3]],
                [rail.position_max for rail in self.rails[:3]])

    def home(self, toolhead, axes):
        for axis in axes:
            if self._dual_axis(axis):
                self.dc.home(toolhead, axis)
            else:
                home_cartesian_axis(toolhead, self.rails[axis], axis)


class IdexCartesian(DualCarriageAxes, CartesianFamily):
    """Cartesian kinematics with a dual carriage on X or Y."""

    def __init__(self, rails, solvers, printer_section, trapq, dc_section, hw):
        super().__init__(rails, solvers, printer_section, trapq)
        axis_name = dc_section.getchoice("axis", ["x", "y"])
        axis = AXES.index(axis_name)
        dual = Rail(dc_section, hw)
        dual.setup_itersolve(motion.cartesian_stepper(axis_name))
        dual.set_trapq(trapq)
        self.rails.append(dual)
        safe_dist = dc_section.getfloat("safe_distance", None, minval=0.)
        self.dc = DualCarriages([(rails[axis], dual, axis, safe_dist)])


class DualCarriages:
    """The SET/SAVE/RESTORE_DUAL_CARRIAGE commands and the mode logic."""

    def __init__(self, pairs):
        """pairs: (primary rail, dual rail, axis index, safe_distance or
        None) per dual carriage; wraps their steppers' kinematics now."""
        wrappers = {}
        primaries, duals = [], []
        for primary, dual, axis, safe_dist in pairs:
            if safe_dist is None:
                safe_dist = min(abs(primary.position_min - dual.position_min),
                                abs(primary.position_max - dual.position_max))
            primaries.append(CarriageState(primary, axis, safe_dist, True, wrappers))
            duals.append(CarriageState(dual, axis, safe_dist, False, wrappers))
            primaries[-1].other, duals[-1].other = duals[-1], primaries[-1]
        self.carriages = primaries + duals       # Klipper's order
        self.axes = sorted(set(axis for _p, _d, axis, _s in pairs))
        self.saved_states = {}
        self.printer = self.kin = None

    def attach(self, printer, kin):
        """Register the commands; `kin` has update_limits, homed_axes."""
        self.printer = printer
        self.kin = kin
        printer.objects["dual_carriage"] = self
        d = printer.dispatcher
        d.register("SET_DUAL_CARRIAGE", self.cmd_SET_DUAL_CARRIAGE,
                   "Configure the dual carriages mode")
        d.register("SAVE_DUAL_CARRIAGE_STATE", self.cmd_SAVE_DUAL_CARRIAGE_STATE,
                   "Save dual carriages modes and positions")
        d.register("RESTORE_DUAL_CARRIAGE_STATE", self.cmd_RESTORE_DUAL_CARRIAGE_STATE,
                   "Restore dual carriages modes and positions")

    @property
    def toolhead(self):
        return self.printer.toolhead

    def get_status(self):
        status = {"carriages": {c.name: c.mode for c in self.carriages}}
        if len(self.carriages) == 2:
            status.update(("carriage_%d" % i, c.mode) for i, c in enumerate(self.carriages))
        return status

    def primary_rail(self, axis):
        for carriage in self.carriages:
            if carriage.mode == PRIMARY and carriage.axis == axis:
                return carriage.rail
        return None

    def is_active(self, rail):
        return any(c.is_active() for c in self.carriages if c.rail is rail)

    # ---- switching ------------------------------------------------------------
    def toggle_active(self, target):
        """Make `target` the PRIMARY carriage: park the other, and put the
        toolhead's axis position where `target` is."""
        toolhead = self.toolhead
        toolhead.flush_step_generation()
        pos = toolhead.get_position()
        other = target.other
        if other.is_active():
            other.inactivate(pos)
        if target.mode != PRIMARY:
            newpos = list(pos)
            newpos[target.axis] = target.axis_position(pos)
            target.activate(PRIMARY, newpos, old_position=pos)
            toolhead.set_position(newpos)
        self.kin.update_limits(target.axis, target.rail.get_range())

    def activate_mode(self, carriage, mode):
        self.toolhead.flush_step_generation()
        if mode == INACTIVE:
            carriage.inactivate(self.toolhead.get_position())
        elif mode == PRIMARY:
            self.toggle_active(carriage)
        else:
            carriage.activate(mode, self.toolhead.get_position())
        self.kin.update_limits(carriage.axis, self.kin_range(carriage.axis))

    def home(self, toolhead, axis, home_rail=home_cartesian_axis):
        """Home both carriages of `axis` (`home_rail(toolhead, rail,
        axis)` homes one), then make the first PRIMARY again."""
        first = next(c for c in self.carriages if c.axis == axis)
        second = first.other
        order = [first, second]
        if (first.order_against(second) > 0) != first.rail.homing.positive_dir:
            # Both home the same way and the first homes onto the second:
            # the second goes first.
            order.reverse()
        for carriage in order:
            self.toggle_active(carriage)
            home_rail(toolhead, carriage.rail, axis)
        self.activate_mode(first, PRIMARY)

    # ---- limits ----------------------------------------------------------------
    def kin_range(self, axis):
        """The toolhead's travel range on `axis` in the current modes."""
        pos = self.toolhead.get_position()
        axis_pos = pos[axis]
        low, high = -1e10, 1e10
        for carriage in self.carriages:
            other = carriage.other
            if carriage.axis != axis or not carriage.is_active():
                continue
            here, there = carriage.axis_position(pos), other.axis_position(pos)
            rmin, rmax = carriage.rail.get_range()
            if carriage.mode == PRIMARY:
                low, high = max(low, rmin), min(high, rmax)
            elif carriage.mode == COPY:
                low = max(low, axis_pos + rmin - here)
                high = min(high, axis_pos + rmax - here)
            else:     # MIRROR
                low = max(low, axis_pos + here - rmax)
                high = min(high, axis_pos + here - rmin)
            low, high = self._safe_range(carriage, other, here, there, axis_pos, low, high)
        if low > high:
            return (low, low)       # no motion until another mode is chosen
        return (low, high)

    @staticmethod
    def _safe_range(carriage, other, here, there, axis_pos, low, high):
        """Keep safe_distance between carriages moving towards each other."""
        modes = {carriage.mode, other.mode}
        if not carriage.safe_dist or len(modes) == 1 or modes == {PRIMARY, COPY}:
            return low, high
        order = carriage.order_against(other)
        room = (there - here) + (carriage.safe_dist if order > 0 else -carriage.safe_dist)
        if other.is_active():
            room *= 0.5
        if carriage.mode in (PRIMARY, COPY):
            if order > 0:
                low = max(low, axis_pos + room)
            else:
                high = min(high, axis_pos + room)
        elif order > 0:
            high = min(high, axis_pos - room)
        else:
            low = max(low, axis_pos - room)
        return low, high

    # ---- commands ----------------------------------------------------------------
    def _carriage(self, cmd):
        text = cmd.get("CARRIAGE", None)
        if text is None:
            raise cmd.error("CARRIAGE must be specified")
        for carriage in self.carriages:
            if carriage.name == text:
                return carriage
        index = None
        if len(self.carriages) == 2:
            try:
                index = int(text.strip())
            except ValueError:
                pass
        if index is None:
            raise cmd.error("Invalid CARRIAGE=%s specified" % (text,))
        if index < 0 or index > 1:
            raise cmd.error("Invalid CARRIAGE=%d index" % (index,))
        return self.carriages[index]

    def cmd_SET_DUAL_CARRIAGE(self, cmd):
        carriage = self._carriage(cmd)
        mode = cmd.get("MODE", PRIMARY).upper()
        if mode not in VALID_MODES:
            raise cmd.error("Invalid mode=%s specified" % (mode,))
        axis = AXES[carriage.axis]
        if mode in (COPY, MIRROR):
            if self.primary_rail(carriage.axis) in (None, carriage.rail):
                raise cmd.error("Must activate another carriage as PRIMARY first")
            if axis not in self.kin.homed_axes():
                raise cmd.error("Axis %s must be homed prior to enabling mode=%s"
                                % (axis.upper(), mode))
        if mode == INACTIVE and carriage.is_active() and not carriage.other.is_active():
            raise cmd.error("Cannot deactivate the only active carriage for axis %s"
                            % axis.upper())
        self.activate_mode(carriage, mode)

    def cmd_SAVE_DUAL_CARRIAGE_STATE(self, cmd):
        pos = self.toolhead.get_position()
        self.saved_states[cmd.get("NAME", "default")] = {
            "modes": {c.name: c.mode for c in self.carriages},
            "positions": {c.name: c.axis_position(pos) for c in self.carriages},
            "toolhead_position": list(pos)}

    def cmd_RESTORE_DUAL_CARRIAGE_STATE(self, cmd):
        name = cmd.get("NAME", "default")
        state = self.saved_states.get(name)
        if state is None:
            raise cmd.error("Unknown DUAL_CARRIAGE state: %s" % (name,))
        move_speed = cmd.get_float("MOVE_SPEED", 0., above=0.)
        toolhead = self.toolhead
        toolhead.flush_step_generation()
        move_pos = list(toolhead.get_position())
        if cmd.get_int("MOVE", 1):
            self._move_back(state, move_pos, move_speed)
        for carriage in self.carriages:
            carriage.inactivate(move_pos)
        for axis in self.axes:
            move_pos[axis] = state["toolhead_position"][axis]
        toolhead.set_position(move_pos)
        modes = state["modes"]
        primaries = [c for c in self.carriages if modes[c.name] == PRIMARY]
        for carriage in primaries:
            self.activate_mode(carriage, PRIMARY)
        for carriage in self.carriages:
            if carriage not in primaries:
                self.activate_mode(carriage, modes[carriage.name])

    def _move_back(self, state, move_pos, move_speed):
        """Move every carriage back to its saved place in one move: per
        axis the carriage with the longest way is PRIMARY, the other
        follows in COPY or MIRROR, its speed scaled to arrive together."""
        toolhead = self.toolhead
        positions = state["positions"]
        speed, current = 99999999., []
        for carriage in self.carriages:
            self.toggle_active(carriage)
            speed = min(speed, carriage.rail.homing.speed)
            current.append(toolhead.get_position())
        deltas = [positions[c.name] - current[i][c.axis] for i, c in enumerate(self.carriages)]
        for axis in self.axes:
            indexes = [i for i, c in enumerate(self.carriages) if c.axis == axis]
            lead = max(indexes, key=lambda i: abs(deltas[i]))   # first of equals
            self.toggle_active(self.carriages[lead])
            move_pos[axis] = positions[self.carriages[lead].name]
            for follow in indexes:
                if follow == lead or min(abs(deltas[lead]), abs(deltas[follow])) < 1e-9:
                    continue
                carriage = self.carriages[follow]
                mode = COPY if deltas[lead] * deltas[follow] > 0 else MIRROR
                carriage.activate(mode, current[lead])
                carriage.rescale(abs(deltas[follow] / deltas[lead]), current[lead])
        toolhead.move(move_pos, move_speed or speed)
        toolhead.flush_step_generation()


def load_idex(rails, solvers, printer_section, trapq, config, hw):
    return IdexCartesian(rails, solvers, printer_section, trapq,
                         config.section("dual_carriage"), hw)
