"""BED_MESH_CALIBRATE: where the probe goes, and how its readings become
a mesh (docs/Bed_Mesh.md "Basic Configuration", "Adaptive Meshes",
"Faulty Regions" restated; docs/Config_Reference.md [bed_mesh]).

Contract: `MeshCalibrate(bed_mesh, section)` reads the grid options of
[bed_mesh]; `points()` gives the probe points in probing order;
`finalize(offsets, positions)` turns the probe's results (toolhead
positions where it triggered, host/probe.py) into a ZMesh;
`cmd_BED_MESH_CALIBRATE` walks the points with the probe-points helper
(host/probe_points.py: lift to horizontal_move_z, go to the point less
the probe's X/Y offsets, probe) and applies and saves the mesh.

The grid (Klipper's rules):
* rectangular: probe_count x/y points from mesh_min to mesh_max; the
  spacing is floored to 0.01 mm (so mesh_max may move in); rows are
  walked zig-zag: even rows towards +X, odd rows towards -X;
* round (mesh_radius, mesh_origin, round_probe_count odd): a square grid
  of spacing floor(2r / (n - 1), 0.01) keeping the points within r;
* the probe points are where the probe goes; the nozzle goes to the point
  minus the probe's X/Y offsets;
* zero_reference_position: inside the grid, the built mesh is shifted so
  its height there is 0; outside, the position is probed after the grid
  and its height is subtracted instead of the probe's z_offset;
  relative_reference_index names a grid point to use the same way;
* ADAPTIVE=1 (rectangular beds): the grid shrinks to the [exclude_object]
  polygons' bounding box plus adaptive_margin (ADAPTIVE_MARGIN), clamped
  to the configured area, with each probe count scaled by its axis' length
  ratio and rounded up (at least 3; 4 when the other axis has more than
  6); an adaptive mesh is not saved as a profile;
* every probed height minus the probe's z_offset is the mesh height.
"""
import math

from ..gcode.command import finite_float
from ..gcode.errors import GCodeError
from .bed_mesh_grid import ALGORITHMS, MeshError, ZMesh
from .probe import find_probe
from .probe_points import ProbePointsHelper

MIN_PROBES = 3   # Klipper: a mesh axis needs at least 3 points


class MeshCalibrate:
    def __init__(self, bed_mesh, section):
        self.bed_mesh = bed_mesh
        self.printer = None
        self.section_name = section.name
        self.zero_ref = section.getfloatlist("zero_reference_position", None, count=2)
        self.rri = section.getint("relative_reference_index", None, minval=0)
        self.adaptive_margin = section.getfloat("adaptive_margin", 0.)
        if section.has_option("scan_overshoot"):   # eddy-probe scans only
            section.getfloat("scan_overshoot", minval=1.)
        self.radius = section.getfloat("mesh_radius", None, above=0.)
        self.origin = (0., 0.)
        self.config = self._read_grid(section)
        self.faulty_regions = self._read_faulty_regions(section)
        self.orig = dict(self.config)
        check_algorithm(self.config, section.error)
        self.grid_points(self.config)   # Klipper checks the spacing at start-up
        # speed / horizontal_move_z: the probe-points walk's options
        self.helper = ProbePointsHelper(bed_mesh.printer, section, self._probed,
                                        default_points=[])
        self.helper.use_xy_offsets(True)
        self.pending = None

    def connect(self, printer):
        self.printer = printer

    # ---- configuration -------------------------------------------------------
    def _read_grid(self, section):
        cfg = {}
        if self.radius is not None:
            self.origin = section.getfloatlist("mesh_origin", (0., 0.), count=2)
            count = section.getint("round_probe_count", 5, minval=3)
            if not count & 1:
                raise section.error("bed_mesh: probe_count must be odd for round beds",
                                    "round_probe_count")
            self.radius = math.floor(self.radius * 10) / 10   # 0.1 mm precision
            cfg.update(x_count=count, y_count=count,
                       mesh_min=(-self.radius, -self.radius),
                       mesh_max=(self.radius, self.radius))
        else:
            x_cnt, y_cnt = config_pair(section, "probe_count", 3, minval=3)
            mesh_min = section.getfloatlist("mesh_min", count=2)
            mesh_max = section.getfloatlist("mesh_max", count=2)
            if mesh_max[0] <= mesh_min[0] or mesh_max[1] <= mesh_min[1]:
                raise section.error("bed_mesh: invalid min/max points", "mesh_max")
            cfg.update(x_count=x_cnt, y_count=y_cnt, mesh_min=mesh_min, mesh_max=mesh_max)
        pps = config_pair(section, "mesh_pps", 2, minval=0)
        cfg.update(mesh_x_pps=pps[0], mesh_y_pps=pps[1],
                   algo=section.get("algorithm", "lagrange").strip().lower(),
                   tension=section.getfloat("bicubic_tension", .2, minval=0., maxval=2.))
        return cfg

    @staticmethod
    def _read_faulty_regions(section):
        regions = []
        for i in range(1, 100):
            start = section.getfloatlist("faulty_region_%d_min" % i, None, count=2)
            if start is None:
                break
            end = section.getfloatlist("faulty_region_%d_max" % i, count=2)
            regions.append(([min(s, e) for s, e in zip(start, end)],
                            [max(s, e) for s, e in zip(start, end)]))
        return regions

    # ---- points --------------------------------------------------------------
    def grid_points(self, cfg):
        """Probe points of the grid `cfg`, in probing (zig-zag) order."""
        x_cnt, y_cnt = cfg["x_count"], cfg["y_count"]
        (min_x, min_y), (max_x, max_y) = cfg["mesh_min"], cfg["mesh_max"]
        x_dist = math.floor((max_x - min_x) / (x_cnt - 1) * 100) / 100
        y_dist = math.floor((max_y - min_y) / (y_cnt - 1) * 100) / 100
        if x_dist < 1. or y_dist < 1.:
            raise GCodeError("bed_mesh: min/max points too close together")
        if self.radius is not None:
            y_dist = x_dist
            min_x = min_y = -(x_cnt // 2) * x_dist
        max_x = min_x + x_dist * (x_cnt - 1)
        points = []
        pos_y = min_y
        for row in range(y_cnt):
            for j in range(x_cnt):
                pos_x = min_x + j * x_dist if not row % 2 else max_x - j * x_dist
                if self.radius is None:
                    points.append((pos_x, pos_y))
                elif math.sqrt(pos_x * pos_x + pos_y * pos_y) <= self.radius:
                    points.append((self.origin[0] + pos_x, self.origin[1] + pos_y))
            pos_y += y_dist
        return points

    def print_generated_points(self, out):
        offsets = self._probe_offsets()
        lines = ["bed_mesh: generated points", "Index |  Tool Adjusted  |   Probe"]
        for i, (x, y) in enumerate(self.grid_points(self.config)):
            lines.append("  %-4d| %-16s| %s" % (i, "(%.1f, %.1f)" % (x - offsets[0], y - offsets[1]),
                                                "(%.1f, %.1f)" % (x, y)))
        out("\n".join(lines))

    def _probe_offsets(self):
        probe = find_probe(self.printer) if self.printer else None
        return tuple(probe.get_offsets()) if probe is not None else (0., 0., 0.)

    def adapt(self, cmd, cfg):
        """Shrink `cfg` to the [exclude_object] polygons for ADAPTIVE=1;
        False when there is nothing to adapt to (the full mesh is used)."""
        info = self.bed_mesh.dispatcher.info
        exclude = self.printer.objects.get("exclude_object")
        if exclude is None:
            info("Exclude objects not enabled. Using full mesh...")
            return False
        objects = exclude.get_status()["objects"]
        if not objects:
            return False
        margin = cmd.get_float("ADAPTIVE_MARGIN", self.adaptive_margin)
        info("Found %s objects" % (len(objects),))
        xs = [p[0] for obj in objects for p in obj.get("polygon", [])]
        ys = [p[1] for obj in objects for p in obj.get("polygon", [])]
        (cmin_x, cmin_y), (cmax_x, cmax_y) = self.orig["mesh_min"], self.orig["mesh_max"]
        lo = [max(min(xs) - margin, cmin_x), max(min(ys) - margin, cmin_y)]
        hi = [min(max(xs) + margin, cmax_x), min(max(ys) + margin, cmax_y)]
        ratio = ((hi[0] - lo[0]) / (cmax_x - cmin_x), (hi[1] - lo[1]) / (cmax_y - cmin_y))
        counts = [int(math.ceil(cfg["x_count"] * ratio[0])),
                  int(math.ceil(cfg["y_count"] * ratio[1]))]
        # Klipper: 3 points at least, 4 when the other axis has more than 6
        # (bicubic refuses 3 x 7+).
        least = 4 if max(counts) > 6 and min(counts) < 4 else MIN_PROBES
        info("Adapted mesh bounds: (%s,%s)" % (lo, hi))
        cfg.update(mesh_min=tuple(lo), mesh_max=tuple(hi),
                   x_count=max(least, counts[0]), y_count=max(least, counts[1]))
        info("Adapted probe count: (%s,%s)" % (cfg["x_count"], cfg["y_count"]))
        return True

    def update_config(self, cmd):
        """(grid, adapted) for this BED_MESH_CALIBRATE: the configured grid
        with MESH_MIN/MESH_MAX/PROBE_COUNT/ALGORITHM applied, then ADAPTIVE."""
        cfg = dict(self.orig)
        if self.radius is None:
            for key in ("MESH_MIN", "MESH_MAX"):
                if cmd.has(key):
                    cfg[key.lower()] = gcmd_coord(cmd, key)
            if cmd.has("PROBE_COUNT"):
                cfg["x_count"], cfg["y_count"] = gcmd_pair(cmd, "PROBE_COUNT", MIN_PROBES)
        if cmd.has("ALGORITHM"):
            cfg["algo"] = cmd.get("ALGORITHM").strip().lower()
        adapted = (self.radius is None and cmd.get_int("ADAPTIVE", 0)
                   and self.adapt(cmd, cfg))
        check_algorithm(cfg, lambda message: cmd.error(message))
        return cfg, bool(adapted)

    # ---- probing -------------------------------------------------------------
    def cmd_BED_MESH_CALIBRATE(self, cmd):
        profile = cmd.get("PROFILE", "default")
        if not profile.strip():
            raise cmd.error("Value for parameter 'PROFILE' must be specified")
        self.bed_mesh.set_mesh(None)
        self.config, adapted = self.update_config(cmd)
        points = self.grid_points(self.config)
        reference = self._zero_reference(points)
        probe_reference = reference is not None and not within(reference, self.config)
        if probe_reference:
            points = points + [tuple(reference)]
        self.pending = (None if adapted else profile, reference, probe_reference)
        self.helper.update_probe_points(points, MIN_PROBES)
        self.helper.start_probe(cmd)

    def _probed(self, offsets, positions):
        """The probe helper's callback: build, apply and save the mesh."""
        profile, reference, probe_reference = self.pending
        mesh = self.finalize(offsets, positions, reference, probe_reference)
        self.bed_mesh.set_mesh(mesh)
        self.bed_mesh.dispatcher.info("Mesh Bed Leveling Complete")
        if profile is not None:   # Klipper keeps an adaptive mesh out of the profiles
            self.bed_mesh.save_profile(profile)

    def finalize(self, offsets, positions, reference=None, probed_reference=False):
        """ZMesh from probed (x, y, z): rows by Y, each row ordered by X
        (odd rows were probed backwards), z less the probe's z_offset; with
        a zero reference outside the grid its probed height (the last
        result) replaces the z_offset, inside the grid the finished mesh is
        shifted to 0 there."""
        x_off, y_off, z_off = offsets[:3]
        positions = [[round(p[0], 2), round(p[1], 2), p[2]] for p in positions]
        if probed_reference:
            z_off = positions.pop()[2]
        cfg = self.config
        params = {"min_x": min(p[0] for p in positions) + x_off,
                  "max_x": max(p[0] for p in positions) + x_off,
                  "min_y": min(p[1] for p in positions) + y_off,
                  "max_y": max(p[1] for p in positions) + y_off,
                  "x_count": cfg["x_count"], "y_count": cfg["y_count"],
                  "mesh_x_pps": cfg["mesh_x_pps"], "mesh_y_pps": cfg["mesh_y_pps"],
                  "algo": cfg["algo"], "tension": cfg["tension"]}
        rows, row, prev = [], [], positions[0]
        for pos in positions:
            if abs(pos[1] - prev[1]) > .1:
                rows.append(row)
                row = []
            if pos[0] > prev[0]:
                row.append(pos[2] - z_off)
            else:
                row.insert(0, pos[2] - z_off)
            prev = pos
        rows.append(row)
        if len(rows) != cfg["y_count"] or any(len(r) != cfg["x_count"] for r in rows):
            raise GCodeError("bed_mesh: Invalid table length\nProbed Table:\n%s" % (rows,))
        mesh = ZMesh(params)
        try:
            mesh.build(rows)
        except MeshError as e:
            raise GCodeError(str(e)) from None
        if reference is not None and not probed_reference:
            mesh.set_zero_reference(*reference)
        return mesh

    def _zero_reference(self, points):
        """zero_reference_position, else the relative_reference_index'th
        grid point (the older option), else None."""
        if self.zero_ref is not None:
            return tuple(self.zero_ref)
        if self.rri is not None:
            if self.rri >= len(points):
                raise GCodeError("bed_mesh: relative reference index out of range")
            return points[self.rri]
        return None


def within(point, cfg):
    """Inside the grid's configured min/max (Klipper's zero-reference test)."""
    (min_x, min_y), (max_x, max_y) = cfg["mesh_min"], cfg["mesh_max"]
    return max_x >= point[0] >= min_x and max_y >= point[1] >= min_y


def check_algorithm(cfg, error):
    """Klipper's algorithm checks: pps 0 means no interpolation ('direct');
    lagrange takes at most 6 points per axis; bicubic needs 4 (with 3 on
    an axis and at most 6 on the other it falls back to lagrange)."""
    if cfg["algo"] not in ALGORITHMS:
        raise error("bed_mesh: Unknown algorithm <%s>" % (cfg["algo"],))
    most = max(cfg["x_count"], cfg["y_count"])
    least = min(cfg["x_count"], cfg["y_count"])
    if max(cfg["mesh_x_pps"], cfg["mesh_y_pps"]) == 0:
        cfg["algo"] = "direct"
    elif cfg["algo"] == "lagrange" and most > 6:
        raise error("bed_mesh: cannot exceed a probe_count of 6 when using lagrange"
                    " interpolation. Configured Probe Count: %d, %d"
                    % (cfg["x_count"], cfg["y_count"]))
    elif cfg["algo"] == "bicubic" and least < 4:
        if most > 6:
            raise error("bed_mesh: invalid probe_count option when using bicubic"
                        " interpolation.  Combination of 3 points on one axis with more"
                        " than 6 on another is not permitted. Configured Probe Count:"
                        " %d, %d" % (cfg["x_count"], cfg["y_count"]))
        cfg["algo"] = "lagrange"


def config_pair(section, option, default, minval=None):
    """An 'a, b' (or single 'a') integer option."""
    pair = section.getintlist(option, (default, default))
    if len(pair) == 1:
        pair = (pair[0], pair[0])
    elif len(pair) != 2:
        raise section.error("bed_mesh: malformed '%s' value: %s"
                            % (option, section.get(option)), option)
    if minval is not None and min(pair) < minval:
        raise section.error("Option '%s' in section bed_mesh must have a minimum of %s"
                            % (option, minval), option)
    return tuple(pair)


def gcmd_pair(cmd, name, minval):
    try:
        pair = [int(v.strip()) for v in cmd.get(name).split(",")]
    except ValueError:
        raise cmd.error("Unable to parse parameter '%s'" % (name,)) from None
    if len(pair) == 1:
        pair = pair * 2
    elif len(pair) != 2:
        raise cmd.error("Unable to parse parameter '%s'" % (name,))
    if min(pair) < minval:
        raise cmd.error("Parameter '%s' must have a minimum of %d" % (name, minval))
    return tuple(pair)


def gcmd_coord(cmd, name):
    try:
        x, y = [finite_float(v.strip()) for v in cmd.get(name).split(",")]
    except ValueError:
        raise cmd.error("Unable to parse parameter '%s'" % (name,)) from None
    return x, y
