"""`--plot`: margin over time with the load's spikes marked, and CPU
seconds per thread. matplotlib is optional (imported here only)."""
from .load import load_scenario


def spike_windows(load_path, end_ns):
    """(start_s, end_s) of every spike burst before end_ns."""
    if not load_path:
        return []
    out = []
    for spike in load_scenario(load_path).spikes:
        at, n = spike.at_ns, 0
        while at < end_ns and (spike.count is None or n < spike.count):
            out.append((at / 1e9, (at + spike.duration_ns) / 1e9))
            n += 1
            if not spike.every_ns:
                break
            at += spike.every_ns
    return sorted(out)


def plot_result(result, report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(10, 7), gridspec_kw={"height_ratios": [2, 1]})
    series = result.margins.series
    freq = result.clock_freq
    times = [t / 1e9 for t, _ in series]
    margins = [m * 1000. / freq for _, m in series]
    ax.plot(times, margins, ".", markersize=2, label="block min margin")
    late = [(t, m) for t, m in zip(times, margins) if m < 0]
    if late:
        ax.plot([t for t, _ in late], [m for _, m in late], "rv", markersize=6,
                label="arrived late")
    for start, end in spike_windows(result.options.load, result.end_ns):
        ax.axvspan(start, end, color="red", alpha=0.2)
    ax.axhline(0., color="black", linewidth=0.8)
    if result.shutdown:
        ax.axvline(result.shutdown["time_s"], color="red", linestyle="--",
                   label="shutdown: %s" % result.shutdown["reason"])
    ax.set_xlabel("host time (s)")
    ax.set_ylabel("scheduled - arrival (ms)")
    ax.set_title("%s on %s, policy %s, load %s" % (report["verdict"], report["board"],
                                                   report["policy"], report["load"]))
    ax.legend(loc="upper right")
    names = list(report["threads"])
    bx.barh(names, [report["threads"][n]["cpu_s"] for n in names])
    bx.set_xlabel("CPU seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
