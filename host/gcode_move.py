"""G-code motion state: absolute/relative modes, G92 offsets, speed and
extrusion factors, and the commands that move or time the toolhead.

Coordinates: `last_position` is the toolhead position the last move went
to (x, y, z, e, in printer coordinates); `base_position` is the G92
origin, so a G-code coordinate v maps to v + base_position in absolute
mode. Feed rates are mm/min in G-code and mm/s in the toolhead; M220
scales them (speed_factor = percent / (60 * 100)), M221 scales extrusion.
(docs/G-Codes.md.)
"""
from ..gcode.command import finite_float
from ..gcode.errors import GCodeError
from .lookahead import MoveError

AXES = "XYZ"
DEFAULT_SPEED = 25.   # mm/s before the first F (gcode_move.py)


class GCodeMove:
    def __init__(self, toolhead, dispatcher, stepper_enable, steppers_of):
        self.toolhead = toolhead
        self.stepper_enable = stepper_enable
        self.steppers_of = steppers_of   # () -> all steppers (for motor off)
        self.dispatcher = dispatcher
        self.absolute_coord = True
        self.absolute_extrude = True
        self.base_position = [0., 0., 0., 0.]
        self.last_position = [0., 0., 0., 0.]
        self.homing_position = [0., 0., 0., 0.]
        self.speed = DEFAULT_SPEED
        self.speed_factor = 1. / 60.
        self.extrude_factor = 1.
        self.move_transform = toolhead   # .move(newpos, speed), .get_position()
        self.saved_states = {}           # SAVE_GCODE_STATE NAME -> state
        self.extra_letters = []          # G-code letters of positions 4..
        toolhead.set_position_listeners.append(self.reset_last_position)
        self._register(dispatcher)

    def _register(self, d):
        for name in ("G0", "G1"):
            d.register(name, self.cmd_G1, "Linear move")
        for name, handler in (("G4", self.cmd_G4), ("G20", self.cmd_G20),
                              ("G21", lambda cmd: None), ("G90", self.cmd_G90),
                              ("G91", self.cmd_G91), ("G92", self.cmd_G92),
                              ("M82", self.cmd_M82), ("M83", self.cmd_M83),
                              ("M114", self.cmd_M114), ("M220", self.cmd_M220),
                              ("M221", self.cmd_M221), ("M400", self.cmd_M400),
                              ("M204", self.cmd_M204), ("M84", self.cmd_M84),
                              ("M18", self.cmd_M84),
                              ("SET_VELOCITY_LIMIT", self.cmd_SET_VELOCITY_LIMIT),
                              ("SAVE_GCODE_STATE", self.cmd_SAVE_GCODE_STATE),
                              ("RESTORE_GCODE_STATE", self.cmd_RESTORE_GCODE_STATE),
                              ("SET_KINEMATIC_POSITION", self.cmd_SET_KINEMATIC_POSITION),
                              ("SET_GCODE_OFFSET", self.cmd_SET_GCODE_OFFSET),
                              ("GET_POSITION", self.cmd_GET_POSITION)):
            d.register(name, handler)

    def reset_last_position(self):
        self.last_position = self.move_transform.get_position()

    def on_activate_extruder(self):
        """A new extruder: its own E position, no extrusion factor."""
        self.reset_last_position()
        self.extrude_factor = 1.
        self.base_position[3] = self.last_position[3]

    def set_move_transform(self, transform, force=False):
        """Route G-code moves through `transform` (an object with
        move(newpos, speed) and get_position(), e.g. [exclude_object]);
        returns the previous one so the transform can pass moves on."""
        if self.move_transform is not self.toolhead and not force:
            raise GCodeError("G-Code move transform already specified")
        previous = self.move_transform
        self.move_transform = transform
        return previous

    # ---- moves -------------------------------------------------------------
    def cmd_G1(self, cmd):
        params = cmd.params
        last, base = self.last_position, self.base_position
        try:
            for index, axis in enumerate(AXES):
                if axis in params:
                    value = finite_float(params[axis])
                    if self.absolute_coord:
                        last[index] = value + base[index]
                    else:
                        last[index] += value
            if self.extra_letters:
                self._parse_extra_axes(params)
            if "E" in params:
                value = finite_float(params["E"]) * self.extrude_factor
                if self.absolute_coord and self.absolute_extrude:
                    last[3] = value + base[3]
                else:
                    last[3] += value
            if "F" in params:
                feed = finite_float(params["F"])
                if feed <= 0.:
                    raise cmd.error("Invalid speed in '%s'" % cmd.text.strip())
                self.speed = feed * self.speed_factor
        except ValueError:
            raise cmd.error("Unable to parse move '%s'" % cmd.text.strip())
        try:     # _move() inlined: one call less per G-code move
            self.move_transform.move(last, self.speed)
        except MoveError as e:
            self.reset_last_position()
            raise cmd.error(str(e))

    def _parse_extra_axes(self, params):
        last, base = self.last_position, self.base_position
        for index, letter in enumerate(self.extra_letters, 4):
            if letter in params:
                value = finite_float(params[letter])
                last[index] = value + base[index] if self.absolute_coord else last[index] + value

    def add_extra_axis(self, axis, position):
        """Register G-code axis `axis.axis_gcode_id` (a manual stepper)
        with the toolhead; its G-code origin is 0."""
        self.toolhead.add_extra_axis(axis, position)
        self.extra_letters.append(axis.axis_gcode_id)
        self.base_position.append(0.)
        self.reset_last_position()

    def remove_extra_axis(self, axis):
        index = self.toolhead.extra_axes.index(axis)
        self.toolhead.remove_extra_axis(axis)
        self.extra_letters.pop(index)
        self.base_position.pop(index + 4)
        self.reset_last_position()

    def _move(self, cmd, position, speed):
        try:
            self.move_transform.move(position, speed)
        except MoveError as e:
            # The position is not taken: go back to where the toolhead is.
            self.reset_last_position()
            raise cmd.error(str(e))

    def cmd_G4(self, cmd):
        delay = cmd.get_float("P", 0., minval=0.) / 1000.
        self.toolhead.dwell(delay)

    def cmd_M400(self, cmd):
        self.toolhead.wait_moves()

    def cmd_G20(self, cmd):
        raise cmd.error("Machine does not support G20 (inches) command")

    def cmd_G90(self, cmd):
        self.absolute_coord = True

    def cmd_G91(self, cmd):
        self.absolute_coord = False

    def cmd_M82(self, cmd):
        self.absolute_extrude = True

    def cmd_M83(self, cmd):
        self.absolute_extrude = False

    def cmd_G92(self, cmd):
        offsets = [cmd.get_float(a, None) for a in "XYZE"]
        if offsets[3] is not None:
            offsets[3] *= self.extrude_factor
        if all(o is None for o in offsets):
            offsets = [0., 0., 0., 0.]
        for index, offset in enumerate(offsets):
            if offset is not None:
                self.base_position[index] = self.last_position[index] - offset

    def gcode_position(self):
        """The position in G-code coordinates (E unscaled by M221)."""
        pos = [self.last_position[i] - self.base_position[i] for i in range(4)]
        pos[3] /= self.extrude_factor
        return pos

    def cmd_M114(self, cmd):
        self.dispatcher.info("X:%.3f Y:%.3f Z:%.3f E:%.3f" % tuple(self.gcode_position()))

    def cmd_M220(self, cmd):
        factor = cmd.get_float("S", 100., above=0.) / (60. * 100.)
        self.speed = self.speed / self.speed_factor * factor
        self.speed_factor = factor

    def cmd_M221(self, cmd):
        new_factor = cmd.get_float("S", 100., above=0.) / 100.
        last_e = self.last_position[3]
        e_value = (last_e - self.base_position[3]) / self.extrude_factor
        self.base_position[3] = last_e - e_value * new_factor
        self.extrude_factor = new_factor

    # ---- limits and positions ------------------------------------------------
    def cmd_M204(self, cmd):
        accel = cmd.get_float("S", None, above=0.)
        if accel is None:
            p = cmd.get_float("P", None, above=0.)
            t = cmd.get_float("T", None, above=0.)
            if p is None or t is None:
                # Klipper only answers with an info line and changes nothing.
                kind = 'Invalid M204 command "%s"' % cmd.text.strip()
                self.dispatcher.warn("%s: %s" % (cmd.location, kind))
                return
            accel = min(p, t)
        self.toolhead.limits.max_accel = accel
        self.toolhead.limits.update()

    def cmd_SET_VELOCITY_LIMIT(self, cmd):
        limits = self.toolhead.limits
        limits.max_velocity = cmd.get_float("VELOCITY", limits.max_velocity, above=0.)
        limits.max_accel = cmd.get_float("ACCEL", limits.max_accel, above=0.)
        limits.square_corner_velocity = cmd.get_float(
            "SQUARE_CORNER_VELOCITY", limits.square_corner_velocity, minval=0.)
        limits.min_cruise_ratio = cmd.get_float(
            "MINIMUM_CRUISE_RATIO", limits.min_cruise_ratio, minval=0., below=1.)
        limits.update()

    def cmd_SET_KINEMATIC_POSITION(self, cmd):
        pos = self.toolhead.get_position()
        newpos = [cmd.get_float(a, pos[i]) for i, a in enumerate(AXES)] + [pos[3]]
        set_homed = cmd.get("SET_HOMED", "XYZ").lower()
        clear_homed = cmd.get("CLEAR_HOMED", "").lower()
        homing_axes = "".join(a for a in "xyz" if a in set_homed and a not in clear_homed)
        self.toolhead.set_position(newpos, homing_axes)
        if clear_homed:
            self.toolhead.kin.clear_homing_state(clear_homed)

    # ---- saved states (docs/G-Codes.md SAVE/RESTORE_GCODE_STATE) ------------
    def cmd_SAVE_GCODE_STATE(self, cmd):
        self.saved_states[cmd.get("NAME", "default")] = {
            "absolute_coord": self.absolute_coord,
            "absolute_extrude": self.absolute_extrude,
            "base_position": list(self.base_position),
            "last_position": list(self.last_position),
            "homing_position": list(self.homing_position),
            "speed": self.speed, "speed_factor": self.speed_factor,
            "extrude_factor": self.extrude_factor,
        }

    def cmd_RESTORE_GCODE_STATE(self, cmd):
        name = cmd.get("NAME", "default")
        state = self.saved_states.get(name)
        if state is None:
            raise cmd.error("Unknown g-code state: %s" % (name,))
        self.absolute_coord = state["absolute_coord"]
        self.absolute_extrude = state["absolute_extrude"]
        self.base_position = list(state["base_position"])
        self.homing_position = list(state["homing_position"])
        self.speed = state["speed"]
        self.speed_factor = state["speed_factor"]
        self.extrude_factor = state["extrude_factor"]
        # The extruder stays where it is: shift the E origin so the G-code
        # E coordinate reads as it did when the state was saved.
        self.base_position[3] += self.last_position[3] - state["last_position"][3]
        if cmd.get_int("MOVE", 0):
            speed = cmd.get_float("MOVE_SPEED", self.speed, above=0.)
            self.last_position[:3] = state["last_position"][:3]
            self._move(cmd, self.last_position, speed)

    # ---- offsets (docs/G-Codes.md SET_GCODE_OFFSET, GET_POSITION) -----------
    def on_home_rails_end(self, axes):
        """After homing, a homed axis's G-code origin is its SET_GCODE_OFFSET
        (Klipper's gcode_move on its home_rails_end event)."""
        self.reset_last_position()
        for axis in axes:
            self.base_position[axis] = self.homing_position[axis]

    def cmd_SET_GCODE_OFFSET(self, cmd):
        """X/Y/Z/E set an offset, X_ADJUST.. add to it; the G-code origin
        moves by the change, and MOVE=1 moves the toolhead by it too."""
        move_delta = [0., 0., 0., 0.]
        for index, axis in enumerate("XYZE"):
            offset = cmd.get_float(axis, None)
            if offset is None:
                offset = cmd.get_float(axis + "_ADJUST", None)
                if offset is None:
                    continue
                offset += self.homing_position[index]
            delta = offset - self.homing_position[index]
            move_delta[index] = delta
            self.base_position[index] += delta
            self.homing_position[index] = offset
        if cmd.get_int("MOVE", 0):
            speed = cmd.get_float("MOVE_SPEED", self.speed, above=0.)
            for index, delta in enumerate(move_delta):
                self.last_position[index] += delta
            self._move(cmd, self.last_position, speed)

    def cmd_GET_POSITION(self, cmd):
        """Klipper's report: MCU step counts, stepper and kinematic
        positions, toolhead, G-code position, base and homing origins.
        (The MCU count is the commanded position in steps, and the
        kinematic position the toolhead's: klipsim keeps no step offsets
        or inverse kinematics; nothing here reaches the MCU.)"""
        toolhead = self.toolhead
        steppers = toolhead.kin.steppers()
        mcu = " ".join("%s:%d" % (s.name, round(s.get_commanded_position() / s.step_dist))
                       for s in steppers)
        stepper = " ".join("%s:%.6f" % (s.name, s.get_commanded_position()) for s in steppers)
        kinematic = " ".join("%s:%.6f" % (a, v) for a, v in zip("XYZ", toolhead.get_position()))
        self.dispatcher.info("mcu: %s\nstepper: %s\nkinematic: %s\ntoolhead: %s\n"
                             "gcode: %s\ngcode base: %s\ngcode homing: %s"
                             % (mcu, stepper, kinematic,
                                _axes_text("XYZE", toolhead.get_position()),
                                _axes_text("XYZE", self.last_position),
                                _axes_text("XYZE", self.base_position),
                                _axes_text("XYZ", self.homing_position)))

    def cmd_M84(self, cmd):
        self.stepper_enable.motors_off(self.toolhead, self.steppers_of())
        self.toolhead.kin.clear_homing_state("xyz")


def _axes_text(axes, values):
    return " ".join("%s:%.6f" % (a, v) for a, v in zip(axes, values))


__all__ = ["GCodeMove", "GCodeError"]
