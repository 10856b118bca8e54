"""`klipsim sweep`: many independent simulate runs, cached, on a local
process pool or a Dask cluster, into one table.

Contract: `run_sweep(spec, out_dir, jobs=None, dask=None, progress=None)`
expands the spec (sim/sweep/spec.py) into tasks (sim/sweep/run.py), takes
every row whose task key already has a file in `out_dir/cache/` and runs
the others: in this process (jobs=1), on a local process pool of `jobs`
workers (default: the CPU count), or as one task each on the Dask
cluster at address `dask` (the `distributed` package, extra `dask`).
Each finished row is written to the cache at once (an interrupted sweep
resumes where it stopped; a grown spec runs only its new rows). Returns a
`SweepOutcome`: the rows in the spec's order, how many ran and how many
came from the cache. The rows do not depend on the backend, the worker
count or the completion order, so the table bytes do not either.
`progress(done, total)` is called as rows arrive (the CLI draws a bar).
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .run import make_task, run_task, task_key
from .spec import expand

CACHE_DIR = "cache"


class SweepError(Exception):
    """The sweep cannot run (one line for the user)."""


@dataclass
class SweepOutcome:
    rows: list
    ran: int
    cached: int


class RowCache:
    """One JSON file per finished run, named by its task key."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / (key + ".json")

    def get(self, key: str):
        try:
            with open(self._path(key)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None             # missing or cut short: run it again

    def put(self, key: str, row: dict) -> None:
        path = self._path(key)
        tmp = path.with_suffix(".tmp%d" % os.getpid())
        with open(tmp, "w") as f:
            json.dump(row, f)
        os.replace(tmp, path)       # a reader sees the whole row or none


def run_sweep(spec, out_dir, jobs=None, dask=None, progress=None) -> SweepOutcome:
    runs = expand(spec)
    tasks = [make_task(run, spec) for run in runs]
    keys = [task_key(t) for t in tasks]
    cache = RowCache(Path(out_dir) / CACHE_DIR)
    rows = [cache.get(k) for k in keys]
    missing = [i for i, row in enumerate(rows) if row is None]
    same = {}                      # identical tasks run once
    for i in missing:
        same.setdefault(keys[i], []).append(i)
    todo = [indexes[0] for indexes in same.values()]
    done = [len(rows) - len(missing)]

    def finished(i, row):
        cache.put(keys[i], row)
        for j in same[keys[i]]:
            rows[j] = row
        done[0] += len(same[keys[i]])
        if progress is not None:
            progress(done[0], len(rows))

    if progress is not None:
        progress(done[0], len(rows))
    if todo:
        if dask:
            _run_dask(dask, tasks, keys, todo, finished)
        elif (jobs or os.cpu_count() or 1) <= 1 or len(todo) == 1:
            for i in todo:
                finished(i, run_task(tasks[i]))
        else:
            _run_pool(jobs or os.cpu_count(), tasks, todo, finished)
    return SweepOutcome(rows, len(todo), len(rows) - len(missing))


def _run_pool(jobs, tasks, todo, finished):
    import multiprocessing
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=min(jobs, len(todo)),
                             mp_context=multiprocessing.get_context(method)) as pool:
        futures = {pool.submit(run_task, tasks[i]): i for i in todo}
        for future in as_completed(futures):
            finished(futures[future], future.result())


def _run_dask(address, tasks, keys, todo, finished):
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise SweepError("--dask needs the distributed package "
                         "(pip install 'klipsim[dask]')") from None
    try:
        client = Client(address, timeout=30)
    except (OSError, TimeoutError) as e:
        raise SweepError("--dask %s: cannot reach the scheduler: %s" % (address, e)) from None
    with client:
        futures = {client.submit(run_task, tasks[i], key="klipsim-run-" + keys[i],
                                 pure=False): i for i in todo}
        for future in dask_completed(list(futures)):
            finished(futures[future], future.result())
