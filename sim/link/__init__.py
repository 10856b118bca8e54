"""The serial link between host and MCU: Klipper's serialqueue thread
(serial_link.py) with its command queues and block builder in C
(queues.py), what it knows of each message (messages.py), its ack and
retransmit-timeout state (acks.py) and its reader of received bytes
(reader.py); the wire (wire.py), faults on the line (faults.py), and the
MCU clock against host time with the host's regression of it
(clocksync.py)."""
