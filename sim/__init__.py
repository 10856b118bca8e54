"""klipsim.sim: everything that drives the host and the firmware in time,
laid out as the machine it simulates (integer virtual time, no wall clock).

- kernel/    the discrete-event core: integer-ns time, events, cancel
- hostcpu/   the host computer: cores and the Linux scheduler (EEVDF
             SCHED_OTHER, FIFO/RR, RT throttling, autogroups), virtual
             threads, CPython's GIL, thread policies, loads and CPU spikes,
             boards (presets/, policies/, loads/ TOML) and the cost model
- link/      the serial link: Klipper's serialqueue and the wire, line
             faults, clock sync
- mcus/      the micro-controllers: a firmware instance on its own clock,
             a Linux-process MCU, the heaters' thermal plants, the world
             inputs, and which bundled profile an [mcu] gets
- compile/   compile mode: the host on a batch reactor writing streams
- execute/   execute mode: a command stream delivered to the firmware,
             its checks, and the pulse check
- simulate/  simulate mode: Klipper's threads on the host CPU, the reactor
             on kernel time, the per-MCU wiring, the verdict report, plot
- sweep/     many simulate runs: spec, cached tasks, pool/Dask, summary

The click commands of each mode live in klipsim/commands/, beside cli.py.
"""
