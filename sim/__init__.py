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
Other modules here (execute*.py, batch.py, *_cli.py) drive the firmware
and the compiler.
"""
