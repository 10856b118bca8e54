"""[skew_correction] and [bed_tilt] move transforms, and how transforms
chain (G-code -> skew -> bed mesh/tilt -> toolhead), against hand-computed
positions (docs/Skew_Correction.md, docs/Config_Reference.md)."""
import math
import os
import sys

import pytest

from klipsim.host.configfile import ConfigError
from klipsim.host.skew_correction import skew_factor

sys.path.insert(0, os.path.dirname(__file__))
from _extras_helpers import Run, base_config_text  # noqa: E402
from _shared_corpus import KLIPPER_CONFIGS_DIR, requires_klipper_configs  # noqa: E402
from test_bed_mesh import MESH_CFG, SAVED  # noqa: E402

# A parallelogram A(0,0) B(2,100) C(102,100) D(100,0): the side AB leans
# 2 mm in 100, so the XY skew factor is tan(phi) = 0.02 exactly.
AC = math.hypot(102., 100.)
BD = math.hypot(98., 100.)
AD = 100.


def test_skew_factor_from_measured_diagonals():
    assert skew_factor(AC, BD, AD) == pytest.approx(0.02, abs=1e-12)
    square = math.hypot(100., 100.)
    assert skew_factor(square, square, 100.) == pytest.approx(0., abs=1e-12)


def test_set_skew_moves_x_by_y_times_factor(tmp_path):
    r = Run(tmp_path, base_config_text() + "\n[skew_correction]\n")
    r.run("G28\nG90\nSET_SKEW XY=%r,%r,%r\nG1 X10 Y50 Z1 F6000\n" % (AC, BD, AD))
    x, y, z = r.moves[-1][:3]
    assert (x, y, z) == (pytest.approx(10. - 50. * 0.02, abs=1e-9), 50., 1.)
    r.printer.gcode_move.reset_last_position()       # the inverse
    assert r.printer.gcode_move.last_position[0] == pytest.approx(10., abs=1e-9)
    r.run("SKEW_PROFILE SAVE=s\nSET_SKEW CLEAR=1\nG1 X10 Y50\n")
    assert r.moves[-1][0] == 10.
    r.run("SKEW_PROFILE LOAD=s\nG1 X20 Y50\nGET_CURRENT_SKEW\n")
    assert r.moves[-1][0] == pytest.approx(19., abs=1e-9)
    info = [t for kind, t in r.messages if kind == "info"][-1]
    assert "XY Skew: 0.020000 radians, 1.15 degrees" in info
    assert r.errors() == []


def test_skew_composes_with_the_bed_mesh(tmp_path):
    r = Run(tmp_path, base_config_text() + "\n[skew_correction]\n" + MESH_CFG + SAVED)
    skew = r.printer.objects["skew_correction"]
    assert skew.next_transform is r.printer.objects["bed_mesh"]
    r.run("G28\nG90\nBED_MESH_PROFILE LOAD=default\nSET_SKEW XY=%r,%r,%r\n"
          "G1 X100 Y100 Z0.2 F6000\n" % (AC, BD, AD))
    mesh = r.printer.objects["bed_mesh"].mesh
    x, y, z = r.moves[-1][:3]
    assert x == pytest.approx(98., abs=1e-9)               # skewed first
    assert z == pytest.approx(0.2 + mesh.calc_z(x, y), abs=1e-12)   # mesh at the skewed XY


TILT = "\n[bed_tilt]\nx_adjust: 0.01\ny_adjust: -0.02\nz_adjust: 0.1\n"


def test_bed_tilt_raises_z_by_the_plane(tmp_path):
    r = Run(tmp_path, base_config_text() + TILT)
    r.run("G28\nG90\nG1 X100 Y50 Z1 F6000\n")
    assert r.moves[-1][2] == pytest.approx(1. + 1. - 1. + .1, abs=1e-12)
    r.printer.gcode_move.reset_last_position()
    assert r.printer.gcode_move.last_position[2] == pytest.approx(1., abs=1e-12)


def test_bed_tilt_and_bed_mesh_together_are_refused_as_in_klipper(tmp_path):
    with pytest.raises(ConfigError, match="move transform already specified"):
        Run(tmp_path, base_config_text() + MESH_CFG + TILT)


@requires_klipper_configs
def test_every_example_section_loads_with_all_options_read():
    """Klipper's example configs: each [bed_mesh], [bed_tilt] and
    [skew_correction] section builds and reads every option it has (no
    'Option ... is not valid' for a valid config)."""
    import glob
    import types
    from klipsim.gcode.dispatch import Dispatcher
    from klipsim.host import bed_mesh, bed_tilt, skew_correction
    from klipsim.host.configfile import load_config
    modules = {"bed_mesh": bed_mesh, "bed_tilt": bed_tilt,
               "skew_correction": skew_correction}
    seen = 0
    for path in sorted(glob.glob(os.path.join(KLIPPER_CONFIGS_DIR, "config", "*.cfg"))):
        config = load_config(path)
        for section in config.sections():
            module = modules.get(section.name.split()[0])
            if module is None:
                continue
            printer = types.SimpleNamespace(config=config, dispatcher=Dispatcher(
                warning_sink=lambda t: None, error_sink=lambda t: None,
                info_sink=lambda t: None))
            module.load(printer, section)
            assert [m for _, m in config.unused() if "'%s'" % section.name in m] == [], path
            seen += 1
    assert seen >= 40


def test_bed_tilt_calibrate_probes_its_points_and_levels(tmp_path):
    # Batch-mode probing: every point reads the same height, so the fitted
    # plane is level (slopes within the descent's 1e-5 threshold) and its
    # constant is the probed toolhead Z (0, the Z minimum) less z_offset.
    tilt = ("\n[probe]\npin: ^PD2\nz_offset: 1.2\n"
            "\n[bed_tilt]\nx_adjust: 0.01\npoints:\n  20, 20\n  180, 20\n  100, 180\n")
    r = Run(tmp_path, base_config_text() + tilt)
    r.run("G28\nG90\nBED_TILT_CALIBRATE\n")
    assert r.errors() == []
    bed_tilt = r.printer.objects["bed_tilt"]
    assert abs(bed_tilt.x_adjust) < 1e-5 and abs(bed_tilt.y_adjust) < 1e-5
    assert bed_tilt.z_adjust == pytest.approx(-1.2, abs=1e-4)
    r.run("G1 X100 Y100 Z1 F6000\n")
    assert r.moves[-1][2] == pytest.approx(1. - 1.2, abs=1e-3)
