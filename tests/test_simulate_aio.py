"""[virtual_sdcard] prints read the G-code file in Klipper's aio executor
thread (KLIPPER-FACTS 1: SDCARD_PRINT_FILE reads 8192-byte chunks in the
"virtual_sdcard" executor, a Python thread, and hands each to the reactor
with async_complete); `[threads.aio]` of a policy gives it its class."""
import os

from klipsim.sim.hostcpu.costs import CostModel
from klipsim.sim.hostcpu.machine import load_machine
from klipsim.sim.simulate.simulation import SimOptions, simulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GCODE = os.path.join(ROOT, "examples", "sweep-square.gcode")


def sdcard_config(tmp_path):
    text = open(os.path.join(ROOT, "examples", "printer.cfg")).read()
    path = tmp_path / "printer.cfg"
    path.write_text(text + "\n[virtual_sdcard]\npath: ~/printer_data/gcodes\n")
    return str(path)


def big_gcode(tmp_path, copies):
    """The square print with its moves repeated: a file of several 8 KiB chunks."""
    lines = open(GCODE).read().splitlines()
    body = [l for l in lines if l.startswith("G1 X")]
    path = tmp_path / "big.gcode"
    path.write_text("\n".join(lines[:7] + body * copies) + "\n")
    return str(path)


def test_executor_reads_the_file_in_8k_chunks(tmp_path):
    gcode = big_gcode(tmp_path, 60)
    size = os.path.getsize(gcode)
    assert size > 3 * 8192
    result = simulate(gcode, sdcard_config(tmp_path), SimOptions())
    assert result.shutdown is None
    thread = result.host_report["threads"]["virtual_sdcard"]
    # reads of 8192 bytes until one comes back empty
    reads = size // 8192 + 1
    speed = load_machine("rpi3").cpu_speed
    c = CostModel()
    per_read = sum(round(ns / speed) for ns in (c.aio_request_ns, c.aio_read_ns,
                                                c.aio_complete_ns))
    assert thread["cpu_ns"] == reads * per_read
    assert thread["policy"] == "other"


def test_no_executor_without_virtual_sdcard():
    result = simulate(GCODE, os.path.join(ROOT, "examples", "printer.cfg"), SimOptions())
    assert "virtual_sdcard" not in result.host_report["threads"]


def test_policy_aio_role_gives_the_executor_its_class(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text('[policy]\nname = "aio-fifo"\n\n[threads.aio]\npolicy = "fifo"\n'
                      'priority = 20\ncpus = [1]\n')
    result = simulate(GCODE, sdcard_config(tmp_path), SimOptions(policy=str(policy)))
    thread = result.host_report["threads"]["virtual_sdcard"]
    assert (thread["policy"], thread["priority"]) == ("fifo", 20)
