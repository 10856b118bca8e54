"""`klipsim sweep`: the table does not depend on the backend (local pool or
a Dask LocalCluster), a resumed or grown sweep runs only the missing rows,
and a spec error names the file and the key. The sweeps are tiny: a
square printed four times (about 2 s), one spike long enough to kill
every run (600 ms of FIFO 50 on all four cores starves Klipper's threads
for longer than the ~0.1-0.5 s of commands queued ahead, KLIPPER-FACTS 7)
and a no-spike baseline."""
import json

import pytest
from click.testing import CliRunner

from klipsim.cli import main
from klipsim.sim.hostcpu.config_toml import ConfigError
from klipsim.sim.sweep.engine import run_sweep
from klipsim.sim.sweep.spec import expand, load_spec
from klipsim.sim.sweep.summary import summarize, table_csv, table_jsonl, threshold

SPEC = """
[sweep]
name = "tiny"
policies = %(policies)s
loads = ["webcam-moonraker"]
seeds = 1

[[print]]
gcode = "tiny.gcode"

[spikes]
durations_ms = [0, 600]
phases = 2
from_s = 0.5
to_s = 1.1
threads = 4
policy = "fifo"
priority = 50
"""


def write_spec(tmp_path, policies=("klipper-default", "theos"), name="spec.toml", **extra):
    lines = ["SET_KINEMATIC_POSITION X=110 Y=110 Z=5", "G90", "G1 X10 Y10 F6000"]
    lines += ["G1 X60 Y10", "G1 X60 Y60", "G1 X10 Y60", "G1 X10 Y10"] * 4
    (tmp_path / "tiny.gcode").write_text("\n".join(lines) + "\n")
    text = SPEC % {"policies": json.dumps(list(policies))}
    for key, value in extra.items():
        text = text.replace(key, value)
    path = tmp_path / name
    path.write_text(text)
    return path


def tables(outcome):
    return table_csv(outcome.rows), table_jsonl(outcome.rows)


def test_pool_and_dask_local_cluster_give_identical_tables(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = load_spec(write_spec(tmp_path))
    pool = run_sweep(spec, tmp_path / "pool", jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        dask = run_sweep(spec, tmp_path / "dask", dask=cluster.scheduler_address)
    serial = run_sweep(spec, tmp_path / "serial", jobs=1)
    assert pool.ran == dask.ran == serial.ran == 6
    assert tables(pool) == tables(dask) == tables(serial)
    # the table says something: the baseline survives, the long spike kills
    verdicts = {(r["policy"], r["spike_ms"], r["phase"]): r["verdict"] for r in pool.rows}
    assert verdicts[("theos", 0.0, 0)] == "ok"
    assert verdicts[("klipper-default", 600.0, 1)] == "shutdown"


def test_resumed_and_grown_sweep_runs_only_missing_rows(tmp_path):
    out = tmp_path / "out"
    small = run_sweep(load_spec(write_spec(tmp_path, ["klipper-default"])), out, jobs=1)
    assert (small.ran, small.cached) == (3, 0)
    grown_spec = load_spec(write_spec(tmp_path))
    grown = run_sweep(grown_spec, out, jobs=1)
    assert (grown.ran, grown.cached) == (3, 3)           # only theos's rows ran
    # an interrupted sweep: one row's cache file is gone (or cut short)
    files = sorted((out / "cache").glob("*.json"))
    assert len(files) == 6
    files[0].unlink()
    files[1].write_text('{"verdict": ')
    again = run_sweep(grown_spec, out, jobs=1)
    assert (again.ran, again.cached) == (2, 4)
    fresh = run_sweep(grown_spec, tmp_path / "fresh", jobs=1)
    assert tables(again) == tables(grown) == tables(fresh)


@pytest.mark.parametrize("old, new, where", [
    ("durations_ms = [0, 600]", "durations_ms = [600, 0]", "[spikes] durations_ms"),
    ("phases = 2", "phases = 0", "[spikes] phases"),
    ('loads = ["webcam-moonraker"]', 'loads = ["no-such-load"]', "[sweep] loads"),
    ('gcode = "tiny.gcode"', 'gcode = "missing.gcode"', "[[print]] #1 gcode"),
    ("seeds = 1", "seeds = 1\nboard = 3", "[sweep] board"),
    ('policy = "fifo"', 'policy = "fast"', "[spikes] policy"),
    ("to_s = 1.1", "to_s = 0.1", "[spikes] to_s"),
    ("phases = 2", "phases = 2\nat_s = [1.0]", "[spikes]"),
])
def test_spec_error_names_file_and_key(tmp_path, old, new, where):
    path = write_spec(tmp_path, **{old: new})
    with pytest.raises(ConfigError) as e:
        load_spec(path)
    assert str(e.value).startswith(str(path) + ": " + where), str(e.value)


def test_expand_order_and_spike_starts(tmp_path):
    runs = expand(load_spec(write_spec(tmp_path)))
    # baseline once (no spike, no phase), then every phase of each length
    assert [(r.policy, r.spike_ms, r.spike_at_s) for r in runs] == [
        ("klipper-default", 0., 0.), ("klipper-default", 600., 0.5),
        ("klipper-default", 600., 0.8), ("theos", 0., 0.), ("theos", 600., 0.5),
        ("theos", 600., 0.8)]


def test_threshold_interpolates_the_half_kill_point():
    assert threshold([50, 100, 200], [0., 0.25, 0.75]) == (150., "at")
    assert threshold([50, 100], [0.5, 1.]) == (50, "below")
    assert threshold([50, 100], [0., 0.4]) == (100, "above")


def test_summary_ranks_the_policy_that_survives_longer():
    def rows(policy, kills):
        out = []
        for length, k in kills.items():
            for phase in range(4):
                out.append({"print": "p", "board": "b", "load": "l", "policy": policy,
                            "spike_ms": length, "verdict": "shutdown" if phase < k else "ok",
                            "min_margin_ms": 10. if phase >= k else -5., "reason": "Timer too close",
                            "deadline_class": "motion", "starved_thread": "klippy"})
        return out
    summary = summarize(rows("weak", {100: 2, 200: 4}) + rows("strong", {100: 0, 200: 1}))
    g = summary["groups"][0]
    assert g["ranking"] == ["strong", "weak"]
    assert g["policies"]["weak"]["threshold_ms"] == 100.
    assert g["policies"]["strong"]["kill_probability"] == [0., 0.25]
    assert summary["recommendation"].startswith("strong")
    # two policies with the same figures tie: no single best is claimed
    tied = summarize(rows("a", {100: 1, 200: 3}) + rows("b", {100: 1, 200: 3})
                     + rows("c", {100: 4, 200: 4}))
    assert tied["groups"][0]["tied"] == [False, True, False]
    assert tied["recommendation"].startswith("a = b on b with l")


def test_cli_writes_table_summary_and_pictures(tmp_path):
    pytest.importorskip("matplotlib")
    spec = write_spec(tmp_path, ["klipper-default"])
    out = tmp_path / "result"
    r = CliRunner().invoke(main, ["sweep", str(spec), "-o", str(out), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    assert "recommendation: klipper-default" in r.output
    for name in ("runs.csv", "runs.jsonl", "summary.txt", "summary.json",
                 "heatmap-rpi3-webcam-moonraker.png", "margins.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "runs.csv").read_text().count("\n") == 4
