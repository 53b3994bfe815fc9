"""The live-traffic timeline and the energy trade-off: pooled numbers from known
records, the figures written, and a clear line where a run cannot give them."""

from __future__ import annotations

import json

import pytest

from semnet.analysis.__main__ import main
from semnet.analysis.runs import load_run
from semnet.analysis.timeline import timeline_of
from semnet.analysis.tradeoff import final_points


def _window(src, dst, start, *, images, lost, mean, p5, p50, p99, width=0.5):
    return {"split": "traffic", "branch": "main", "phase": "p1" if start < 1 else "p2", "src": src, "dst": dst,
            "window": int(start / width), "t_start_s": start, "t_end_s": start + width, "images": images,
            "delivered": images - lost, "lost": lost, "psnr_db_mean": mean, "psnr_db_p5": p5,
            "latency_s_mean": p50, "latency_s_p50": p50, "latency_s_p99": p99}


@pytest.fixture
def traffic_run(make_run, tmp_path):
    path = make_run(tmp_path / "run", method="fedavg")
    summary = json.loads((path / "summary.json").read_text())
    summary["phases"] = [{**summary["phases"][0], "name": "p1", "sim_time_s": 1.0, "sim_time_end_s": 1.0},
                         {**summary["phases"][0], "name": "p2", "sim_time_s": 1.0, "sim_time_end_s": 2.0}]
    summary["traffic"] = {"images_per_s": 10.0, "arrivals": "poisson", "queue": "fifo", "deadline_s": 0.05}
    (path / "summary.json").write_text(json.dumps(summary))
    records = [
        _window(0, 1, 0.0, images=4, lost=0, mean=10.0, p5=8.0, p50=0.005, p99=0.006),
        _window(1, 0, 0.0, images=2, lost=1, mean=22.0, p5=21.0, p50=0.007, p99=0.09),
        _window(0, 1, 1.5, images=3, lost=3, mean=None, p5=None, p50=0.2, p99=0.3),
        {"split": "deployment", "branch": "main", "phase": "p1", "node": 1, "role": "decoder", "t_s": 0.4,
         "version": 3, "via": "global_model"},
    ]
    with open(path / "metrics.jsonl", "a") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return path


def test_windows_are_pooled_over_links(traffic_run):
    line = timeline_of(load_run(traffic_run))
    assert list(line.t_s) == [0.25, 1.75]
    # delivered-weighted mean: (4 x 10 + 1 x 22) / 5; the worst link's 5th percentile
    assert line.psnr_mean_db[0] == pytest.approx(12.4)
    assert line.psnr_p5_worst_db[0] == 8.0
    assert line.latency_p50_s[0] == pytest.approx(0.006) and line.latency_p99_s[0] == 0.09
    assert line.lost_share[0] == pytest.approx(1 / 6) and line.lost_share[1] == 1.0
    assert str(line.psnr_mean_db[1]) == "nan"  # nothing delivered: no quality
    assert line.phases == [("p1", 0.0, 1.0), ("p2", 1.0, 2.0)]
    assert [d["t_s"] for d in line.deployments] == [0.4] and line.deadline_s == 0.05


def test_windows_with_sinr_give_the_images_weighted_sinr(traffic_run, tmp_path):
    with open(traffic_run / "metrics.jsonl") as handle:
        lines = [json.loads(line) for line in handle]
    for record in lines:  # the first window's two links met 4 dB (4 images) and 10 dB (2 images)
        if record.get("split") == "traffic" and record["t_start_s"] == 0.0:
            record["sinr_db_mean"] = 4.0 if record["src"] == 0 else 10.0
    (traffic_run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    line = timeline_of(load_run(traffic_run))
    assert line.sinr_mean_db[0] == pytest.approx((4 * 4.0 + 2 * 10.0) / 6) and str(line.sinr_mean_db[1]) == "nan"
    assert main(["timeline", str(traffic_run), "--out", str(tmp_path / "sinr.png")]) == 0
    assert timeline_of(load_run(_without_sinr(traffic_run, tmp_path))).sinr_mean_db is None


def _without_sinr(path, tmp_path):
    import shutil

    copy = tmp_path / "plain_copy"
    shutil.copytree(path, copy)
    lines = [json.loads(line) for line in (copy / "metrics.jsonl").read_text().splitlines() if line.strip()]
    (copy / "metrics.jsonl").write_text("".join(json.dumps({k: v for k, v in r.items() if k != "sinr_db_mean"})
                                                + "\n" for r in lines))
    return copy


def test_the_timeline_command_writes_the_named_figure(traffic_run, tmp_path, capsys):
    out = tmp_path / "fig" / "timeline.png"
    assert main(["timeline", str(traffic_run), "--out", str(out)]) == 0
    assert capsys.readouterr().out.split() == [str(out)]
    assert out.stat().st_size > 10_000


def test_a_run_without_traffic_is_one_line(make_run, tmp_path, capsys):
    path = make_run(tmp_path / "plain")
    assert main(["timeline", str(path), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "traffic" in err


def test_energy_tradeoff_of_runs_that_account_energy(make_run, tmp_path, capsys):
    runs = tmp_path / "runs"
    _with_energy(make_run(runs / "a", method="fedavg", psnr_db=20.0), 10.0)
    _with_energy(make_run(runs / "b", method="fedprox", psnr_db=21.0), 30.0)
    make_run(runs / "c", method="ditto", psnr_db=25.0)  # no energy: left out
    points = {p.label: (p.x, p.y) for p in final_points([load_run(runs / n) for n in "abc"], "energy_j")}
    assert points == {"fedavg": (10.0, 20.0), "fedprox": (30.0, 21.0)}
    assert main(["energy", str(runs), "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.split("/")[-1] for p in capsys.readouterr().out.split()) == ["tradeoff_energy.png",
                                                                                 "tradeoff_energy.svg"]
    assert main(["energy", str(runs / "c"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "energy" in err


def _with_energy(path, total_j: float):
    summary = json.loads((path / "summary.json").read_text())
    part = {"total_j": total_j, "compute_j": 0.25 * total_j, "tx_j": 0.0, "rx_j": 0.0, "idle_j": 0.0}
    summary["energy"] = {**part, "phases": {p["name"]: part for p in summary["phases"]},
                         "branches": {"main": {**part, "phases": {}}}, "users_j": total_j}
    (path / "summary.json").write_text(json.dumps(summary))
    return path


def test_several_runs_are_overlaid_one_line_each(traffic_run, tmp_path, capsys):
    import shutil

    from semnet.analysis.timeline import plot_timelines

    other = tmp_path / "other"
    shutil.copytree(traffic_run, other)
    summary = json.loads((other / "summary.json").read_text())
    (other / "summary.json").write_text(json.dumps({**summary, "name": "cell", "seed": 7}))
    lines = {"a": timeline_of(load_run(traffic_run)), "b": timeline_of(load_run(other))}
    top, bottom = plot_timelines(lines).axes
    drawn = {line.get_label(): line for line in top.get_lines()}
    assert set(drawn) == {"a", "b"}
    assert list(drawn["a"].get_ydata()[:1]) == pytest.approx([12.4])  # each line is its run's pooled windows
    p99 = {line.get_label(): list(line.get_ydata()) for line in bottom.get_lines() if line.get_label() in lines}
    assert p99["b"] == pytest.approx([90.0, 300.0])  # ms
    out = tmp_path / "both.png"
    assert main(["timeline", str(traffic_run), str(other), "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000
    assert main(["timeline", str(traffic_run), "--branch", "main", "--branch", "control_x", "--out", str(out)]) == 2
    assert "control_x" in capsys.readouterr().err
