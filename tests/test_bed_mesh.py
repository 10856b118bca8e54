"""[bed_mesh]: the surface (hand-computed interpolation values), the move
transform (every segment end carries the interpolated height, nothing
after BED_MESH_CLEAR, linear fade), profiles from the SAVE_CONFIG block,
and the trident reference figure (docs/Bed_Mesh.md; ../shared/reference
README: loading the mesh adds 1 618 Z steps and 524 queue_step)."""
import math
import os
import re
import sys

import pytest
from hypothesis import given, settings, strategies as st

from klipsim.host.bed_mesh_grid import ZMesh, cardinal_spline, lagrange

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402
from _shared_corpus import requires_shared_reference  # noqa: E402


def params(count, pps, algo, lo=0., hi=None, tension=.2):
    hi = hi if hi is not None else lo + 10. * (count - 1)
    return {"min_x": lo, "max_x": hi, "min_y": lo, "max_y": hi,
            "x_count": count, "y_count": count, "mesh_x_pps": pps,
            "mesh_y_pps": pps, "algo": algo, "tension": tension}


# ---- the surface ------------------------------------------------------------
def test_direct_mesh_is_bilinear_between_probed_points():
    mesh = ZMesh(params(3, 0, "direct"))
    mesh.build([[0., 1., 2.], [2., 3., 4.], [4., 5., 6.]])   # z = x/10 + y/5
    assert mesh.calc_z(0., 0.) == 0.
    assert mesh.calc_z(20., 20.) == 6.
    assert mesh.calc_z(5., 5.) == pytest.approx(1.5)     # (0+1+2+3)/4
    assert mesh.calc_z(15., 10.) == pytest.approx(3.5)
    # Outside the mesh the edge cell does not extrapolate.
    assert mesh.calc_z(-30., -30.) == 0.
    assert mesh.calc_z(99., 99.) == 6.


def test_lagrange_reproduces_a_quadratic():
    # z = (x/10)^2 on 3 points: the parabola through them is exact; the
    # refined points halfway are 0.25 and 2.25 (hand-computed).
    mesh = ZMesh(params(3, 1, "lagrange"))
    mesh.build([[0., 1., 4.]] * 3)
    assert mesh.x_count == 5
    assert mesh.matrix[0] == pytest.approx([0., .25, 1., 2.25, 4.])
    assert mesh.matrix[1] == pytest.approx([0., .25, 1., 2.25, 4.])
    assert lagrange([0., 1., 2.], [1., 3., 7.], 3.) == pytest.approx(13.)  # x^2+x+1


def test_bicubic_cardinal_spline_hand_values():
    # Row 0, 0, 1, 3 (spacing 10, one point between each pair, tension 0.2).
    # Middle segment: p=(0,0,1,3), t=.5: b=.5, c=.2*.125, d=.6*-.125 -> 0.45
    # First: p=(0,0,0,1) -> d=.2*-.125 = -0.025; last: p=(0,1,3,3) ->
    # a=.5, b=1.5, c=.6*.125, d=.4*-.125 -> 2.025.
    mesh = ZMesh(params(4, 1, "bicubic"))
    mesh.build([[0., 0., 1., 3.]] * 4)
    assert mesh.matrix[0] == pytest.approx([0., -.025, 0., .45, 1., 2.025, 3.])
    assert mesh.matrix[3] == pytest.approx(mesh.matrix[0])   # constant columns
    assert cardinal_spline((0., 0., 1., 3., 0.), .2) == 0.
    assert cardinal_spline((0., 0., 1., 3., 1.), .2) == 1.


def test_zero_reference_and_average():
    mesh = ZMesh(params(3, 0, "direct"))
    mesh.build([[1., 1., 1.], [1., 2., 1.], [1., 1., 1.]])
    assert mesh.z_average() == pytest.approx(1.11)        # 10/9 rounded to 0.01
    assert mesh.set_zero_reference(10., 10.) == 2.
    assert mesh.calc_z(10., 10.) == 0.
    assert mesh.calc_z(0., 0.) == -1.


# ---- the transform ----------------------------------------------------------
MESH_CFG = """
[bed_mesh]
mesh_min: 20, 20
mesh_max: 180, 180
probe_count: 5, 5
algorithm: bicubic
move_check_distance: 5
split_delta_z: 0.025
fade_start: 1
fade_end: 10
"""
SAVED = """
#*# <---------------------- SAVE_CONFIG ---------------------->
#*# DO NOT EDIT THIS BLOCK OR BELOW. The contents are auto-generated.
#*#
#*# [bed_mesh default]
#*# version = 1
#*# points =
#*# 	  0.100000, 0.050000, 0.010000, -0.030000, -0.080000
#*# 	  0.060000, 0.020000, 0.000000, -0.050000, -0.100000
#*# 	  0.040000, 0.010000, 0.000000, -0.060000, -0.110000
#*# 	  0.020000, -0.010000, -0.040000, -0.070000, -0.130000
#*# 	  0.010000, -0.030000, -0.060000, -0.100000, -0.160000
#*# x_count = 5
#*# y_count = 5
#*# mesh_x_pps = 2
#*# mesh_y_pps = 2
#*# algo = bicubic
#*# tension = 0.2
#*# min_x = 20.0
#*# max_x = 180.0
#*# min_y = 20.0
#*# max_y = 180.0
"""


@pytest.fixture
def run(tmp_path):
    r = Run(tmp_path, base_config_text() + MESH_CFG + SAVED)
    r.run("G28\nG90\nM83\nG1 Z0.2 F600\n")
    return r


def _mesh(run):
    return run.printer.objects["bed_mesh"]


def test_profile_from_save_config_block(run):
    bed_mesh = _mesh(run)
    profile = bed_mesh.profiles["default"]
    assert profile["points"][0] == [.1, .05, .01, -.03, -.08]
    assert profile["mesh_params"]["algo"] == "bicubic"
    assert bed_mesh.mesh is None          # nothing loaded at start-up
    run.run("BED_MESH_PROFILE LOAD=default\n")
    assert bed_mesh.get_status()["profile_name"] == "default"
    assert bed_mesh.mesh.calc_z(20., 180.) == pytest.approx(.01)   # row 4, col 0
    run.run("BED_MESH_PROFILE LOAD=nothere\n")
    assert "Unknown profile [nothere]" in run.errors()[-1]


def _segments(run, gcode):
    run.moves.clear()
    run.run(gcode)
    return list(run.moves)


def test_segment_ends_carry_the_mesh_height(run):
    # Loading the mesh re-reads the G-code position through it (Z 0.2 at
    # X0 Y0 becomes 0.2 - 0.1): set Z again.
    run.run("BED_MESH_PROFILE LOAD=default\n")
    assert run.printer.gcode_move.last_position[2] == pytest.approx(.1)
    mesh = _mesh(run).mesh
    moves = _segments(run, "G1 Z0.2\nG1 X20 Y20 F6000\nG1 X180 Y150 E5\n")
    assert len(moves) > 3                   # the long move was split
    for x, y, z, e, speed in moves:
        assert z == pytest.approx(0.2 + mesh.calc_z(x, y), abs=1e-12)
    # Segment ends lie on the line, a whole number of check distances in.
    assert moves[1][:2] == (20., 20.)
    for x, y, _, _, _ in moves[2:-1]:
        along = math.hypot(x - 20., y - 20.) / 5.
        assert along == pytest.approx(round(along), abs=1e-9)
    # The G-code position reads back without the correction.
    assert run.printer.gcode_move.last_position[2] == pytest.approx(.2)
    run.printer.gcode_move.reset_last_position()
    assert run.printer.gcode_move.last_position[2] == pytest.approx(.2, abs=1e-12)


def test_clear_removes_every_correction(run):
    run.run("BED_MESH_PROFILE LOAD=default\nBED_MESH_CLEAR\n")
    moves = _segments(run, "G1 X20 Y20 F6000\nG1 X180 Y150\n")
    assert [m[:3] for m in moves] == [(20., 20., .2), (180., 150., .2)]


@settings(max_examples=40, deadline=None)
@given(st.floats(0., 200.), st.floats(0., 200.), st.floats(.1, .9))
def test_property_segment_heights(tmp_path_factory, x, y, z):
    r = Run(tmp_path_factory.mktemp("m"), base_config_text() + MESH_CFG + SAVED)
    r.run("G28\nG90\nG1 X100 Y100 F6000\nBED_MESH_PROFILE LOAD=default\n"
          "G1 Z%.3f F600\n" % z)
    mesh = _mesh(r).mesh
    r.moves.clear()
    r.run("G1 X%.4f Y%.4f\n" % (x, y))
    assert r.moves
    for mx, my, mz, _, _ in r.moves:
        assert mz == pytest.approx(round(z, 3) + mesh.calc_z(mx, my), abs=1e-12)


def test_fade_is_linear_between_start_and_end(run):
    run.run("BED_MESH_PROFILE LOAD=default\n")
    bed_mesh = _mesh(run)
    target = bed_mesh.fade_target
    assert target == bed_mesh.mesh.z_average() != 0.
    height = bed_mesh.mesh.calc_z(180., 20.)
    offsets = []
    for z in (1., 3.25, 5.5, 7.75, 10., 12.):
        moves = _segments(run, "G1 X180 Y20 Z%s F6000\n" % z)
        offsets.append(moves[-1][2] - z)
    # fade 1..10: factor 1, .75, .5, .25, 0, 0 of (height - target), + target
    for factor, offset in zip((1., .75, .5, .25, 0., 0.), offsets):
        assert offset == pytest.approx(factor * (height - target) + target, abs=1e-12)
    # get_position undoes it: the G-code Z reads back inside the fade zone.
    run.run("G1 Z5.5\n")
    run.printer.gcode_move.reset_last_position()
    assert run.printer.gcode_move.last_position[2] == pytest.approx(5.5, abs=1e-9)


def test_commands_that_only_answer(run):
    run.run("BED_MESH_OUTPUT\nBED_MESH_MAP\nBED_MESH_PROFILE LOAD=default\n"
            "BED_MESH_MAP\nBED_MESH_OFFSET X=5\nBED_MESH_PROFILE SAVE=copy\n"
            "BED_MESH_PROFILE REMOVE=copy\nBED_MESH_PROFILE\n")
    infos = [t for kind, t in run.messages if kind == "info"]
    assert "Bed has not been probed" in infos
    assert any(t.startswith("mesh_map_output {") for t in infos)
    assert any("saved to profile [copy]" in t for t in infos)
    assert any("Profile [copy] removed" in t for t in infos)
    assert infos[-1] == "Invalid syntax 'BED_MESH_PROFILE'"
    assert _mesh(run).mesh.offsets == [5., 0.]
    assert run.errors() == []


# ---- against Klipper's figure ---------------------------------------------------
def _single_z_trident(tmp_path):
    """The trident case with one Z stepper and no probe/z_tilt (those are
    other modules): the mesh part of its input is unchanged."""
    from klipsim.golden import reference
    case = reference.case("trident_zTilt_mesh")
    kept, skip = [], False
    for line in open(case.config).read().split("\n"):
        header = re.match(r"\[(.+)\]", line)
        if header:
            skip = header.group(1) in ("stepper_z1", "stepper_z2", "probe", "z_tilt")
        if not skip:
            kept.append(line)
    config = tmp_path / "printer.cfg"
    config.write_text("\n".join(kept))
    gcode = open(case.gcode).read().replace("Z_TILT_ADJUST\n", "")
    return case, config, gcode


def _z_steps(dictionary, path):
    """(step times, directions) of the trident's Z stepper (step pin PF11)."""
    from klipsim.golden import stepdiff
    programs = stepdiff.build_programs(stepdiff.read_steps(str(path), dictionary))
    program = next(p for p in programs.values() if p.step_pin == "PF11")
    return stepdiff.step_times(program, 0, program.total_steps)


@requires_shared_reference
def test_trident_mesh_matches_klippers_z_motion(tmp_path):
    """With the mesh loaded, Z steps in the XY lines: 1 618 more Z steps than
    without BED_MESH_PROFILE LOAD (the reference README's figure), and the
    mesh part of the print (the last 31 Z direction changes: lines, spiral,
    fade-zone travel, the lines after BED_MESH_CLEAR) steps exactly as in
    Klipper's stream: same step count between direction changes, every step
    within 25 us of Klipper's once the two runs' start of
    this part is lined up (median shift).  (Before that
    the reference runs Z_TILT_ADJUST with three Z steppers, not here.)"""
    from klipsim.chelper.msgproto import load_dictionary
    from klipsim.sim.compile.batch import compile_gcode
    import numpy as np
    case, config, gcode = _single_z_trident(tmp_path)
    dictionary = load_dictionary(case.dictionary)
    steps = {}
    for name, text in (("mesh", gcode),
                       ("flat", gcode.replace("BED_MESH_PROFILE LOAD=default\n", ""))):
        path = tmp_path / (name + ".gcode")
        path.write_text(text)
        with open(tmp_path / (name + ".txt"), "w") as out:
            result = compile_gcode(str(path), str(config), dictionary, out)
        assert result.errors == 0
        steps[name] = _z_steps(dictionary, tmp_path / (name + ".txt"))
    assert len(steps["mesh"][0]) - len(steps["flat"][0]) == 1618
    ref_t, ref_d = _z_steps(dictionary, case.klipper_output)
    mine_t, mine_d = steps["mesh"]
    changes = np.flatnonzero(np.diff(mine_d))
    tail = len(mine_d) - (changes[-31] + 1)
    assert (ref_d[-tail:] == mine_d[-tail:]).all()
    shift = ref_t[-tail:] - mine_t[-tail:]
    shift -= int(np.median(shift))        # the runs start this part at other times
    worst_us = np.abs(shift).max() / dictionary.clock_freq * 1e6
    assert worst_us <= 25.


# ---- BED_MESH_CALIBRATE -------------------------------------------------------
# A probe 10 mm behind the nozzle in Y; in batch mode it "triggers" at the
# end of every probing move, at the Z minimum (stepper_z position_min 0 in
# the base config), so every point reads toolhead z 0 -> bed z -1.2.
PROBE_CFG = "\n[probe]\npin: ^PD2\nz_offset: 1.2\ny_offset: -10\n"


def _calibrate(tmp_path, extra, gcode):
    """Run `gcode` on the base printer with a probe and the mesh; returns
    the run and the nozzle X/Y of every probe sample."""
    from klipsim.host.probe import find_probe
    r = Run(tmp_path, base_config_text() + PROBE_CFG + MESH_CFG + extra)
    probe = find_probe(r.printer)
    nozzle = []
    start = probe.start_probe_session

    def recording_session(cmd=None):
        session = start(cmd)
        run_probe = session.run_probe

        def recording_run(cmd=None):
            nozzle.append(tuple(r.printer.toolhead.get_position()[:2]))
            return run_probe(cmd)
        session.run_probe = recording_run
        return session
    probe.start_probe_session = recording_session
    r.run("G28\nG90\n" + gcode)
    return r, nozzle


def test_grid_points_of_the_docs_example(run):
    # docs/Bed_Mesh.md: mesh_min 35,6  mesh_max 240,198  probe_count 5,3:
    # spacing floor(205/4, .01) = 51.25 and 96, rows zig-zag.
    calibrate = _mesh(run).calibrate
    cfg = dict(calibrate.orig, mesh_min=(35., 6.), mesh_max=(240., 198.),
               x_count=5, y_count=3)
    xs = [35., 86.25, 137.5, 188.75, 240.]
    assert calibrate.grid_points(cfg) == ([(x, 6.) for x in xs]
                                          + [(x, 102.) for x in reversed(xs)]
                                          + [(x, 198.) for x in xs])


def test_calibrate_probes_the_grid_and_builds_a_flat_mesh(tmp_path):
    r, nozzle = _calibrate(tmp_path, "", "BED_MESH_CALIBRATE\n")
    assert r.errors() == []
    # 5x5 from (20,20) to (180,180), spacing 40, nozzle 10 mm in front of
    # the probe (y_offset -10).
    assert nozzle[:6] == [(20., 30.), (60., 30.), (100., 30.), (140., 30.),
                          (180., 30.), (180., 70.)]
    assert len(nozzle) == 25
    bed_mesh = _mesh(r)
    mesh = bed_mesh.mesh
    assert (mesh.x_min, mesh.x_max, mesh.y_min, mesh.y_max) == (20., 180., 20., 180.)
    assert mesh.calc_z(77., 123.) == pytest.approx(0. - 1.2)
    assert bed_mesh.profiles["default"]["points"][0] == [-1.2] * 5
    assert bed_mesh.get_status()["profile_name"] == "default"


def test_zero_reference_inside_and_outside_the_grid(tmp_path):
    r, nozzle = _calibrate(tmp_path, "zero_reference_position: 100, 100\n",
                           "BED_MESH_CALIBRATE\n")
    assert len(nozzle) == 25
    # (probe heights come from step counts: equal to ~1e-12 mm, far below a step)
    assert _mesh(r).mesh.z_range() == (pytest.approx(0., abs=1e-9), pytest.approx(0., abs=1e-9))
    r, nozzle = _calibrate(tmp_path, "zero_reference_position: 10, 190\n",
                           "BED_MESH_CALIBRATE\n")
    assert len(nozzle) == 26 and nozzle[-1] == (10., 200.)
    # (probe heights come from step counts: equal to ~1e-12 mm, far below a step)
    assert _mesh(r).mesh.z_range() == (pytest.approx(0., abs=1e-9), pytest.approx(0., abs=1e-9))


def test_adaptive_mesh_around_the_objects(tmp_path):
    # The slicer case's two objects: bounding box 163.225..186.775 x
    # 155.225..194.775, margin 5 -> 158.225..191.775 x 150.225..199.775,
    # clamped to the configured max 180, 180; counts ceil(5 * 21.775/160)
    # = 1 -> 3 and ceil(5 * 29.775/160) = 1 -> 3; spacing floor(10.8875)
    # 10.88 and floor(14.8875) 14.88.
    objects = ("EXCLUDE_OBJECT_DEFINE NAME=a POLYGON=[[163.225,155.225],[163.225,170.775],"
               "[186.775,170.775],[186.775,155.225]]\n"
               "EXCLUDE_OBJECT_DEFINE NAME=b POLYGON=[[166.225,177.225],[166.225,194.775],"
               "[183.775,194.775],[183.775,177.225]]\n")
    r, nozzle = _calibrate(tmp_path, "adaptive_margin: 5\n",
                           objects + "BED_MESH_CALIBRATE ADAPTIVE=1\n")
    assert r.errors() == []
    xs = [158.225, 158.225 + 10.88, 158.225 + 2 * 10.88]
    ys = [150.225, 150.225 + 14.88, 150.225 + 2 * 14.88]
    expected = ([(x, ys[0] + 10.) for x in xs] + [(x, ys[1] + 10.) for x in reversed(xs)]
                + [(x, ys[2] + 10.) for x in xs])
    assert nozzle == [pytest.approx(p) for p in expected]
    assert _mesh(r).mesh.params["algo"] == "lagrange"     # bicubic needs 4 points
    assert "default" not in _mesh(r).profiles              # adaptive: not saved
