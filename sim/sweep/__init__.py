"""Sweeps: many independent simulate runs.

- spec.py     which runs a SPEC.toml asks for
- run.py      one run as a cached task that can run anywhere
- engine.py   runs them on a local pool or a Dask cluster into one table
- summary.py  kill probability, thresholds, ranking; plot.py pictures
"""
