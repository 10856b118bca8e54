"""The serial link between host and MCU: Klipper's serialqueue thread
(serial_link.py) with its command queues and block builder in C
(queues.py), what it knows of each message (messages.py), its per-block
bookkeeping in C (linkio.py: the wire towards the MCU, acks, naks,
retransmits, the clock-query pairing, the wake-up time); the wire
(wire.py), faults on the line (faults.py), and the MCU clock against
host time with the host's regression of it (clocksync.py)."""
