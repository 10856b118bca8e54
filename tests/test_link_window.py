"""Flow control by the MCU's receive window (KLIPPER-FACTS 2.5): the
firmware declares RECEIVE_WINDOW as Klipper's UART builds do, its UART
receive buffer of that size loses what does not fit, and the host's serial
queue never has more block bytes unacknowledged than the window."""
import os
import sys

import pytest

from klipsim.chelper import msgblock
from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.sim.link.clocksync import McuClock
from klipsim.sim.link.linkio import LinkIO
from klipsim.sim.link.messages import Message
from klipsim.sim.link.queues import MessageQueues
from klipsim.sim.link.serial_link import WINDOW_RECHECK_NS
from klipsim.sim.link.wire import Wire
from klipsim.sim.simulate.simulation import SimOptions, simulate

sys.path.insert(0, os.path.dirname(__file__))   # the link model (tests/_link_model.py)
from _link_model import MESSAGE_MAX, LinkSeqs  # noqa: E402

REF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "golden", "klipper")
# A dense print: 586 lines of short zig-zag extrusions (many queue_steps).
DENSE = os.path.join(REF, "corexy_zigzag")
SMALL = os.path.join(REF, "cartesian_basic")
WINDOW = 192        # src/generic/serial_irq.c's receive buffer (FACTS 2.5)


def run(case, profile, **kw):
    return simulate(os.path.join(case, "input.gcode"), os.path.join(case, "printer.cfg"),
                    SimOptions(profile=profile, baud=250000, **kw))


# ---- the firmware side -------------------------------------------------------

@pytest.mark.parametrize("profile", ["atmega2560", "stm32f446", "rp2040"])
def test_uart_firmware_declares_its_receive_window(profile):
    assert fwmcu.dictionary(profile).constant("RECEIVE_WINDOW") == WINDOW


def test_linux_process_mcu_declares_no_window():
    assert fwmcu.dictionary("linux").constant("RECEIVE_WINDOW") is None


def four_blocks(fw):
    """Four nearly full blocks of harmless commands (identify asks, 3
    bytes each), framed with consecutive sequences from 0."""
    frames = []
    for seq in range(4):
        msgs = [("identify", {"offset": 0, "count": 1})] * 19
        payload = b"".join(fw.dictionary.encode(n, a) for n, a in msgs)
        frames.append(msgblock.frame_block(payload, seq))
    return frames


def replies(fw):
    data = fw.read_output()
    return [seq for seq, _payload in msgblock.split_blocks(data)] if data else []


def test_a_burst_beyond_the_uart_buffer_is_lost():
    fw = fwmcu.Firmware("stm32f446")
    fw.set_rx_buffer(WINDOW)
    frames = four_blocks(fw)
    assert all(len(f) > WINDOW // 4 for f in frames)
    burst = b"".join(frames)
    fw.receive(burst)
    fitting = 0
    while sum(len(f) for f in frames[:fitting + 1]) <= WINDOW:
        fitting += 1
    assert fitting == 3
    acks = replies(fw)
    assert acks[-1] == fitting            # the next expected block: the lost one
    assert fw.rx_overflow == len(burst) - WINDOW


def test_without_a_uart_buffer_the_transport_holds_the_rest():
    fw = fwmcu.Firmware("stm32f446")
    frames = four_blocks(fw)
    fw.receive(b"".join(frames))
    assert replies(fw)[-1] == 4 and fw.rx_overflow == 0


def test_a_burst_within_the_window_is_taken_whole():
    fw = fwmcu.Firmware("stm32f446")
    fw.set_rx_buffer(WINDOW)
    frames = four_blocks(fw)[:3]
    # a retransmit: one sync byte, then blocks of at most the window
    fw.receive(bytes((msgblock.MESSAGE_SYNC,)) + b"".join(frames))
    assert replies(fw)[-1] == 3 and fw.rx_overflow == 0


# ---- the host's bookkeeping ----------------------------------------------------

def test_window_need_counts_the_last_acked_block_until_its_ack():
    seqs = LinkSeqs()
    for size in (64, 40):
        seqs.sent(size)
    assert seqs.window_need() == 104 + MESSAGE_MAX
    seqs.acked(1, 64, 64)      # a response named the next block first
    assert seqs.window_need() == 40 + MESSAGE_MAX + 64
    assert not seqs.empty_block([object()])   # its ack: not a nak
    assert seqs.window_need() == 40 + MESSAGE_MAX


# ---- whole runs ------------------------------------------------------------------

def test_dense_print_never_exceeds_the_window():
    windowed = run(DENSE, "stm32f446")
    unlimited = run(DENSE, "stm32f446", flow_control=False)
    assert windowed.shutdown is None and unlimited.shutdown is None
    # the window binds: it filled to within one block of the limit...
    assert WINDOW - MESSAGE_MAX < windowed.link.max_unacked_bytes <= WINDOW
    # ...where the 12-block limit alone lets far more wait for acks
    assert unlimited.link.max_unacked_bytes > 2 * WINDOW
    assert windowed.link.mcu_rx_lost == unlimited.link.mcu_rx_lost == 0
    # the window only delays blocks: the same steps at the same clocks
    assert (windowed.pulses["clock"] == unlimited.pulses["clock"]).all()


def test_usb_and_pty_have_no_window():
    for transport in ("usb", "pty"):
        r = run(SMALL, "atmega2560", transport=transport)
        assert r.shutdown is None
        assert r.link.max_unacked_bytes > WINDOW


def test_resends_without_flow_control_overflow_the_mcu_buffer():
    """Damaged bytes force resends of every unacknowledged block at once;
    beyond the window they do not fit the MCU's buffer."""
    faults = dict(fault_corrupt=1e-4, fault_drop=1e-4, seed=3)
    windowed = run(SMALL, "atmega2560", **faults)
    unlimited = run(SMALL, "atmega2560", flow_control=False, **faults)
    assert windowed.shutdown is None and windowed.link.mcu_rx_lost == 0
    assert unlimited.link.mcu_rx_lost > 0


def _windowed_link(window):
    """A C link (1 tick = 1 ns) with a burst of messages due at once."""
    clock = McuClock(10 ** 9)
    link = LinkIO(Wire("uart", 250000), window, True, 0, clock)
    queues = MessageQueues(fwmcu.dictionary("stm32f446"))
    burst = [("queue_digital_out", {"oid": 3, "clock": 1, "on_ticks": n}, 1, 0)
             for n in range(80)]
    queues.add(burst, 0, lambda name, args, req, mn, ns: Message(name, args, None, req, mn,
                                                                   None, "pins", ns),
               lambda: 1)
    return link, queues


def test_a_full_window_waits_for_an_ack_or_the_recheck():
    now = 10 ** 9
    # window open: a due message wakes the thread at once...
    link, queues = _windowed_link(None)
    assert link.next_wake(queues, now) == now + 1
    # ...window full (one block in flight), RTO backed off past 250 ms:
    # no spinning on it, look again after 0.25 s (FACTS 2.5)
    link, queues = _windowed_link(WINDOW)
    sent = 0
    while True:
        sent += len(link.plan(queues, now))
        link.commit(now, 0)
        if link.stat("rto_ns") > WINDOW_RECHECK_NS:
            break
        now += 5 * 10 ** 9           # no ack: RTO, back off
    assert link.window_full and link.in_flight_count == sent
    assert link.next_wake(queues, now) == now + WINDOW_RECHECK_NS
    assert WINDOW_RECHECK_NS == 250_000_000
