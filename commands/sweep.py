"""`klipsim sweep SPEC.toml`: the spec's simulate runs (cached, on a local
pool or a Dask cluster) -> OUT/runs.csv, OUT/runs.jsonl, OUT/summary.txt,
OUT/summary.json and, with matplotlib, OUT/heatmap-*.png and
OUT/margins.png. A progress bar with an ETA goes to stderr; the summary
to stdout. Exit 0, or 1 if some run could not start (its row says why).
"""
import json
import sys
import time
from pathlib import Path

import click

from ..cli_files import EXIT_INPUT, EXIT_OK, Outputs
from ..sim.hostcpu.config_toml import ConfigError
from ..sim.sweep.engine import SweepError, run_sweep
from ..sim.sweep.spec import expand, load_spec
from ..sim.sweep.summary import summarize, summary_text, table_csv, table_jsonl

BAR = 30


class ProgressBar:
    """`[#####.....] 12/40 runs, ETA 1m20s` on stderr (wall clock only
    here, never in the results)."""

    def __init__(self, enabled, tty):
        self.enabled, self.tty = enabled, tty
        self.start = time.monotonic()
        self.first = None
        self.last_line = -1

    def __call__(self, done, total):
        if not self.enabled:
            return
        if self.first is None:
            self.first = done         # rows from the cache do not count for the ETA
        fill = BAR * done // max(total, 1)
        text = "[%s%s] %d/%d runs%s" % ("#" * fill, "." * (BAR - fill), done, total,
                                        self._eta(done, total))
        if self.tty:
            click.echo("\r" + text, err=True, nl=False)
        elif done * 10 // max(total, 1) != self.last_line or done == total:
            self.last_line = done * 10 // max(total, 1)
            click.echo(text, err=True)

    def _eta(self, done, total):
        ran = done - self.first
        if ran <= 0 or done >= total:
            return ""
        left = (time.monotonic() - self.start) / ran * (total - done)
        return ", ETA %dm%02ds" % (left // 60, left % 60)

    def end(self):
        if self.enabled and self.tty:
            click.echo("", err=True)


@click.command("sweep")
@click.argument("spec_path", metavar="SPEC.toml", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False),
              help="output folder (default: <spec name>-sweep in the current folder); "
                   "its cache/ keeps every finished run")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="local worker processes (default: the CPU count)")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="run on this Dask scheduler (tcp://host:8786) instead of a local pool")
@click.option("--plot/--no-plot", default=True, show_default=True,
              help="heatmaps and the margin distribution (needs matplotlib)")
@click.option("--quiet", is_flag=True, help="no progress bar and no summary")
def sweep_command(spec_path, out_dir, jobs, dask_address, plot, quiet):
    """Run every combination of SPEC.toml's prints, boards, policies,
    loads, spike lengths, spike phases and seeds through `simulate`, and
    rank the policies by how long a spike they survive."""
    try:
        spec = load_spec(spec_path)
    except ConfigError as e:
        raise click.ClickException(str(e))
    out = Path(out_dir or "%s-sweep" % spec.name)
    out.mkdir(parents=True, exist_ok=True)
    bar = ProgressBar(not quiet, sys.stderr.isatty())
    if not quiet:
        click.echo("sweep %s: %d runs -> %s" % (spec.name, len(expand(spec)), out), err=True)
    try:
        outcome = run_sweep(spec, out, jobs=jobs, dask=dask_address, progress=bar)
    except SweepError as e:
        raise click.ClickException(str(e))
    finally:
        bar.end()
    summary = summarize(outcome.rows)
    text = summary_text(summary, spec.name)
    with Outputs() as outputs:      # each file appears whole, or not at all
        for name, content in (("runs.csv", table_csv(outcome.rows)),
                              ("runs.jsonl", table_jsonl(outcome.rows)),
                              ("summary.json", json.dumps(summary, indent=1) + "\n"),
                              ("summary.txt", text)):
            outputs.open(str(out / name)).write(content)
        pictures = _plots(outcome.rows, summary, out, spec.name, outputs) if plot else []
    errors = sum(r["verdict"] == "error" for r in outcome.rows)
    if not quiet:
        click.echo(text, nl=False)
        click.echo("%d runs: %d ran, %d from the cache%s; wrote %s" % (
            len(outcome.rows), outcome.ran, outcome.cached,
            ", %d could not start (see runs.csv)" % errors if errors else "",
            ", ".join(["runs.csv", "runs.jsonl", "summary.txt", "summary.json"] + pictures)),
            err=True)
    sys.exit(EXIT_INPUT if errors else EXIT_OK)


def _plots(rows, summary, out, name, outputs):
    try:
        from ..sim.sweep.plot import plot_sweep
    except ImportError:
        click.echo("warning: no pictures (matplotlib is not installed)", err=True)
        return []
    return plot_sweep(rows, summary, out, name, lambda p: outputs.path(str(p)))
