"""First move of several of Klipper's reference cases, solved and
compressed by the motion helpers alone, reproduces Klipper's queue_step
lines exactly (interval, count, add): polar (bed angle and arm), winch,
deltesian and rotary delta. Each case starts with SET_KINEMATIC_POSITION
and a 20 mm +X move at 100 mm/s from rest, ending at the 5 mm/s square
corner of the next move."""
import math
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _motion_helpers import trapezoid_times  # noqa: E402
from klipsim.chelper import motion  # noqa: E402
from klipsim.golden.reference import case, find_file, open_text  # noqa: E402


def klipper_runs(case_name, oid, count):
    out = []
    with open_text(find_file(case(case_name).folder, "klipper.txt")) as f:
        for line in f:
            if line.startswith("queue_step oid=%d " % oid):
                out.append(tuple(int(v) for v in re.findall(r"(?:interval|count|add)=(-?\d+)", line)))
                if len(out) == count:
                    break
    return out


def first_move_runs(sk, step_dist, freq, start, accel, oid, count, gen_until=.4):
    tq = motion.TrapQ()
    sk.set_trapq(tq)
    sc = motion.StepCompress(oid, 25e-6 * freq)
    sc.set_time(0., freq)
    sk.set_stepcompress(sc, step_dist)
    sk.set_position(*start)
    tq.append(.25, *trapezoid_times(20., 0., 100., 5., accel), start, (1., 0., 0.),
              0., 100., accel)
    sk.generate_steps(gen_until)
    sc.flush(int(gen_until * freq))
    return [(int(m["p0"]), int(m["p1"]), int(m["p2"]))
            for m in sc.take_messages() if m["kind"] == motion.QUEUE_STEP][:count]


ROTARY_STEP = 2 * math.pi / (200 * 16 * (107 / 16) * (60 / 16))
CASES = [
    # case, oid, kinematics factory, step distance, MCU Hz, start, accel, lines
    ("polar_basic", 0, lambda: motion.polar_stepper("a"), 2 * math.pi / 16000,
     168e6, (100., 100., 10.), 2000., 9),
    ("polar_basic", 3, lambda: motion.polar_stepper("r"), .0125, 168e6,
     (100., 100., 10.), 2000., 9),
    ("winch_basic", 1, lambda: motion.winch_stepper(2000., 1000., -100.), .0125,
     180e6, (0., 0., 10.), 3000., 8),
    ("winch_basic", 2, lambda: motion.winch_stepper(-2000., 1000., -100.), .0125,
     180e6, (0., 0., 10.), 3000., 8),
    ("deltesian_arcs", 2, lambda: motion.deltesian_stepper(217. ** 2, -160.), .0125,
     16e6, (0., 100., 10.), 3000., 8),
    ("deltesian_arcs", 5, lambda: motion.deltesian_stepper(217. ** 2, 160.), .0125,
     16e6, (0., 100., 10.), 3000., 8),
    ("rotary_delta_arcs", 2, lambda: motion.rotary_delta_stepper(
        33.9, 412.9, math.radians(30.), 170., 320.), ROTARY_STEP, 16e6, (0., 0., 10.), 3000., 4),
    ("rotary_delta_arcs", 8, lambda: motion.rotary_delta_stepper(
        33.9, 412.9, math.radians(270.), 170., 320.), ROTARY_STEP, 16e6, (0., 0., 10.), 3000., 4),
]


@pytest.mark.parametrize("name,oid,factory,step,freq,start,accel,count", CASES,
                         ids=["%s-oid%d" % (c[0], c[1]) for c in CASES])
def test_first_move_matches_klipper(name, oid, factory, step, freq, start, accel, count):
    ours = first_move_runs(factory(), step, freq, start, accel, oid, count)
    assert len(ours) == count
    assert ours == klipper_runs(name, oid, count)
