"""The bundled example's approved stream: unchanged byte for byte, and
independently plausible (net steps per stepper = final position in steps)."""
import math
import re

from klipsim.golden import examples

EXAMPLE = examples.EXAMPLES[0]


def test_examples_match_golden_files():
    changed = examples.check()
    assert not changed, "\n".join(diff for _, diff in changed)[:3000]


def net_steps(text, inverted_oids):
    """Signed steps per oid; dir=1 is positive unless the dir pin is inverted."""
    direction, net = {}, {}
    for line in text.splitlines():
        fields = dict(f.split("=") for f in line.split()[1:])
        if line.startswith("set_next_step_dir"):
            direction[fields["oid"]] = int(fields["dir"])
        elif line.startswith("queue_step"):
            oid = fields["oid"]
            sign = 1 if direction.get(oid, 0) ^ (oid in inverted_oids) else -1
            net[oid] = net.get(oid, 0) + sign * int(fields["count"])
    return net


def total_extrusion(gcode):
    """Relative E (M83) over the example, including the arcs' E."""
    return sum(float(m) for m in re.findall(r"\bE(-?[0-9.]+)", gcode))


def test_net_steps_equal_final_position():
    text = EXAMPLE.approved()
    oids = {m.group(2): m.group(1) for m in re.finditer(
        r"config_stepper oid=(\d+) step_pin=(\w+)", text)}
    # Example printer: X on PF13, Y on PF12.., Z (dir inverted) on PF11,
    # extruder on PF9; start X110 Y110 Z5, end X200 Y200 Z10.
    x, y, z, e = oids["PF13"], oids["PG0"], oids["PF11"], oids["PF9"]
    net = net_steps(text, inverted_oids={z})
    xy_step = 40. / (200 * 16)
    assert net[x] == round(((200 + 200) - (110 + 110)) / xy_step)   # corexy a = x + y
    assert net.get(y, 0) == round(((200 - 200) - (110 - 110)) / xy_step)
    assert net[z] == round((10 - 5) / (8. / 3200))
    with open(examples.EXAMPLES_DIR + "/" + EXAMPLE.gcode) as f:
        extruded = total_extrusion(f.read())
    e_step = 22.6789511 / (50. / 17.) / 3200
    assert abs(net[e] - extruded / e_step) <= 1.0
