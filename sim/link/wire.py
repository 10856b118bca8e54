"""One direction of the simulated serial link: when written bytes arrive.

Contract: `Wire(transport, baud)`; `send(now, nbytes)` returns when the
last byte of a write made at `now` has arrived, the line staying busy
until then. A UART carries 10 bits per byte at `baud`; USB full speed
lets bytes leave at the next 1 ms frame; a pseudo-tty takes no wire
time (its kernel worker is modelled elsewhere, sim/simulate/host_threads.py).
"""

USB_FRAME_NS = 1_000_000
TRANSPORTS = ("uart", "usb", "pty")
USB_BYTE_NS = 700            # 12 Mbit/s with protocol overhead (estimate)


class Wire:
    """One direction of the link: when bytes written at t arrive."""

    def __init__(self, transport, baud):
        if transport not in TRANSPORTS:
            raise ValueError("transport must be one of %s" % ", ".join(TRANSPORTS))
        self.transport = transport
        self.byte_ns = {"uart": 10 * 10 ** 9 // baud, "usb": USB_BYTE_NS,
                        "pty": 0}[transport]
        self.idle_ns = 0          # the line is busy until then

    def send(self, now, nbytes):
        start = max(now, self.idle_ns)
        if self.transport == "usb":
            start = -(-start // USB_FRAME_NS) * USB_FRAME_NS
        self.idle_ns = start + nbytes * self.byte_ns
        return self.idle_ns
