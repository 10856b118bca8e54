"""One direction of the simulated serial link: when written bytes arrive.

Contract: `Wire(transport, baud)`; `send(now, nbytes)` returns when the
last byte of a write made at `now` has arrived, the line staying busy
until then. A UART carries 10 bits per byte at `baud`; USB full speed
lets bytes leave at the next 1 ms frame; a pseudo-tty takes no wire
time (its kernel worker is modelled elsewhere, sim/simulate/host_threads.py).
The state (byte time, busy-until) lives in C (`struct fw_wire`,
firmware/simulator/fw_node.c, where the MCU node's arrival sends its
output); this class is its facade.
"""
from ...firmware.simulator._fwsim import ffi, lib

USB_FRAME_NS = 1_000_000     # (fw_node.c keeps the same rule)
TRANSPORTS = ("uart", "usb", "pty")
USB_BYTE_NS = 700            # 12 Mbit/s with protocol overhead (estimate)


class Wire:
    """One direction of the link: when bytes written at t arrive."""

    def __init__(self, transport, baud):
        if transport not in TRANSPORTS:
            raise ValueError("transport must be one of %s" % ", ".join(TRANSPORTS))
        self.transport = transport
        self.c_wire = ffi.new("struct fw_wire *")
        self.c_wire.usb = transport == "usb"
        self.byte_ns = {"uart": 10 * 10 ** 9 // baud, "usb": USB_BYTE_NS,
                        "pty": 0}[transport]

    byte_ns = property(lambda self: self.c_wire.byte_ns,
                       lambda self, v: setattr(self.c_wire, "byte_ns", v),
                       doc="ns per byte on the line")
    idle_ns = property(lambda self: self.c_wire.idle_ns,
                       lambda self, v: setattr(self.c_wire, "idle_ns", v),
                       doc="the line is busy until then")

    def send(self, now, nbytes):
        return lib.fw_wire_send(self.c_wire, now, nbytes)
