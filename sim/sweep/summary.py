"""A sweep's table and what it says: kill probability, thresholds, ranking.

Contract: `table_csv(rows)` and `table_jsonl(rows)` give the table's bytes
(fixed column order, sweep_run.COLUMNS; floats as Python prints them,
empty CSV cell / JSON null for "none"). `summarize(rows)` groups the rows
by print x board x load and, per policy in a group, gives for every spike
length the kill probability (runs that ended in an MCU shutdown / runs,
over phases and seeds), the 50 % kill threshold (linear interpolation
between the two lengths around the first crossing of 0.5; "below" the
shortest length when it already kills half the runs, "above" the longest
when none does), the smallest margin of a surviving run, and a ranking of
the policies: the higher threshold first, then the lower mean kill
probability over the spike lengths, then the larger smallest surviving
margin. `summary_text(summary)` is the same as a plain-text report with
the recommendation and its evidence.
"""
from __future__ import annotations

import csv
import io
import json
import math

from .run import COLUMNS

KILL = "shutdown"
HALF = 0.5


def _cell(value):
    return "" if value is None else value


def table_csv(rows) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for row in rows:
        w.writerow([_cell(row.get(c)) for c in COLUMNS])
    return out.getvalue()


def table_jsonl(rows) -> str:
    return "".join(json.dumps({c: row.get(c) for c in COLUMNS}) + "\n" for row in rows)


# ---- per policy ----------------------------------------------------------------------
def _by(rows, keys):
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    return groups


def threshold(lengths, probs):
    """(value_ms, kind) of the 50 % kill point: kind "at" (interpolated),
    "below" (the shortest length kills >= half) or "above" (none does)."""
    prev = None
    for length, p in zip(lengths, probs):
        if p >= HALF:
            if prev is None:
                return length, "below"
            l0, p0 = prev
            return round(l0 + (HALF - p0) / (p - p0) * (length - l0), 1), "at"
        prev = (length, p)
    return lengths[-1], "above"


def policy_figures(rows) -> dict:
    """Kill probability per spike length and the figures derived from it."""
    per_length = _by(rows, ("spike_ms",))
    lengths = sorted(k[0] for k in per_length)
    kill, runs, errors = [], [], 0
    for length in lengths:
        group = per_length[(length,)]
        valid = [r for r in group if r["verdict"] != "error"]
        errors += len(group) - len(valid)
        kills = sum(r["verdict"] == KILL for r in valid)
        kill.append(round(kills / len(valid), 4) if valid else None)
        runs.append(len(valid))
    measured = [(l, p) for l, p in zip(lengths, kill) if p is not None]
    value, kind = threshold([l for l, _ in measured], [p for _, p in measured]) \
        if measured else (None, "none")
    spiked = [p for l, p in measured if l > 0]
    margins = [r["min_margin_ms"] for r in rows
               if r["verdict"] == "ok" and r["min_margin_ms"] is not None]
    return {"lengths_ms": lengths, "kill_probability": kill, "runs": runs, "errors": errors,
            "threshold_ms": value, "threshold": kind,
            "mean_kill": round(sum(spiked) / len(spiked), 4) if spiked else None,
            "min_surviving_margin_ms": min(margins) if margins else None,
            "reasons": _reasons(rows)}


def _reasons(rows) -> dict:
    out = {}
    for r in rows:
        if r["verdict"] == KILL:
            key = "%s (%s; %s)" % (r["reason"], r["deadline_class"] or "?",
                                   r["starved_thread"] or "?")
            out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _rank_key(item):
    name, f = item
    value = f["threshold_ms"]
    value = -math.inf if value is None else value
    if f["threshold"] == "above":
        value = math.inf
    mean = f["mean_kill"] if f["mean_kill"] is not None else math.inf
    margin = f["min_surviving_margin_ms"]
    return (-value, mean, -(margin if margin is not None else -math.inf), name)


def summarize(rows) -> dict:
    groups = []
    for (pr, board, load), group in sorted(_by(rows, ("print", "board", "load")).items()):
        policies = {}
        for (policy,), prows in _by(group, ("policy",)).items():
            policies[policy] = policy_figures(prows)
        ranking = [name for name, _ in sorted(policies.items(), key=_rank_key)]
        groups.append({"print": pr, "board": board, "load": load,
                       "policies": {p: policies[p] for p in ranking}, "ranking": ranking,
                       "tied": _ties(ranking, policies),
                       "evidence": _evidence(ranking, policies)})
    return {"runs": len(rows), "groups": groups,
            "recommendation": _recommendation(groups)}


def _ties(ranking, policies) -> list[bool]:
    """tied[i]: policy i ranks equal with policy i - 1 (same kill
    probabilities and smallest surviving margin; only the name orders them)."""
    def figures(p):
        f = policies[p]
        return f["kill_probability"], f["min_surviving_margin_ms"]
    return [i > 0 and figures(p) == figures(ranking[i - 1]) for i, p in enumerate(ranking)]


def _ranking_text(g) -> str:
    out, place = [], 0
    for i, (p, tied) in enumerate(zip(g["ranking"], g["tied"])):
        if not tied:
            place = i + 1
        out.append(("= %s" if tied else "%d. %s") % ((p,) if tied else (place, p)))
    return ", ".join(out).replace(", = ", " = ")


def _threshold_text(f) -> str:
    if f["threshold"] == "above":
        return "> %g ms" % f["threshold_ms"]
    if f["threshold"] == "below":
        return "<= %g ms" % f["threshold_ms"]
    if f["threshold"] == "none":
        return "-"
    return "%g ms" % f["threshold_ms"]


def _margin_text(value) -> str:
    return "-" if value is None else "%.1f ms" % value


def _evidence(ranking, policies) -> str:
    best, f = ranking[0], policies[ranking[0]]
    tied = [p for p in ranking[1:] if _ties([best, p], policies)[1]]
    if tied:
        best = " = ".join([best] + tied)
    text = "%s: 50%% kill at %s, mean kill probability %s, smallest surviving margin %s" % (
        best, _threshold_text(f), f["mean_kill"], _margin_text(f["min_surviving_margin_ms"]))
    if len(ranking) > 1:
        others = ", ".join("%s %s / %s" % (p, _threshold_text(policies[p]),
                                           policies[p]["mean_kill"]) for p in ranking[1:])
        text += " (others, threshold / mean kill: %s)" % others
    return text


def _top(g) -> list[str]:
    """The first-ranked policy and those tied with it."""
    top = [g["ranking"][0]]
    for p, tied in zip(g["ranking"][1:], g["tied"][1:]):
        if not tied:
            break
        top.append(p)
    return top


def _recommendation(groups) -> str:
    tops = {tuple(_top(g)) for g in groups}
    if len(tops) == 1 and len(next(iter(tops))) == 1:
        return "%s ranks first on every print, board and load swept" % tops.pop()[0]
    return "; ".join("%s on %s with %s (print %s)" % (" = ".join(_top(g)), g["board"],
                                                      g["load"], g["print"]) for g in groups)


# ---- as text ----------------------------------------------------------------------------
def summary_text(summary, name="") -> str:
    lines = ["sweep %s: %d runs" % (name, summary["runs"])]
    for g in summary["groups"]:
        lines += ["", "print %s, board %s, load %s" % (g["print"], g["board"], g["load"])]
        first = next(iter(g["policies"].values()))
        lengths = first["lengths_ms"]
        width = max(len(p) for p in g["policies"]) + 2
        head = "%-*s" % (width, "policy") + "".join("%7g" % l for l in lengths)
        lines.append("  kill probability per spike length (ms)")
        lines.append("  " + head + "   50% kill at   smallest surviving margin")
        for policy, f in g["policies"].items():
            probs = {l: p for l, p in zip(f["lengths_ms"], f["kill_probability"])}
            cells = "".join("%7s" % ("-" if probs.get(l) is None else "%.2f" % probs[l])
                            for l in lengths)
            lines.append("  %-*s%s   %-12s  %s" % (width, policy, cells, _threshold_text(f),
                                                   _margin_text(f["min_surviving_margin_ms"])))
        lines.append("  ranking: " + _ranking_text(g))
        lines.append("  evidence: " + g["evidence"])
        for policy, f in g["policies"].items():
            for reason, n in list(f["reasons"].items())[:3]:
                lines.append("  %s: %d x %s" % (policy, n, reason))
    lines += ["", "recommendation: " + summary["recommendation"]]
    return "\n".join(lines) + "\n"
