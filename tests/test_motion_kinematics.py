"""Stepper kinematics callbacks against independent Python formulas, and
inverse-kinematics round trips (corexy closed form, delta with scipy)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import least_squares

from klipsim.chelper import motion

coords = st.floats(-150., 150.)


@settings(max_examples=50, deadline=None)
@given(x=coords, y=coords, z=coords)
def test_cartesian_and_corexy_positions(x, y, z):
    for axis, want in (("x", x), ("y", y), ("z", z)):
        assert motion.cartesian_stepper(axis).calc_position_from_coord(x, y, z) == want
    a = motion.corexy_stepper("+").calc_position_from_coord(x, y, z)
    b = motion.corexy_stepper("-").calc_position_from_coord(x, y, z)
    assert a == x + y and b == x - y
    # inverse: x = (a + b) / 2, y = (a - b) / 2
    assert abs((a + b) / 2 - x) < 1e-12 * (1 + abs(x) + abs(y))
    assert abs((a - b) / 2 - y) < 1e-12 * (1 + abs(x) + abs(y))


def test_active_axes_and_scan_windows():
    assert motion.cartesian_stepper("y").active_axes == "y"
    assert motion.corexy_stepper("-").active_axes == "xy"
    assert motion.delta_stepper(333. ** 2, 0., 174.75).active_axes == "xyz"
    assert motion.extruder_stepper().active_axes == "x"
    for sk in (motion.cartesian_stepper("x"), motion.extruder_stepper(),
               motion.delta_stepper(1e5, 0., 100.)):
        assert sk.gen_steps_pre_active == 0. and sk.gen_steps_post_active == 0.


def test_unknown_axis_is_refused():
    with pytest.raises(ValueError):
        motion.cartesian_stepper("q")


def delta_towers(radius):
    """Tower (x, y) at 210, 330 and 90 degrees, as a linear delta."""
    return [(math.cos(math.radians(a)) * radius, math.sin(math.radians(a)) * radius)
            for a in (210., 330., 90.)]


@settings(max_examples=40, deadline=None)
@given(radius=st.floats(100., 250.), arm_extra=st.floats(1.7, 2.5),
       r=st.floats(0., .6), angle=st.floats(0., 2 * math.pi), z=st.floats(0., 300.))
def test_delta_position_formula_and_round_trip(radius, arm_extra, r, angle, z):
    arm = radius * arm_extra
    towers = delta_towers(radius)
    x, y = r * radius * math.cos(angle), r * radius * math.sin(angle)
    carriages = []
    for tx, ty in towers:
        sk = motion.delta_stepper(arm * arm, tx, ty)
        got = sk.calc_position_from_coord(x, y, z)
        want = z + math.sqrt(arm ** 2 - (tx - x) ** 2 - (ty - y) ** 2)
        assert abs(got - want) < 1e-9
        carriages.append(got)

    # forward kinematics solved numerically from the three carriage heights
    def residual(p):
        return [np.hypot(tx - p[0], ty - p[1]) ** 2 + (c - p[2]) ** 2 - arm ** 2
                for (tx, ty), c in zip(towers, carriages)]
    guess = [0., 0., min(carriages) - arm]
    sol = least_squares(residual, guess, xtol=1e-14, ftol=1e-14, gtol=1e-14)
    assert np.allclose(sol.x, [x, y, z], atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(x=coords, y=coords, z=coords)
def test_extruder_position_is_filament_x(x, y, z):
    sk = motion.extruder_stepper()
    assert sk.calc_position_from_coord(x, y, z) == x
    sk.set_position(x, y, z)
    assert sk.commanded_position == x


@settings(max_examples=40, deadline=None)
@given(x=coords, y=coords, z=coords)
def test_corexz_winch_deltesian_polar_radius(x, y, z):
    assert motion.corexz_stepper("+").calc_position_from_coord(x, y, z) == x + z
    assert motion.corexz_stepper("-").calc_position_from_coord(x, y, z) == x - z
    anchor = (0., -2000., -100.)
    got = motion.winch_stepper(*anchor).calc_position_from_coord(x, y, z)
    assert abs(got - math.dist(anchor, (x, y, z))) < 1e-9
    arm, arm_x = 217., 160. * (1 if x < 0 else -1)
    want = z + math.sqrt(arm ** 2 - (x - arm_x) ** 2) if abs(x - arm_x) < arm else None
    if want is not None:
        got = motion.deltesian_stepper(arm * arm, arm_x).calc_position_from_coord(x, y, z)
        assert abs(got - want) < 1e-9
    r = motion.polar_stepper("r").calc_position_from_coord(x, y, z)
    assert abs(r - math.hypot(x, y)) < 1e-9
    assert motion.polar_stepper("a").active_axes == "xy"
    assert motion.corexz_stepper("+").active_axes == "xz"
    assert motion.deltesian_stepper(1., 0.).active_axes == "xz"


@settings(max_examples=40, deadline=None)
@given(angle=st.floats(-math.pi, math.pi), r=st.floats(1., 150.),
       cmd=st.floats(-math.pi, math.pi))
def test_polar_angle_is_continuous_from_commanded(angle, r, cmd):
    sk = motion.polar_stepper("a")
    sk.commanded_position = cmd
    got = sk.calc_position_from_coord(r * math.cos(angle), r * math.sin(angle), 0.)
    # same direction as the point, and within pi of the commanded angle
    assert abs(math.cos(got) - math.cos(angle)) < 1e-9
    assert abs(math.sin(got) - math.sin(angle)) < 1e-9
    assert abs(got - cmd) <= math.pi + 1e-9


@settings(max_examples=60, deadline=None)
@given(tower=st.sampled_from([math.radians(a) for a in (-30., 90., 210.)]),
       x=st.floats(-80., 80.), y=st.floats(-80., 80.), z=st.floats(0., 150.))
def test_rotary_delta_arm_angle_satisfies_both_arms(tower, x, y, z):
    shoulder_r, shoulder_h, upper, lower = 33.9, 412.9, 170., 320.
    sk = motion.rotary_delta_stepper(shoulder_r, shoulder_h, tower, upper, lower)
    phi = sk.calc_position_from_coord(x, y, z)
    # elbow in world coordinates from the angle (independent forward model)
    c, s = math.cos(tower), math.sin(tower)
    out = shoulder_r + upper * math.cos(phi)
    elbow = (out * c, out * s, shoulder_h + upper * math.sin(phi))
    assert abs(math.dist(elbow, (x, y, z)) - lower) < 1e-6
    # and it is the outer of the two solutions: the other one (found by
    # scanning phi) has a smaller outward reach
    def miss(p):
        o = shoulder_r + upper * math.cos(p)
        e = (o * c, o * s, shoulder_h + upper * math.sin(p))
        return math.dist(e, (x, y, z)) - lower
    grid = np.linspace(-math.pi, math.pi, 4001)
    vals = [miss(p) for p in grid]
    roots = [grid[i] for i in range(len(grid) - 1) if vals[i] * vals[i + 1] <= 0]
    assert roots and max(math.cos(p) for p in roots) <= math.cos(phi) + 1e-3
