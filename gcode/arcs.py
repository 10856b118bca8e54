"""G2/G3 arcs to straight segments, the way Klipper's [gcode_arcs] does it.

Contract:
- `plan_arc(start_pos, target, offset, clockwise, plane, resolution,
  absolute_extrude=True) -> list of (x, y, z, e)`: pure geometry in G-code
  coordinates.  start_pos is the current (x, y, z, e); target is
  (x, y, z, e_param) where e_param is the G2/G3 `E` value or None; offset
  is the (I, J) / (I, K) / (J, K) pair of the plane.  Each returned point
  is the X/Y/Z/E of one G1 to issue; e is None when the G1 has no E.  The
  last point's x/y/z is the target exactly.
- `arc_moves(cmd, gcode_position, absolute_coordinates, absolute_extrude,
  plane, resolution)` reads a G2/G3 command (Klipper's checks and
  messages) and returns the G1 parameter dicts to run in order.
- `ArcCommands(dispatcher, resolution, gcode_state, move)` registers
  G2/G3/G17/G18/G19 (see the class for the two callbacks).
- Planes: PLANE_XY (G17, I/J, helix on Z), PLANE_XZ (G18, I/K, helix on Y),
  PLANE_YZ (G19, J/K, helix on X).

The published facts this follows (Klipper docs/Config_Reference.md
[gcode_arcs] and its arc planner, which comes from Marlin's plan_arc):
- the centre is start - (-offset); the swept angle is atan2 of the cross
  and dot products of the start and end radius vectors, taken in [0, 2pi)
  for G3 (counter-clockwise) and shifted by -2pi for G2; a zero angle with
  the end equal to the start in the plane is a full circle;
- the path length is hypot(radius * angle, helical travel) (or
  |radius * angle| without helical travel), and the number of segments is
  max(1, floor(length / resolution));
- intermediate point i (1 <= i < n) is the centre plus the start radius
  vector rotated by i * (angle / n), its helical coordinate start +
  i * (travel / n); the final point is the target itself;
- E: the extrusion is split evenly, e_per_move = (E - E_start) / n in
  absolute-extrusion mode (E / n in relative mode); each G1 gets
  e_base + e_per_move, e_base advancing by e_per_move after each segment in
  absolute mode; no E at all when e_per_move is zero;
- the R form is rejected ("does not support R moves") and so is relative
  positioning (G91).
The floating-point operations are done in that order so the segment end
points match Klipper's bit for bit.
"""
import math

PLANE_XY, PLANE_XZ, PLANE_YZ = "G17", "G18", "G19"

# Resource bound (klipsim's, not Klipper's; host/bounds.py lists them all):
# one arc split into more than a million segments is refused.  A full
# circle of 1 m radius at 0.01 mm resolution is 630 000 segments; a
# bigger count (a huge I/J) would allocate gigabytes of segment points.
MAX_ARC_SEGMENTS = 1000000

# plane -> (alpha axis, beta axis, helical axis, offset letters)
_PLANES = {
    PLANE_XY: (0, 1, 2, "IJ"),
    PLANE_XZ: (0, 2, 1, "IK"),
    PLANE_YZ: (1, 2, 0, "JK"),
}


def swept_angle(start, target, offset, clockwise, alpha, beta):
    """Signed angle of the arc (radians) and its centre (p, q)."""
    r_p = -offset[0]
    r_q = -offset[1]
    center_p = start[alpha] - r_p
    center_q = start[beta] - r_q
    rt_p = target[alpha] - center_p
    rt_q = target[beta] - center_q
    angle = math.atan2(r_p * rt_q - r_q * rt_p, r_p * rt_p + r_q * rt_q)
    if angle < 0.0:
        angle += 2.0 * math.pi
    if clockwise:
        angle -= 2.0 * math.pi
    if angle == 0.0 and start[alpha] == target[alpha] and start[beta] == target[beta]:
        angle = 2.0 * math.pi   # same start and end: a full circle
    return angle, (center_p, center_q)


def segment_count(radius, angle, linear_travel, resolution):
    flat_mm = radius * angle
    if linear_travel:
        length = math.hypot(flat_mm, linear_travel)
    else:
        length = math.fabs(flat_mm)
    return max(1.0, math.floor(length / resolution))


def plan_points(start, target, offset, clockwise, plane, resolution):
    """[(x, y, z)] end points of the segments (last one is the target)."""
    alpha, beta, helical, _ = _PLANES[plane]
    angle, (center_p, center_q) = swept_angle(start, target, offset, clockwise,
                                              alpha, beta)
    linear_travel = target[helical] - start[helical]
    radius = math.hypot(-offset[0], -offset[1])
    segments = segment_count(radius, angle, linear_travel, resolution)
    theta_per_segment = angle / segments
    linear_per_segment = linear_travel / segments
    points = []
    for i in range(1, int(segments)):
        cos_ti = math.cos(i * theta_per_segment)
        sin_ti = math.sin(i * theta_per_segment)
        r_p = -offset[0] * cos_ti + offset[1] * sin_ti
        r_q = -offset[0] * sin_ti - offset[1] * cos_ti
        point = [0.0, 0.0, 0.0]
        point[alpha] = center_p + r_p
        point[beta] = center_q + r_q
        point[helical] = start[helical] + i * linear_per_segment
        points.append(tuple(point))
    points.append((target[0], target[1], target[2]))
    return points


def plan_arc(start_pos, target, offset, clockwise, plane=PLANE_XY,
             resolution=1.0, absolute_extrude=True):
    """[(x, y, z, e)] G1 targets for an arc; e None means 'no E word'."""
    points = plan_points(start_pos, target, offset, clockwise, plane, resolution)
    e_param = target[3] if len(target) > 3 else None
    e_per_move = e_base = 0.0
    if e_param is not None:
        if absolute_extrude:
            e_base = start_pos[3]
        e_per_move = (e_param - e_base) / len(points)
    moves = []
    for x, y, z in points:
        e = None
        if e_per_move:
            e = e_base + e_per_move
            if absolute_extrude:
                e_base += e_per_move
        moves.append((x, y, z, e))
    return moves


def check_segments(cmd, start, target, offset, clockwise, plane, resolution):
    """cmd.error when the arc would need more than MAX_ARC_SEGMENTS."""
    alpha, beta, helical, _ = _PLANES[plane]
    angle, _center = swept_angle(start, target, offset, clockwise, alpha, beta)
    segments = segment_count(math.hypot(offset[0], offset[1]), angle,
                             target[helical] - start[helical], resolution)
    if not segments <= MAX_ARC_SEGMENTS:
        raise cmd.error("Arc needs %.6g segments, more than klipsim's bound of %d"
                        % (segments, MAX_ARC_SEGMENTS))


def arc_moves(cmd, gcode_position, absolute_coordinates, absolute_extrude,
              plane=PLANE_XY, resolution=1.0):
    """G1 parameter dicts (X, Y, Z, optional E and F as floats) for a G2/G3
    command; raises GCodeError (via cmd.error) as Klipper does."""
    if not absolute_coordinates:
        raise cmd.error("G2/G3 does not support relative move mode")
    target = (cmd.get_float("X", gcode_position[0]),
              cmd.get_float("Y", gcode_position[1]),
              cmd.get_float("Z", gcode_position[2]))
    if cmd.get_float("R", None) is not None:
        raise cmd.error("G2/G3 does not support R moves")
    letters = _PLANES[plane][3]
    offset = (cmd.get_float(letters[0], 0.0), cmd.get_float(letters[1], 0.0))
    if not offset[0] and not offset[1]:
        raise cmd.error("G2/G3 requires IJ, IK or JK parameters")
    e_param = cmd.get_float("E", None)
    feed = cmd.get_float("F", None)
    clockwise = cmd.name == "G2"
    check_segments(cmd, gcode_position, target, offset, clockwise, plane, resolution)
    moves = plan_arc(gcode_position, target + (e_param,), offset, clockwise,
                     plane, resolution, absolute_extrude)
    params = []
    for x, y, z, e in moves:
        g1 = {"X": x, "Y": y, "Z": z}
        if e is not None:
            g1["E"] = e
        if feed is not None:
            g1["F"] = feed
        params.append(g1)
    return params


class ArcCommands:
    """G2/G3 and the plane selectors G17/G18/G19 on a Dispatcher.

    gcode_state() -> (gcode_position (x, y, z, e) in G-code coordinates,
    absolute_coordinates, absolute_extrude); move(params, cmd) runs one G1
    with the given parameter dict (floats), e.g. through
    `make_command('G1', params, ...)` and the host's G1 handler."""

    def __init__(self, dispatcher, resolution, gcode_state, move):
        self.resolution = resolution
        self.plane = PLANE_XY
        self._state = gcode_state
        self._move = move
        dispatcher.register("G2", self.cmd_arc, "Clockwise arc move")
        dispatcher.register("G3", self.cmd_arc, "Counter-clockwise arc move")
        for plane in (PLANE_XY, PLANE_XZ, PLANE_YZ):
            dispatcher.register(plane, self._plane_setter(plane), "Select arc plane")

    def _plane_setter(self, plane):
        def select(cmd):
            self.plane = plane
        return select

    def cmd_arc(self, cmd):
        position, absolute_coordinates, absolute_extrude = self._state()
        for params in arc_moves(cmd, position, absolute_coordinates, absolute_extrude,
                                self.plane, self.resolution):
            self._move(params, cmd)
