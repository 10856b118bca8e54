"""A sweep's pictures (matplotlib, imported only here).

Contract: `plot_sweep(rows, summary, out_dir, name[, write_path])` writes, per print x
board x load group of the summary, `heatmap-<board>-<load>[-<print>].png`:
policies (ranked, best on top) x spike lengths, colour = kill probability
(every cell written as a number), the interpolated 50 % kill threshold a
black diamond on each policy's row; and `margins.png`: per group, the
smallest margin of every surviving run per policy (box and points), with
the number of killed runs under each policy. Returns the file names.
"""
from __future__ import annotations

import re

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 90


def _slug(text) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_")


def _column_of(lengths, value, kind):
    """x position (column coordinates) of a threshold in ms."""
    if kind == "below":
        return -0.5
    if kind == "above":
        return len(lengths) - 0.5
    for i in range(len(lengths) - 1):
        a, b = lengths[i], lengths[i + 1]
        if a <= value <= b:
            return i + (value - a) / (b - a) if b > a else i
    return len(lengths) - 1


def heatmap(group, path, name):
    policies = group["ranking"]
    lengths = group["policies"][policies[0]]["lengths_ms"]
    grid = []
    for p in policies:
        probs = dict(zip(group["policies"][p]["lengths_ms"],
                         group["policies"][p]["kill_probability"]))
        grid.append([probs.get(l) if probs.get(l) is not None else float("nan")
                     for l in lengths])
    fig, ax = plt.subplots(figsize=(2.5 + 0.75 * len(lengths), 1.6 + 0.55 * len(policies)))
    image = ax.imshow(grid, cmap="RdYlGn_r", vmin=0., vmax=1., aspect="auto")
    for y, row in enumerate(grid):
        for x, p in enumerate(row):
            if p == p:
                ax.text(x, y, "%.2f" % p, ha="center", va="center", fontsize=9,
                        color="black" if 0.2 <= p <= 0.8 else "white")
    for y, p in enumerate(policies):
        f = group["policies"][p]
        if f["threshold_ms"] is not None:
            # in the row's top part: the cell's number stays readable
            ax.plot(_column_of(lengths, f["threshold_ms"], f["threshold"]), y - 0.3, "D",
                    color="black", markersize=6)
    ax.set_xticks(range(len(lengths)), ["%g" % l for l in lengths])
    ax.set_yticks(range(len(policies)), policies)
    ax.set_xlabel("spike length (ms)   (\u25c6 50 % kill threshold)")
    ax.set_title("%s: kill probability\n%s, %s, print %s" % (
        name, group["board"], group["load"], group["print"]), fontsize=10)
    fig.colorbar(image, ax=ax, label="kill probability", fraction=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def margins(rows, summary, path, name):
    groups = summary["groups"]
    fig, axes = plt.subplots(1, len(groups), figsize=(2 + 2.2 * max(
        len(g["ranking"]) for g in groups) * len(groups) / 1.5, 4.5), squeeze=False)
    for ax, g in zip(axes[0], groups):
        mine = [r for r in rows if (r["print"], r["board"], r["load"]) ==
                (g["print"], g["board"], g["load"])]
        data, killed = [], []
        for p in g["ranking"]:
            ok = [r["min_margin_ms"] for r in mine if r["policy"] == p and
                  r["verdict"] == "ok" and r["min_margin_ms"] is not None]
            data.append(ok)
            killed.append(sum(r["policy"] == p and r["verdict"] == "shutdown" for r in mine))
        positions = range(1, len(data) + 1)
        ax.boxplot([d if d else [float("nan")] for d in data], positions=positions, widths=0.5,
                   showfliers=False)
        for x, d in zip(positions, data):
            spread = [x - 0.15 + 0.3 * (i % 7) / 6 for i in range(len(d))]
            ax.plot(spread, d, ".", color="tab:blue", alpha=0.5, markersize=4)
        ax.set_xticks(list(positions), ["%s\n(%d killed)" % (p, k)
                                        for p, k in zip(g["ranking"], killed)], fontsize=8)
        ax.axhline(0., color="black", linewidth=0.8)
        ax.set_ylabel("smallest margin of a surviving run (ms)")
        ax.set_title("%s, %s, %s" % (g["board"], g["load"], g["print"]), fontsize=9)
    fig.suptitle("%s: margins left by the runs that survived" % name, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_sweep(rows, summary, out_dir, name, write_path=str) -> list[str]:
    """`write_path(path)` gives the file to write for `path` (the CLI's
    atomic outputs write through a temporary file)."""
    files = []
    prints = {g["print"] for g in summary["groups"]}
    for g in summary["groups"]:
        parts = ["heatmap", g["board"], g["load"]] + ([g["print"]] if len(prints) > 1 else [])
        fname = "-".join(_slug(p) for p in parts) + ".png"
        heatmap(g, write_path(out_dir / fname), name)
        files.append(fname)
    margins(rows, summary, write_path(out_dir / "margins.png"), name)
    files.append("margins.png")
    return files
