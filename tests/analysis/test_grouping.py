"""Like with like (:mod:`semnet.analysis.grouping`): runs that differ in more than the
seed are never averaged silently; ``--group-by`` separates them, ``--pool`` names them;
``analyse plot`` draws any outcome against any scenario key."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

from semnet.analysis.__main__ import main
from semnet.analysis.grouping import differences, with_groups
from semnet.analysis.plot import plot_points
from semnet.analysis.runs import AnalysisError, load_runs


def _set(path, dotted: str, value) -> None:
    """Set a key of a synthetic run's scenario.yaml."""
    scenario = yaml.safe_load((path / "scenario.yaml").read_text())
    node = scenario
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    (path / "scenario.yaml").write_text(yaml.safe_dump(scenario))


def _with_traffic(path, images: int, lost: int, psnr_db: float) -> None:
    """A traffic section as the runner writes it (main branch only)."""
    summary = json.loads((path / "summary.json").read_text())
    stats = {"images": images, "delivered": images - lost, "lost": lost, "psnr_db_mean": psnr_db,
             "psnr_db_p5": psnr_db - 3.0, "latency_s_mean": 0.01, "latency_s_p50": 0.008, "latency_s_p99": 0.05}
    summary["traffic"] = {"images_per_s": 5.0, "arrivals": "poisson", "queue": "fifo",
                          "branches": {"main": {**stats, "phases": {}}}}
    (path / "summary.json").write_text(json.dumps(summary))


@pytest.fixture
def media_runs(tmp_path, make_run):
    """fedavg on two media, seeds 1 and 2: PSNR 20 + seed on cell, 25 + seed on dedicated."""
    root = tmp_path / "media"
    for medium, base in (("cell", 20.0), ("dedicated", 25.0)):
        for seed in (1, 2):
            path = make_run(root / f"{medium}-{seed}", seed=seed, psnr_db=base + seed)
            _set(path, "links.medium", medium)
            _with_traffic(path, images=100, lost=10 * seed if medium == "cell" else seed, psnr_db=base)
    return root


def test_a_table_of_two_media_is_refused_in_one_line_naming_the_key(media_runs, tmp_path, capsys):
    assert main(["table", str(media_runs), "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "links.medium" in err and "cell" in err and "dedicated" in err and "--group-by" in err
    assert not (tmp_path / "t" / "methods.md").exists()


def test_group_by_separates_rows_and_each_row_is_one_setting_over_seeds(media_runs, tmp_path):
    out = tmp_path / "t"
    assert main(["table", str(media_runs), "--out", str(out), "--group-by", "links.medium"]) == 0
    rows = {r["method"]: r for r in csv.DictReader(io.StringIO((out / "methods.csv").read_text()))}
    assert set(rows) == {"fedavg [links.medium=cell]", "fedavg [links.medium=dedicated]"}
    cell, dedicated = rows["fedavg [links.medium=cell]"], rows["fedavg [links.medium=dedicated]"]
    assert float(cell["psnr_db_mean"]) == pytest.approx(21.5) and cell["seeds"] == "1 2"
    assert float(dedicated["psnr_db_mean"]) == pytest.approx(26.5)
    # the live images' columns: 10 and 20 of 100 lost on the cell -> 15 %
    assert float(cell["image_loss_pct_mean"]) == pytest.approx(15.0)
    assert float(dedicated["image_loss_pct_mean"]) == pytest.approx(1.5)
    assert "images lost (%)" in (out / "methods.md").read_text()


def test_pool_averages_anyway_and_the_table_says_what_it_mixed(media_runs, tmp_path):
    out = tmp_path / "t"
    assert main(["table", str(media_runs), "--out", str(out), "--pool"]) == 0
    text = (out / "methods.md").read_text()
    assert "Pooled on request" in text and "links.medium" in text
    row = next(csv.DictReader(io.StringIO((out / "methods.csv").read_text())))
    assert float(row["psnr_db_mean"]) == pytest.approx((21 + 22 + 26 + 27) / 4)


def test_seed_and_bookkeeping_never_differ_and_a_checkpoint_per_seed_is_seed_bound(tmp_path, make_run):
    runs = []
    for seed in (1, 2, 3):
        path = make_run(tmp_path / f"r{seed}", seed=seed)
        _set(path, "model.checkpoint", f"starts/seed={seed}/global.pt")
        _set(path, "output.dir", f"somewhere{seed}")
        _set(path, "simulation.workers", seed)
        runs.append(path)
    assert differences(load_runs([tmp_path])) == {}
    # the same start for two seeds and another for the third: not one start per seed
    _set(runs[1], "model.checkpoint", "starts/seed=1/global.pt")
    assert list(differences(load_runs([tmp_path]))) == ["model.checkpoint"]


def test_group_by_a_key_no_run_has_is_one_line(media_runs, tmp_path, capsys):
    assert main(["table", str(media_runs), "--out", str(tmp_path / "t"), "--group-by", "links.mediun"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "links.mediun" in err


def test_group_by_name_uses_the_scenario_name(media_runs):
    for path in media_runs.iterdir():
        name = path.name.split("-")[0]
        _set(path, "name", name)
        summary = json.loads((path / "summary.json").read_text())
        (path / "summary.json").write_text(json.dumps({**summary, "name": name}))
    runs = with_groups(load_runs([media_runs]), ["name"])
    assert {r.group for r in runs} == {"name=cell", "name=dedicated"}


def test_snr_points_refuse_runs_that_differ_outside_links_and_topology(snr_runs, tmp_path, capsys):
    import shutil

    snr_runs = shutil.copytree(snr_runs, tmp_path / "runs")  # the session's runs stay as they are
    out = tmp_path / "s"
    assert main(["snr", str(snr_runs), "--out", str(out), "--x", "snr_db"]) == 0  # the sweep itself is fine
    path = next(p for p in sorted(snr_runs.rglob("scenario.yaml"))).parent
    _set(path, "method.federated.rounds", 99)
    assert main(["snr", str(snr_runs), "--out", str(out), "--x", "snr_db"]) == 2
    assert "method.federated.rounds" in capsys.readouterr().err


def test_plot_any_outcome_against_a_categorical_key_by_group(media_runs, tmp_path):
    points = plot_points(load_runs([media_runs]), "image_loss_share", "links.medium")
    assert [(p.label, p.x, round(p.y, 6), p.seeds) for p in points] == [
        ("fedavg", "cell", 0.15, (1, 2)), ("fedavg", "dedicated", 0.015, (1, 2))]
    out = tmp_path / "p"
    assert main(["plot", str(media_runs), "--out", str(out), "--y", "delivered_psnr_db", "--x", "links.medium"]) == 0
    rows = list(csv.DictReader(io.StringIO((out / "delivered_psnr_db_vs_links.medium.csv").read_text())))
    assert [(r["links.medium"], float(r["delivered_psnr_db_mean"])) for r in rows] == [("cell", 20.0),
                                                                                        ("dedicated", 25.0)]
    assert (out / "delivered_psnr_db_vs_links.medium.png").stat().st_size > 0


def test_plot_refuses_runs_at_one_x_that_differ_elsewhere(media_runs, tmp_path, capsys):
    # at each medium the two seeds differ in the traffic rate too: a hidden second variable
    for path in media_runs.iterdir():
        _set(path, "traffic.images_per_s", 5.0 if path.name.endswith("1") else 10.0)
    assert main(["plot", str(media_runs), "--out", str(tmp_path / "p"), "--y", "psnr_db", "--x",
                 "links.medium"]) == 2
    assert "traffic.images_per_s" in capsys.readouterr().err
    runs = load_runs([media_runs])
    grouped = plot_points(with_groups(runs, ["traffic.images_per_s"]), "psnr_db", "links.medium")
    assert len({p.label for p in grouped}) == 2 and all(len(p.seeds) == 1 for p in grouped)


def test_plot_of_an_outcome_no_run_has_is_one_line(main_runs, tmp_path):
    with pytest.raises(AnalysisError, match="latency_p99_s"):
        plot_points(load_runs([main_runs]), "latency_p99_s", "links.snr_db")


def test_map_group_by_writes_one_map_per_group(tmp_path, capsys):
    from test_analysis_map import write_map_run  # the map tests' synthetic runs

    for medium in ("cell", "dedicated"):
        for seed in (0, 1):
            path = write_map_run(tmp_path / "runs" / f"{medium}{seed}", row="same_snr", partition={"kind": "iid"},
                                 seed=seed, start=20.0, finefed=21.0, compute=20.5, bytes_=20.4, oracle=22.0)
            _set(path, "links.medium", medium)
    out = tmp_path / "maps"
    assert main(["map", str(tmp_path / "runs"), "--out", str(out), "--group-by", "links.medium"]) == 0
    assert (out / "links.medium_cell" / "map.md").is_file() and (out / "links.medium_dedicated" / "map.md").is_file()


def test_snr_plots_any_outcome(tmp_path, make_run):
    """`snr --metric` takes every outcome: the share of live images lost against SNR."""
    root = tmp_path / "sweep"
    for snr in (0.0, 10.0):
        for seed in (1, 2):
            path = make_run(root / f"s{snr:g}-{seed}", seed=seed, snr_db=snr)
            _with_traffic(path, images=100, lost=int(40 - 3 * snr) + seed, psnr_db=20.0 + snr)
    out = tmp_path / "out"
    assert main(["snr", str(root), "--out", str(out), "--x", "snr_db", "--metric", "image_loss_share"]) == 0
    assert (out / "image_loss_share_vs_snr.png").is_file()
    from semnet.analysis.snr import snr_series

    points = snr_series(load_runs([root]), "snr_db", "image_loss_share")["fedavg"]
    assert [(p.x, round(p.y, 4)) for p in points] == [(0.0, 0.415), (10.0, 0.115)]


def test_task_accuracy_is_an_outcome_to_plot_against_the_swept_snr():
    """The committed fixed-SNR records (evaluation.task: classify): the plotted accuracy of
    each (fading, SNR) is the mean of the runs' own summary.json accuracy."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "results" / "digital" / "quickstart_snr"
    expected: dict = {}
    for summary_file in root.glob("*/summary.json"):
        scenario = yaml.safe_load((summary_file.parent / "scenario.yaml").read_text())
        key = (f"finefed [links.fading={scenario['links']['fading']}]", scenario["links"]["snr_db"])
        expected.setdefault(key, []).append(json.loads(summary_file.read_text())["accuracy"])
    points = plot_points(with_groups(load_runs([root]), ["links.fading"]), "accuracy", "links.snr_db",
                         final_only=True)
    assert len(points) == len(expected) == 6
    for p in points:
        values = expected[(p.label, p.x)]
        assert len(p.seeds) == len(values) == 5
        assert p.y == pytest.approx(sum(values) / len(values), abs=1e-12)
