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
