"""Probing a list of points and handing the results to a callback
(Klipper's ProbePointsHelper), used by [z_tilt], [quad_gantry_level]
and whoever else probes several points (bed mesh, delta calibration).

Contract: `ProbePointsHelper(printer, section, finalize, default_points=None)`
reads `points` (one "x, y" per line; required unless default points are
given), `horizontal_move_z` (5) and `speed` (50). `start_probe(cmd)`
probes every point with the printer's probe and calls
`finalize(offsets, results)` with the probe's (x, y, z) offsets and one
[x, y, z] toolhead position per point where the probe triggered
(host/probe.py); when it returns
"retry" the points are probed again. `update_probe_points(points, n)` and
`use_xy_offsets(flag)` (points are probe positions: the toolhead goes to
the point minus the probe's x/y offset) are for callers that make their
own points.

The moves, in Klipper's order: lift to horizontal_move_z (the first
lift at `speed`, later ones at the probe's lift_speed), and after the
last point the lift, then the look-ahead is flushed and the callback
runs; before each point a move to it at `speed`, then the probe's
samples there.
"""
from ..gcode.command import finite_float
from ..gcode.errors import GCodeError
from .configfile import ConfigError
from .probe import find_probe


def parse_points(section, option="points"):
    """[(x, y)] from lines 'x, y' of an option."""
    points = []
    for line in section.get(option).split("\n"):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        try:
            x, y = (finite_float(p) for p in parts)
        except ValueError:
            raise section.error("Unable to parse probe points in %s" % (section.name,),
                                option) from None
        points.append((x, y))
    return points


class ProbePointsHelper:
    def __init__(self, printer, section, finalize, default_points=None):
        self.printer = printer
        self.name = section.name
        self.finalize = finalize
        self.points = default_points
        if default_points is None or section.has_option("points"):
            self.points = parse_points(section)
        self.default_horizontal_move_z = section.getfloat("horizontal_move_z", 5.)
        self.speed = section.getfloat("speed", 50., above=0.)
        self.lift_speed = self.speed
        self.horizontal_move_z = self.default_horizontal_move_z
        self.use_offsets = False
        self.probe_offsets = (0., 0., 0.)

    def minimum_points(self, count):
        if len(self.points) < count:
            raise ConfigError("Need at least %d probe points for %s" % (count, self.name))

    def update_probe_points(self, points, min_points):
        self.points = points
        self.minimum_points(min_points)

    def use_xy_offsets(self, use_offsets):
        self.use_offsets = use_offsets

    def get_lift_speed(self):
        return self.lift_speed

    def _move(self, coord, speed):
        self.printer.toolhead.manual_move(coord, speed)

    def _raise_tool(self, is_first):
        self._move([None, None, self.horizontal_move_z],
                   self.speed if is_first else self.lift_speed)

    def _move_next(self, index):
        x, y = self.points[index]
        if self.use_offsets:
            x -= self.probe_offsets[0]
            y -= self.probe_offsets[1]
        self._move([x, y], self.speed)

    def _invoke_finalize(self, results):
        self.printer.toolhead.get_last_move_time()     # flush the look-ahead
        return self.finalize(self.probe_offsets, results) != "retry"

    def start_probe(self, cmd):
        probe = find_probe(self.printer)
        method = cmd.get("METHOD", "automatic").lower()
        self.horizontal_move_z = cmd.get_float("HORIZONTAL_MOVE_Z",
                                               self.default_horizontal_move_z)
        if probe is None or method == "manual":
            raise GCodeError("%s: manual probing (TESTZ/ACCEPT) is not modelled by klipsim"
                             % (self.name,))
        self.lift_speed = probe.get_probe_params(cmd)["lift_speed"]
        self.probe_offsets = probe.get_offsets()
        if self.horizontal_move_z < self.probe_offsets[2]:
            raise GCodeError("horizontal_move_z can't be less than probe's z_offset")
        session = probe.start_probe_session(cmd)
        index = 0
        while True:
            self._raise_tool(index == 0)
            if index >= len(self.points):
                if self._invoke_finalize(session.pull_probed_results()):
                    break
                index = 0
            self._move_next(index)
            session.run_probe(cmd)
            index += 1
        session.end_probe_session()
