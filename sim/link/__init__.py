"""The serial link between host and MCU: Klipper's serialqueue and the
wire (serial_link.py), faults on the line (faults.py), and the MCU clock
against host time with the host's regression of it (clocksync.py)."""
