"""G2/G3 planning: points on the circle, exact end point, helix, segment
length, E split, planes, and Klipper's rejections."""
import math

import pytest
from hypothesis import assume, given, settings, strategies as st

from klipsim.gcode import GCodeError, parse_line
from klipsim.gcode.arcs import (PLANE_XY, PLANE_XZ, PLANE_YZ, arc_moves,
                                plan_arc)

coord = st.floats(-100, 100, allow_nan=False)
offset_part = st.floats(-50, 50, allow_nan=False).filter(lambda v: abs(v) > 0.5)
resolution = st.sampled_from([0.1, 0.5, 1.0, 2.0])


def swept(start, end, center, clockwise):
    """Angle from start to end around center, in the arc's direction
    (independent closed form: difference of polar angles)."""
    a0 = math.atan2(start[1] - center[1], start[0] - center[0])
    a1 = math.atan2(end[1] - center[1], end[0] - center[0])
    d = (a1 - a0) % (2 * math.pi)
    if clockwise:
        d -= 2 * math.pi
    if abs(d) < 1e-12:
        d = -2 * math.pi if clockwise else 2 * math.pi
    return d


@settings(max_examples=60, deadline=None)
@given(coord, coord, offset_part, offset_part, st.floats(0.05, 2 * math.pi - 0.05),
       st.booleans(), resolution, st.floats(-5, 5, allow_nan=False))
def test_points_on_circle_end_exact_helix_linear(x, y, i, j, end_angle, cw, res, dz):
    center = (x + i, y + j)
    radius = math.hypot(i, j)
    a0 = math.atan2(y - center[1], x - center[0])
    end = (center[0] + radius * math.cos(a0 + end_angle),
           center[1] + radius * math.sin(a0 + end_angle))
    start = (x, y, 1.0, 0.0)
    target = (end[0], end[1], 1.0 + dz, None)
    moves = plan_arc(start, target, (i, j), cw, PLANE_XY, res)
    # the final point is the target itself, bit for bit
    assert moves[-1][:3] == target[:3]
    sweep = swept(start, end, center, cw)
    n = len(moves)
    # Klipper's segment count: floor(path length / resolution), at least 1
    length = math.hypot(radius * sweep, dz) if dz else abs(radius * sweep)
    assert n == max(1, math.floor(length / res)) or abs(length / res - round(length / res)) < 1e-6
    for k, (px, py, pz, pe) in enumerate(moves[:-1], 1):
        assert math.hypot(px - center[0], py - center[1]) == pytest.approx(radius, abs=1e-9)
        # helix: Z linear in the swept angle
        assert pz == pytest.approx(1.0 + dz * k / n, abs=1e-9)
        assert pe is None
    # chord between successive points is at most the resolution (plus the
    # rounding-down slack of the segment count: < 2 * resolution)
    prev = start
    for point in moves:
        chord = math.dist(prev[:3], point[:3])
        assert chord <= length / n + 1e-9
        assert n == 1 or chord < 2 * res + 1e-9
        prev = point


def test_full_circle_when_end_equals_start():
    moves = plan_arc((10.0, 0.0, 0.0, 0.0), (10.0, 0.0, 0.0, None), (-10.0, 0.0),
                     False, PLANE_XY, 1.0)
    assert len(moves) == math.floor(2 * math.pi * 10.0)
    quarter = moves[len(moves) // 4 - 1]
    assert quarter[1] > 9.0   # counter-clockwise goes up first


def test_clockwise_quarter_goes_the_other_way():
    ccw = plan_arc((10.0, 0.0, 0.0, 0.0), (0.0, 10.0, 0.0, None), (-10.0, 0.0),
                   False, PLANE_XY, 1.0)
    cw = plan_arc((10.0, 0.0, 0.0, 0.0), (0.0, 10.0, 0.0, None), (-10.0, 0.0),
                  True, PLANE_XY, 1.0)
    assert len(ccw) == math.floor(10 * math.pi / 2)
    assert len(cw) == math.floor(10 * 3 * math.pi / 2)
    assert all(p[1] >= -1e-9 for p in ccw) and min(p[1] for p in cw) < -9.0


def test_extrusion_split_absolute_and_relative():
    start = (10.0, 0.0, 0.0, 5.0)
    absolute = plan_arc(start, (-10.0, 0.0, 0.0, 6.5), (-10.0, 0.0), False)
    relative = plan_arc(start, (-10.0, 0.0, 0.0, 1.5), (-10.0, 0.0), False,
                        absolute_extrude=False)
    n = len(absolute)
    assert absolute[-1][3] == pytest.approx(6.5) and absolute[0][3] == pytest.approx(5 + 1.5 / n)
    assert all(m[3] == pytest.approx(1.5 / n) for m in relative)
    assert sum(m[3] for m in relative) == pytest.approx(1.5)


@pytest.mark.parametrize("plane,alpha,beta,helical", [
    (PLANE_XZ, 0, 2, 1), (PLANE_YZ, 1, 2, 0)])
def test_other_planes_keep_points_on_their_circle(plane, alpha, beta, helical):
    start = [0.0, 0.0, 0.0, 0.0]
    start[alpha] = 5.0
    target = [0.0, 0.0, 0.0, None]
    target[beta] = 5.0
    target[helical] = 2.0
    moves = plan_arc(tuple(start), tuple(target), (-5.0, 0.0), False, plane, 0.5)
    for point in moves:
        assert math.hypot(point[alpha], point[beta]) == pytest.approx(5.0)
    assert moves[-1][helical] == 2.0


def run_arc(text, absolute=True, plane=PLANE_XY):
    cmd = parse_line(text, "arc.gcode", 3)
    return arc_moves(cmd, (0.0, 0.0, 0.0, 0.0), absolute, True, plane, 1.0)


def test_arc_command_reading_and_klipper_rejections():
    moves = run_arc("G2 X10 Y0 I5 J0 E1 F3000")
    assert moves[-1]["X"] == 10.0 and all(m["F"] == 3000.0 for m in moves)
    assert moves[-1]["E"] == pytest.approx(1.0)
    # clockwise from (0,0) around (5,0): over the top (angles pi -> 0)
    assert all(m["Y"] >= -1e-9 for m in moves) and max(m["Y"] for m in moves) > 4.9
    with pytest.raises(GCodeError, match=r"^arc.gcode:3: .*relative"):
        run_arc("G2 X10 Y0 I5 J0", absolute=False)
    with pytest.raises(GCodeError, match="R moves"):
        run_arc("G2 X10 Y0 R5")
    with pytest.raises(GCodeError, match="IJ, IK or JK"):
        run_arc("G3 X10 Y0")
    with pytest.raises(GCodeError, match="IJ, IK or JK"):
        run_arc("G3 X10 Z0 I0 J5", plane=PLANE_XZ)


def test_arc_commands_on_a_dispatcher_follow_plane_and_position():
    from klipsim.gcode import Dispatcher, read_lines
    from klipsim.gcode.arcs import ArcCommands
    position = [10.0, 0.0, 0.0, 0.0]
    issued = []

    def move(params, cmd):
        issued.append((params, cmd.lineno))
        for i, axis in enumerate("XYZ"):
            position[i] = params[axis]

    d = Dispatcher()
    ArcCommands(d, 0.5, lambda: (tuple(position), True, True), move)
    d.run_commands(read_lines("G3 X-10 Y0 I-10 J0\nG18\nG2 X10 Z0 I10 K0\n", "a.gcode"))
    assert d.errors == 0
    first = [p for p, line in issued if line == 1]
    second = [p for p, line in issued if line == 3]
    assert len(first) == math.floor(10 * math.pi / 0.5)
    assert all(p["Y"] >= -1e-9 for p in first)        # CCW from +X: through +Y
    assert all(p["Y"] == 0.0 for p in second)         # XZ plane: Y untouched
    assert max(abs(p["Z"]) for p in second) > 9.9
    assert position[:3] == [10.0, 0.0, 0.0]
