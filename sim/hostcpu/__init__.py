"""The simulated host computer.

- scheduler.py  N cores, Linux scheduling classes: the API over the C core
                (chelper/src/vs_*.c: kernel heap, state machine, EEVDF,
                groups, placement, throttling); vthreads.py its threads
                and signals, whose programs stay in Python
- pyscheduler.py  the Python reference model the C core is tested
                against: the core state machine, with placement.py
                (wake-up placement, pull, balancing), timing.py (CPU
                accounting, each core's event), throttle.py (RT
                throttling, fair server), fastpath.py (uncontended
                shortcuts), cores.py (config, per-core state), eevdf.py
                (SCHED_OTHER run queues, EEVDF picking, integer
                arithmetic), groups.py (autogroups, share split between
                cores), threads.py (reference threads and signals, the
                rules of thread programs); stats.py thread metrics
- gil.py        CPython's global interpreter lock
- machine.py    boards (presets/*.toml); policy.py thread policies
                (policies/*.toml); load.py loads and CPU spikes (loads/*.toml)
- costs.py      CPU cost of each host action; cpu.py all of it in one object
- config_toml.py  reading those TOML files with place-naming errors
"""
