"""klipsim.sim: the deterministic simulation side of klipsim.

The host-CPU part (integer ns virtual time, no wall clock):
- kernel.py            discrete-event core (Kernel: now, schedule, step, run)
- scheduler.py         virtual CPUs: EEVDF SCHED_OTHER, FIFO/RR, RT
                       throttling (classic / fair server), affinity,
                       balancing, context-switch cost
- scheduler_thread.py  VThread programs (compute / sleep / wait / block /
                       exit) and Signal
- scheduler_eevdf.py   per-core EEVDF queues; scheduler_groups.py the
                       autogroup share split; scheduler_stats.py metrics
- gil.py               CPython's GIL on virtual threads
- machine.py, policy.py, load.py (+ presets/, policies/, loads/ TOML)
- cpu.py               HostCPU: machine + policy + loads + GIL in one object
Simulate mode (`klipsim simulate`, the host on the virtual CPU):
- simulate.py          builds and runs it; SimOptions, SimResult
- reactor_sim.py       the host's reactor on kernel time (greenlet pauses)
- host_threads.py      SimLink; main / stepgen / serialhdl / logger /
                       tty-kworker threads; costs.py the cost model
- serial_link.py       serialqueue + wire model; line_faults.py faults
- mcu_node.py          one firmware on its own clock, margins
- thermal.py           heaters' thermal plants: pin levels in, ADC out
- clocksync.py         MCU clock mapping and the host's regression
- report.py, plot.py, simulate_cli.py  verdict JSON, plot, command
Other modules here (execute*.py, batch.py, *_cli.py) drive the firmware
and the compiler.
"""
