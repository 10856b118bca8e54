"""`klipsim simulate --plot`: one picture that says where the run came
close and why. matplotlib is optional (imported here only).

Top: the smallest margin (scheduled clock minus arrival) of each second,
one line per deadline class (motion, heater PWM, pins, homing), the
overall minimum annotated with its time and the G-code line being read
then, the load's spikes shaded (and in the legend), a shutdown marked.
Bottom left: each Klipper thread's longest run-queue wait per second (the
waits that ate the margin). Bottom right: CPU share per thread (percent
of one core over the run). The title names the board, the policy and the
load by its scenario name, not its file path.
"""
from pathlib import Path

from ..hostcpu.load import load_scenario

CLASS_COLOURS = {"motion": "tab:blue", "heater_pwm": "tab:red", "pins": "tab:green",
                 "homing": "tab:purple"}
MAX_THREAD_LINES = 7      # the threads with the longest waits get a line
MARGIN_VIEW_MS = 300.     # margins above this are safe: the y axis stops there


def _per_second(bucket, scale):
    """x (mid-second) and y of a {second: value} dict, with a gap (NaN)
    for every second without a value, so no line crosses a silent second."""
    if not bucket:
        return [], []
    xs, ys = [], []
    for s in range(min(bucket), max(bucket) + 1):
        xs.append(s + 0.5)
        ys.append(bucket[s] * scale if s in bucket else float("nan"))
    return xs, ys


def spike_windows(load_path, end_ns):
    """(start_s, end_s, name) of every spike burst before end_ns."""
    if not load_path:
        return []
    out = []
    for spike in load_scenario(load_path).spikes:
        at, n = spike.at_ns, 0
        while at < end_ns and (spike.count is None or n < spike.count):
            out.append((at / 1e9, (at + spike.duration_ns) / 1e9, spike.name))
            n += 1
            if not spike.every_ns:
                break
            at += spike.every_ns
    return sorted(out)


def load_name(load_path):
    return load_scenario(load_path).name if load_path else "none"


def klipper_thread(name):
    """Klipper's threads and the tty kworker that carries their bytes
    (load and spike threads are named "<load>/<i>", sim/hostcpu/load.py)."""
    return "/" not in name or name.startswith("kworker/")


def _margins(ax, result, report):
    freq = result.clock_freq
    per_second = result.margins.per_second
    for klass in CLASS_COLOURS:
        bucket = per_second.get(klass)
        if not bucket:
            continue
        xs, ys = _per_second(bucket, 1000. / freq)
        ax.plot(xs, ys, "-", marker=".", markersize=4, linewidth=1.2,
                color=CLASS_COLOURS[klass],
                label="%s (min %.1f ms)" % (klass, report["margins_ms"][klass]))
    where = result.timeline.get("min_margin_at", {})
    if where:
        klass, w = min(where.items(), key=lambda kv: kv[1]["margin_ms"])
        ax.annotate("minimum %.1f ms (%s)\nat %.2f s, G-code %s" % (
            w["margin_ms"], klass, w["time_s"], w["gcode_line"] or "-"),
            xy=(w["time_s"], w["margin_ms"]), xytext=(0.02, 0.80),
            textcoords="axes fraction", fontsize=8,
            arrowprops={"arrowstyle": "->", "color": "black"},
            bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8})
    shaded = set()
    for start, end, name in spike_windows(result.options.load, result.end_ns):
        label = None if name in shaded else "spike %s" % name
        shaded.add(name)
        ax.axvspan(start, end, color="orange", alpha=0.3, label=label)
    ax.axhline(0., color="black", linewidth=0.8)
    if result.shutdown:
        s = result.shutdown
        ax.axvline(s["time_s"], color="red", linestyle="--", linewidth=1.5,
                   label="shutdown: %s at %.2f s" % (s["reason"], s["time_s"]))
    low = min([0.] + [w["margin_ms"] for w in where.values()])
    ax.set_ylim(low - 0.1 * (MARGIN_VIEW_MS - low), MARGIN_VIEW_MS)
    ax.set_xlabel("host time (s)")
    ax.set_ylabel("smallest margin per second (ms; cut at %d)" % MARGIN_VIEW_MS)
    ax.legend(loc="best", fontsize=8)


def _waits(ax, result):
    waits = result.timeline.get("runq_wait_by_s", {})
    klipper = {n: w for n, w in waits.items() if klipper_thread(n) and w}
    worst = sorted(klipper, key=lambda n: (-max(klipper[n].values()), n))[:MAX_THREAD_LINES]
    for name in worst:
        xs, ys = _per_second(klipper[name], 1e-6)
        ax.plot(xs, ys, ".-", markersize=4, linewidth=1, label=name)
    for start, end, _ in spike_windows(result.options.load, result.end_ns):
        ax.axvspan(start, end, color="orange", alpha=0.3)
    if worst:
        ax.set_yscale("log")
        ax.legend(fontsize=7, loc="best")
    ax.set_xlabel("host time (s)")
    ax.set_ylabel("longest run-queue wait per second (ms)")
    ax.set_title("Klipper threads waiting for a CPU", fontsize=9)


def _cpu(ax, report):
    sim_s = max(report["sim_time_s"], 1e-9)
    threads = sorted(report["threads"].items(), key=lambda kv: -kv[1]["cpu_s"])
    names = [n for n, _ in threads][::-1]
    shares = [100. * t["cpu_s"] / sim_s for _, t in threads][::-1]
    colours = ["tab:blue" if klipper_thread(n) else "tab:gray" for n in names]
    ax.barh(names, shares, color=colours)
    ax.set_xlabel("CPU share (% of one core; grey: load)")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("CPU per thread", fontsize=9)


def plot_result(result, report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(12, 8))
    grid = fig.add_gridspec(2, 2, height_ratios=[3, 2], width_ratios=[3, 2])
    ax = fig.add_subplot(grid[0, :])
    _margins(ax, result, report)
    ax.set_title("%s: %s, policy %s, load %s" % (
        report["verdict"], report["board"] if not str(report["board"]).endswith(".toml")
        else Path(report["board"]).stem, Path(str(report["policy"])).stem
        if str(report["policy"]).endswith(".toml") else report["policy"],
        load_name(result.options.load)))
    _waits(fig.add_subplot(grid[1, 0], sharex=ax), result)
    _cpu(fig.add_subplot(grid[1, 1]), report)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
