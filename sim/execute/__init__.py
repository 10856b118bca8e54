"""Execute mode: a command stream run on the simulated firmware.

- executor.py      reads the stream and runs it (StreamExecutor)
- core.py          the per-message work in C: planning, reorder buffer,
                   groups, delivery, step count (firmware/simulator/stream_exec.c)
- delivery.py      when a host like Klipper's would send each message (the
                   reference model of stream_plan.c)
- stream_check.py  checks on commands before the MCU gets them
- stream_clock.py  the 64-bit clocks behind 32-bit clock fields
- pulse_check.py   executed pulses against the commanded steps
"""
