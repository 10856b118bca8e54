"""The simulated host computer.

- scheduler.py  N cores, Linux scheduling classes: API and the core state
                machine, with placement.py (wake-up placement, pull,
                balancing), timing.py (CPU accounting, each core's event),
                throttle.py (RT throttling, fair server), fastpath.py
                (uncontended shortcuts), cores.py (config, per-core state)
- eevdf.py      SCHED_OTHER run queues (EEVDF picking, integer arithmetic)
- groups.py     autogroups and their share split between cores
- threads.py    virtual threads and their programs; stats.py their metrics
- gil.py        CPython's global interpreter lock
- machine.py    boards (presets/*.toml); policy.py thread policies
                (policies/*.toml); load.py loads and CPU spikes (loads/*.toml)
- costs.py      CPU cost of each host action; cpu.py all of it in one object
- config_toml.py  reading those TOML files with place-naming errors
"""
