"""The starved-thread analysis follows the data through the tty kworker
(KLIPPER-FACTS 8): bytes written to a pseudo-tty, and on every transport
the MCU's acks, pass the kernel's flip-buffer worker, a SCHED_OTHER
kworker. A SCHED_FIFO spike at priority 50 on every core starves all
SCHED_OTHER threads (FACTS 5.2) but not Klipper threads at FIFO 53-55
(all-fifo policy): the serial thread writes in time and the kworker holds
the bytes (pty) or the acks (UART: after 12 blocks or a full receive
window nothing more may leave, FACTS 2.5), so the kworker is to blame,
not the serial thread."""
import pytest

from klipsim.sim.simulate.simulation import SimOptions, simulate

SQUARE = "examples/sweep-square.gcode"
CONFIG = "examples/printer.cfg"


def spike(tmp_path, duration_ms):
    path = tmp_path / "spike.toml"
    path.write_text('[[spike]]\nname = "hog"\nat_s = 3.0\nduration_ms = %d\nthreads = 4\n'
                    'policy = "fifo"\npriority = 50\n' % duration_ms)
    return str(path)


def shutdown(tmp_path, policy, transport, duration_ms):
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = simulate(os.path.join(root, SQUARE), os.path.join(root, CONFIG),
                      SimOptions(policy=policy, transport=transport,
                                 load=spike(tmp_path, duration_ms)))
    assert result.shutdown is not None
    return result.shutdown


@pytest.mark.parametrize("transport, duration_ms", [("pty", 600), ("uart", 1600)])
def test_fifo_serial_thread_blame_goes_to_the_kworker(tmp_path, transport, duration_ms):
    s = shutdown(tmp_path, "all-fifo", transport, duration_ms)
    late = s["late_command"]
    assert late["held_by"] == "kworker"
    # queued long before it was due: the host made it in time
    assert late["due_s"] - late["queued_s"] > 0.1
    assert s["starved_thread"]["name"] == "kworker/tty"
    # it waited most of the spike (the spike began at 3.0 s)
    assert s["starved_thread"]["waiting_ms"] > 0.5 * (s["time_s"] - 3.0) * 1000


def test_stock_policy_blames_the_main_thread(tmp_path):
    """With every Klipper thread SCHED_OTHER the main thread itself is held
    by the spike and makes the steps too late."""
    s = shutdown(tmp_path, "klipper-default", "uart", 600)
    assert s["late_command"]["held_by"] == "main"
    assert s["starved_thread"]["name"] == "klippy"
    assert s["starved_thread"]["waiting_ms"] >= 590
