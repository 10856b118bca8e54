"""[bed_mesh]: the mesh move transform, its profiles and commands
(docs/Bed_Mesh.md, docs/G-Codes.md "Bed Mesh").

Contract: `load(printer, section)` reads [bed_mesh] and every
[bed_mesh NAME] profile (normally in the SAVE_CONFIG block);
`install_transform()` puts the mesh between the G-code move state and the
toolhead (gcode_move.set_move_transform, as Klipper does while the config
loads: before transforms that force their way in at connect time), so later
transforms ([skew_correction], [exclude_object]) pass their moves through
it.  Commands: BED_MESH_PROFILE LOAD/SAVE/REMOVE, BED_MESH_CLEAR,
BED_MESH_OFFSET, BED_MESH_OUTPUT, BED_MESH_MAP and (bed_mesh_calibrate.py)
BED_MESH_CALIBRATE.  No profile is loaded at start-up: Klipper stopped
loading `default` by itself, configs say BED_MESH_PROFILE LOAD=default.

The transform (Klipper's behaviour, restated):
* move(newpos): with a mesh and a fade factor above 0 the move is split
  (bed_mesh_split.py) and every segment end gets the correction; else the
  move goes on with Z raised by the fade target only.
* fade: factor 1 below fade_start, (fade_end - z) / (fade_end -
  fade_start) up to fade_end, 0 above; fade_end <= fade_start disables
  fading.  The fade target is `fade_target` or, by default, the mesh's
  average height (rounded to 0.01 mm), so above fade_end the nozzle keeps
  that constant offset.
* get_position(): the toolhead position minus the correction in force
  there, the fade factor solved from the toolhead's Z (the G-code Z is
  not known yet).
"""
import json

from ..gcode.command import finite_float
from ..gcode.errors import GCodeError
from .bed_mesh_calibrate import MeshCalibrate
from .bed_mesh_grid import MeshError, ZMesh, constrain
from .bed_mesh_split import MoveSplitter
from .bed_tilt import add_transform

PROFILE_VERSION = 1   # bed_mesh.py PROFILE_VERSION: older profiles are ignored
PROFILE_OPTIONS = (("min_x", "float"), ("max_x", "float"), ("min_y", "float"),
                   ("max_y", "float"), ("x_count", "int"), ("y_count", "int"),
                   ("mesh_x_pps", "int"), ("mesh_y_pps", "int"), ("algo", "str"),
                   ("tension", "float"))
FADE_DISABLE = 0x7FFFFFFF   # Klipper's "never fade" fade_start/fade_end


class BedMesh:
    def __init__(self, printer, section):
        self.printer = printer
        self.dispatcher = printer.dispatcher
        self.name = section.name
        self.where = section.location()
        self.horizontal_move_z = section.getfloat("horizontal_move_z", 5.)
        self.fade_start = section.getfloat("fade_start", 1.)
        self.fade_end = section.getfloat("fade_end", 0.)
        self.fade_dist = self.fade_end - self.fade_start
        if self.fade_dist <= 0.:
            self.fade_start = self.fade_end = FADE_DISABLE
        self.base_fade_target = section.getfloat("fade_target", None)
        self.fade_target = 0.
        self.splitter = MoveSplitter(
            section.getfloat("split_delta_z", .025, minval=0.01),
            section.getfloat("move_check_distance", 5., minval=3.))
        self.calibrate = MeshCalibrate(self, section)
        self.mesh = None
        self.profiles = {}
        self.current_profile = ""
        self.next_transform = None
        self.gcode_move = None
        self.last_position = [0., 0., 0., 0.]
        self._read_profiles(printer.config, section)
        for name, handler in (("BED_MESH_OUTPUT", self.cmd_BED_MESH_OUTPUT),
                              ("BED_MESH_MAP", self.cmd_BED_MESH_MAP),
                              ("BED_MESH_CLEAR", self.cmd_BED_MESH_CLEAR),
                              ("BED_MESH_OFFSET", self.cmd_BED_MESH_OFFSET),
                              ("BED_MESH_PROFILE", self.cmd_BED_MESH_PROFILE),
                              ("BED_MESH_CALIBRATE", self.calibrate.cmd_BED_MESH_CALIBRATE)):
            self.dispatcher.register(name, handler)

    def install_transform(self, printer):
        self.gcode_move = printer.gcode_move
        self.next_transform = add_transform(self, printer, self.where)

    def connect(self, printer):
        self.calibrate.connect(printer)

    # ---- profiles ------------------------------------------------------------
    def _read_profiles(self, config, main):
        for section in config.sections(self.name + " "):
            name = section.name.split(" ", 1)[1]
            version = section.getint("version", 0)
            if version != PROFILE_VERSION:
                # Klipper drops it (and schedules its removal) with a message.
                for option in section.options():
                    section.get(option)
                self.dispatcher.warn("%s: bed_mesh: Profile [%s] not compatible with this"
                                     " version of bed_mesh (version %d, current %d);"
                                     " ignored" % (section.location(), name, version,
                                                   PROFILE_VERSION))
                continue
            params = {}
            for key, kind in PROFILE_OPTIONS:
                getter = {"float": section.getfloat, "int": section.getint,
                          "str": section.get}[kind]
                params[key] = getter(key)
            self.profiles[name] = {"points": parse_points(section),
                                   "mesh_params": params,
                                   "where": section.location()}

    def load_profile(self, name):
        profile = self.profiles.get(name)
        if profile is None:
            raise GCodeError("bed_mesh: Unknown profile [%s]" % (name,))
        mesh = ZMesh(profile["mesh_params"], name)
        try:
            mesh.build(profile["points"])
        except MeshError as e:
            raise GCodeError(str(e)) from None
        self.current_profile = name
        self.set_mesh(mesh)

    def save_profile(self, name):
        if self.mesh is None:
            self.dispatcher.info("Unable to save to profile [%s], the bed has not"
                                 " been probed" % (name,))
            return
        self.profiles[name] = {"points": self.mesh.rounded(self.mesh.probed),
                               "mesh_params": dict(self.mesh.params)}
        self.current_profile = name
        self.dispatcher.info("Bed Mesh state has been saved to profile [%s]\nfor the"
                             " current session.  The SAVE_CONFIG command will\nupdate"
                             " the printer config file and restart the printer." % (name,))

    def remove_profile(self, name):
        if name not in self.profiles:
            self.dispatcher.info("No profile named [%s] to remove" % (name,))
            return
        del self.profiles[name]
        self.dispatcher.info("Profile [%s] removed from storage for this session.\n"
                             "The SAVE_CONFIG command will update the printer\n"
                             "configuration and restart the printer" % (name,))

    # ---- the mesh in force ---------------------------------------------------
    def set_mesh(self, mesh):
        """Make `mesh` (or None) the one applied; Klipper's checks of the
        fade target and of the mesh against the fade distance."""
        self.fade_target = 0.
        if mesh is not None and self.fade_end != FADE_DISABLE:
            self._check_fade(mesh)
        self.mesh = mesh
        if mesh is None:
            self.current_profile = ""
        self.splitter.initialize(mesh, self.fade_target)
        if self.gcode_move is not None:
            self.gcode_move.reset_last_position()

    def _check_fade(self, mesh):
        low, high = mesh.z_range()
        if self.base_fade_target is None:
            target = mesh.z_average()
        else:
            target = self.base_fade_target
            if not low <= target <= high and target != 0.:
                self.mesh = None
                raise GCodeError("bed_mesh: ERROR, fade_target lies outside of mesh z range\n"
                                 "min: %.4f, max: %.4f, fade_target: %.4f"
                                 % (low, high, target))
        if self.fade_dist <= max(abs(low), abs(high)):
            self.mesh = None
            raise GCodeError("bed_mesh:  Mesh extends outside of the fade range, please see"
                             " the fade_start and fade_end options in example-extras.cfg."
                             " fade distance: %.2f mesh min: %.4fmesh max: %.4f"
                             % (self.fade_dist, low, high))
        self.fade_target = target

    def z_factor(self, z):
        if z >= self.fade_end:
            return 0.
        if z >= self.fade_start:
            return (self.fade_end - z) / self.fade_dist
        return 1.

    # ---- the move transform --------------------------------------------------
    def get_position(self):
        pos = self.next_transform.get_position()   # x, y, z, e (+ extra axes)
        x, y, z = pos[:3]
        if self.mesh is None:
            pos[2] = z - self.fade_target
            self.last_position[:] = pos
            return list(pos)
        max_adj = self.mesh.calc_z(x, y)
        z_adj = max_adj - self.fade_target
        factor = 1.
        if min(z, z - max_adj) >= self.fade_end:
            factor = 0.
        elif max(z, z - max_adj) >= self.fade_start:
            # The G-code Z is unknown: solve the fade factor from the
            # toolhead Z (z = z_gcode + factor * z_adj + fade_target).
            factor = constrain((self.fade_end + self.fade_target - z)
                               / (self.fade_dist - z_adj), 0., 1.)
        pos[2] = z - (factor * z_adj + self.fade_target)
        self.last_position[:] = pos
        return list(pos)

    def move(self, newpos, speed):
        factor = self.z_factor(newpos[2])
        if self.mesh is None or not factor:
            pos = list(newpos)
            pos[2] += self.fade_target
            self.next_transform.move(pos, speed)
        else:
            for segment in self.splitter.split(self.last_position, newpos, factor):
                self.next_transform.move(segment, speed)
        self.last_position[:] = newpos

    # ---- commands ------------------------------------------------------------
    def cmd_BED_MESH_CLEAR(self, cmd):
        self.set_mesh(None)

    def cmd_BED_MESH_OFFSET(self, cmd):
        if self.mesh is None:
            self.dispatcher.info("No mesh loaded to offset")
            return
        self.mesh.set_offsets([cmd.get_float("X", None), cmd.get_float("Y", None)])
        self.gcode_move.reset_last_position()

    def cmd_BED_MESH_PROFILE(self, cmd):
        for key, action in (("LOAD", self.load_profile), ("SAVE", self.save_profile),
                            ("REMOVE", self.remove_profile)):
            name = cmd.get(key, None)
            if name is not None:
                if not name.strip():
                    raise cmd.error("Value for parameter '%s' must be specified" % (key,))
                action(name)
                return
        self.dispatcher.info("Invalid syntax '%s'" % (cmd.text.strip(),))

    def cmd_BED_MESH_OUTPUT(self, cmd):
        if cmd.get_int("PGP", 0):
            self.calibrate.print_generated_points(self.dispatcher.info)
        elif self.mesh is None:
            self.dispatcher.info("Bed has not been probed")
        else:
            self.dispatcher.info(describe_mesh(self.mesh, self.horizontal_move_z))

    def cmd_BED_MESH_MAP(self, cmd):
        if self.mesh is None:
            self.dispatcher.info("Bed has not been probed")
            return
        mesh = self.mesh
        self.dispatcher.info("mesh_map_output " + json.dumps({
            "mesh_min": (mesh.x_min, mesh.y_min), "mesh_max": (mesh.x_max, mesh.y_max),
            "z_positions": mesh.rounded(mesh.probed)}))

    def get_status(self):
        status = {"profile_name": "", "mesh_min": (0., 0.), "mesh_max": (0., 0.),
                  "probed_matrix": [[]], "mesh_matrix": [[]],
                  "profiles": {name: {"points": p["points"],
                                      "mesh_params": dict(p["mesh_params"])}
                               for name, p in sorted(self.profiles.items())}}
        mesh = self.mesh
        if mesh is not None:
            status.update(profile_name=self.current_profile,
                          mesh_min=(mesh.x_min, mesh.y_min),
                          mesh_max=(mesh.x_max, mesh.y_max),
                          probed_matrix=mesh.rounded(mesh.probed),
                          mesh_matrix=mesh.rounded(mesh.matrix))
        return status


def parse_points(section):
    """A profile's `points`: one line per Y row, values separated by ','
    (blank lines and empty items skipped, as Klipper's getlists does)."""
    text = section.get("points")
    rows = []
    for line in text.split("\n"):
        values = [v.strip() for v in line.split(",")]
        try:
            row = [finite_float(v) for v in values if v]
        except ValueError:
            raise section.error("Unable to parse option 'points' in section '%s'"
                                % (section.name,), "points") from None
        if row:
            rows.append(row)
    return rows


def describe_mesh(mesh, move_z):
    """BED_MESH_OUTPUT's text (probed heights, then the refined grid from
    the highest Y row down)."""
    lines = ["Mesh Leveling Probed Z positions:"]
    lines += ["".join(" %f" % z for z in row) for row in mesh.probed]
    low, high = mesh.z_range()
    lines += ["Mesh X,Y: %d,%d" % (mesh.x_count, mesh.y_count),
              "Search Height: %d" % (move_z,),
              "Mesh Offsets: X=%.4f, Y=%.4f" % tuple(mesh.offsets),
              "Mesh Average: %.2f" % (mesh.z_average(),),
              "Mesh Range: min=%.4f max=%.4f" % (low, high),
              "Interpolation Algorithm: %s" % (mesh.params["algo"],),
              "Measured points:"]
    for row in reversed(mesh.rounded(mesh.matrix)):
        lines.append("".join("  %f" % z for z in row))
    return "\n".join(lines)


def load(printer, section):
    """[bed_mesh] builds the mesh object; a [bed_mesh NAME] profile section
    is read by it (any order), so it makes no object of its own."""
    if section.name != "bed_mesh":
        return None
    return BedMesh(printer, section)
