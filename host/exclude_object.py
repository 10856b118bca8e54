"""[exclude_object]: labelled objects (EXCLUDE_OBJECT_DEFINE/START/END) and
cancelling them (EXCLUDE_OBJECT NAME=/CURRENT=1/RESET=1), as Klipper's
docs/Exclude_Object.md describes.

Contract: `load_exclude_object(printer, section)` registers the four
commands; `get_status()` gives `objects`, `excluded_objects`,
`current_object` for macros.

How excluded moves are skipped (Klipper's behaviour, restated): the first
time an object is excluded this object puts itself between the G-code
move state and the toolhead (gcode_move.set_move_transform). From then on
every G-code move passes through `move()`:

* inside an excluded object the move is not sent; the toolhead stays at
  the last printed point and an offset (G-code position minus where the
  toolhead really is) is kept per extruder;
* on leaving the excluded object the next moves go out with that offset
  subtracted, so the toolhead travels straight from where it is to where
  the next printed object starts. The XYZ offset is dropped at the first
  move that changes X or Y from the last excluded point (Z alone: at the
  first Z change), and the E offset is corrected by the difference in
  retraction state between the excluded and the printed path at the first
  move that changes E.
* For the first 5 extruding moves after the transform is installed the
  object is not yet treated as excluded (Klipper lets the transform learn
  the extruder state first).
"""
import json

INITIAL_EXTRUSION_MOVES = 5   # exclude_object.py: moves to learn the E state


class ExcludeObject:
    def __init__(self, printer):
        self.printer = printer
        self.dispatcher = printer.dispatcher
        self.gcode_move = None
        self.toolhead = None
        self.next_transform = None       # set while we are installed
        self.objects = []                # definitions, sorted by name
        self.excluded_objects = []       # names, sorted
        self.current_object = None
        self.in_excluded_region = False
        self.last_position = [0.] * 4            # G-code side position
        self.last_position_extruded = [0.] * 4   # last position sent on
        self.last_position_excluded = [0.] * 4   # last position skipped
        self.extrusion_offsets = {}              # extruder name -> [x,y,z,e]
        self.max_position_extruded = 0.
        self.max_position_excluded = 0.
        self.extruder_adj = 0.
        self.initial_extrusion_moves = INITIAL_EXTRUSION_MOVES
        for name, handler in (("EXCLUDE_OBJECT_START", self.cmd_EXCLUDE_OBJECT_START),
                              ("EXCLUDE_OBJECT_END", self.cmd_EXCLUDE_OBJECT_END),
                              ("EXCLUDE_OBJECT", self.cmd_EXCLUDE_OBJECT),
                              ("EXCLUDE_OBJECT_DEFINE", self.cmd_EXCLUDE_OBJECT_DEFINE)):
            self.dispatcher.register(name, handler)

    def connect(self, printer):
        self.gcode_move = printer.gcode_move
        self.toolhead = printer.toolhead

    def get_status(self):
        return {"objects": list(self.objects),
                "excluded_objects": list(self.excluded_objects),
                "current_object": self.current_object}

    # ---- the move transform ------------------------------------------------
    def _install(self):
        if self.next_transform is not None:
            return
        self.next_transform = self.gcode_move.set_move_transform(self, force=True)
        self.extrusion_offsets = {}
        self.max_position_extruded = self.max_position_excluded = 0.
        self.extruder_adj = 0.
        self.initial_extrusion_moves = INITIAL_EXTRUSION_MOVES
        self.last_position = [0.] * 4
        self.get_position()
        self.last_position_extruded[:] = self.last_position
        self.last_position_excluded[:] = self.last_position

    def _uninstall(self):
        if self.next_transform is None:
            return
        self.gcode_move.set_move_transform(self.next_transform, force=True)
        self.next_transform = None
        self.gcode_move.reset_last_position()

    def _offset(self):
        """The G-code-minus-toolhead offset of the active extruder."""
        name = self.toolhead.extruder.name
        return self.extrusion_offsets.setdefault(name, [0.] * 4)

    def get_position(self):
        offset = self._offset()
        position = self.next_transform.get_position()
        self.last_position = [position[i] + offset[i] for i in range(4)]
        return list(self.last_position)

    def _in_excluded_object(self):
        return (self.current_object in self.excluded_objects
                and self.initial_extrusion_moves == 0)

    def move(self, newpos, speed):
        if self._in_excluded_object():
            self.in_excluded_region = True
            self._skip_move(newpos)
            return
        if self.in_excluded_region:
            self.in_excluded_region = False
            # Retraction state differs between the skipped path and the
            # printed one by this much; corrected at the next E change.
            self.extruder_adj = (self.max_position_excluded - self.last_position_excluded[3]
                                 - (self.max_position_extruded - self.last_position_extruded[3]))
        self._send_move(newpos, speed)

    def _send_move(self, newpos, speed):
        offset = self._offset()
        if self.initial_extrusion_moves > 0 and self.last_position[3] != newpos[3]:
            self.initial_extrusion_moves -= 1
        self.last_position[:] = newpos
        self.last_position_extruded[:] = newpos
        self.max_position_extruded = max(self.max_position_extruded, newpos[3])
        excluded = self.last_position_excluded
        if (offset[0] or offset[1]) and (newpos[0] != excluded[0] or newpos[1] != excluded[1]):
            offset[0] = offset[1] = offset[2] = 0.
            offset[3] += self.extruder_adj
            self.extruder_adj = 0.
        if offset[2] and newpos[2] != excluded[2]:
            offset[2] = 0.
        if self.extruder_adj and newpos[3] != excluded[3]:
            offset[3] += self.extruder_adj
            self.extruder_adj = 0.
        self.next_transform.move([newpos[i] - offset[i] for i in range(4)], speed)

    def _skip_move(self, newpos):
        offset = self._offset()
        for i in range(3):
            offset[i] = newpos[i] - self.last_position_extruded[i]
        offset[3] += newpos[3] - self.last_position[3]
        self.last_position[:] = newpos
        self.last_position_excluded[:] = newpos
        self.max_position_excluded = max(self.max_position_excluded, newpos[3])

    # ---- commands ----------------------------------------------------------
    def cmd_EXCLUDE_OBJECT_START(self, cmd):
        name = cmd.get("NAME").upper()
        if not any(obj["name"] == name for obj in self.objects):
            self._add_definition({"name": name})
        self.current_object = name

    def cmd_EXCLUDE_OBJECT_END(self, cmd):
        if self.current_object is None and self.next_transform is not None:
            self.dispatcher.info("EXCLUDE_OBJECT_END called, but no object is currently active")
            return
        name = cmd.get("NAME", None)
        if name is not None and name.upper() != self.current_object:
            self.dispatcher.info("EXCLUDE_OBJECT_END NAME=%s does not match the current"
                                 " object NAME=%s" % (name.upper(), self.current_object))
        self.current_object = None

    def cmd_EXCLUDE_OBJECT(self, cmd):
        reset = cmd.get("RESET", None)
        current = cmd.get("CURRENT", None)
        name = cmd.get("NAME", "").upper()
        if reset:
            if name:
                self._unexclude(name)
            else:
                self.excluded_objects = []
        elif name:
            self._exclude(name)
        elif current:
            if not self.current_object:
                # Klipper answers with an error message but goes on.
                self.dispatcher.warn("%s: There is no current object to cancel"
                                     % (cmd.location,))
                return
            self._exclude(self.current_object)
        else:
            self.dispatcher.info("Excluded objects: %s" % " ".join(self.excluded_objects))

    def cmd_EXCLUDE_OBJECT_DEFINE(self, cmd):
        reset = cmd.get("RESET", None)
        name = cmd.get("NAME", "").upper()
        if reset:
            self.objects, self.excluded_objects = [], []
            self.current_object = None
            self.in_excluded_region = False
            self._uninstall()
        elif name:
            self._add_definition(self._definition(cmd, name))
        elif cmd.get("JSON", None) is not None:
            self.dispatcher.info("Known objects: %s" % json.dumps(self.objects))
        else:
            self.dispatcher.info("Known objects: %s"
                                 % " ".join(obj["name"] for obj in self.objects))

    @staticmethod
    def _definition(cmd, name):
        """An object definition: NAME, optional CENTER=x,y and
        POLYGON=[[x,y],...] (JSON), other parameters kept as text."""
        definition = {"name": name}
        for key, value in cmd.params.items():
            if key == "NAME":
                continue
            if key in ("CENTER", "POLYGON"):
                text = "[%s]" % value if key == "CENTER" else value
                try:
                    definition[key.lower()] = json.loads(text)
                except ValueError:
                    raise cmd.error("EXCLUDE_OBJECT_DEFINE: %s is not a valid list: %s"
                                    % (key, value)) from None
            else:
                definition[key] = value
        return definition

    def _add_definition(self, definition):
        self.objects = sorted(self.objects + [definition], key=lambda o: o["name"])

    def _exclude(self, name):
        self._install()
        self.dispatcher.info("Excluding object %s" % (name,))
        if name not in self.excluded_objects:
            self.excluded_objects = sorted(self.excluded_objects + [name])

    def _unexclude(self, name):
        self.dispatcher.info("Unexcluding object %s" % (name,))
        if name in self.excluded_objects:
            self.excluded_objects = sorted(n for n in self.excluded_objects if n != name)


def load_exclude_object(printer, section):
    printer.config.section(section.name)   # an option-less section is used
    return ExcludeObject(printer)
