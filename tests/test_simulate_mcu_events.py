"""The simulated MCU is advanced by events, not polled: besides block
arrivals it is woken only where it transmits on its own (analog reports
every 300 ms per heater sensor, the 5 s stats), at the poll grid point
that would have noticed it; and a read of the heaters' temperatures sees
them at the last grid point, as polling updated them."""
import os

from klipsim.sim.kernel.events import NS_PER_S  # noqa: E402
from klipsim.sim.simulate.simulation import SimOptions, Simulation  # noqa: E402

REPORT_S = 0.300          # Klipper's heater ADC report period (FACTS 2.7)
STATS_S = 5.0             # the firmware's stats period


EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "examples")


def test_the_mcu_wakes_only_for_its_own_reports():
    # the bundled example heats its extruder and bed (M190, M109) and prints
    gcode, config = (os.path.join(EXAMPLES, n) for n in ("example.gcode", "printer.cfg"))
    temps = []
    box = {}
    sim = box["sim"] = Simulation(gcode, config, SimOptions(
        profile="stm32f446", keep_pulses=False,
        progress=lambda t: temps.append(box["sim"].thermals.temperatures())))
    result = sim.run()
    assert result.shutdown is None
    seconds = result.end_ns / NS_PER_S
    polls = result.end_ns // (5 * NS_PER_S // 1000)
    reports = 2 * seconds / REPORT_S + seconds / STATS_S
    assert 0.9 * reports < sim.node.wakes < reports + 10
    assert sim.node.wakes < polls / 20
    # the heaters were read every 50 ms run slice and warm up steadily
    extruder = [t["extruder"] for t in temps]
    assert extruder[-1] > extruder[0] + 20.
    assert len(set(extruder)) > 0.9 * len(extruder)
