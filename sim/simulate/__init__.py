"""Simulate mode: Klipper's host on the simulated computer.

- simulation.py    builds and runs one simulation (SimOptions, SimResult)
- host_threads.py  Klipper's threads as virtual threads, and SimLink
- reactor.py       the host's reactor on kernel time (greenlet pauses)
- aio.py           the aio executor thread of [virtual_sdcard]
- mcu_link.py      one MCU and everything the host keeps per MCU
- report.py        the verdict as JSON-ready data; plot.py its picture
"""
