"""The heterogeneity map and the keeping of runs as records, on synthetic run
directories whose numbers are chosen by hand."""

from __future__ import annotations

import gzip
import math
import json
from pathlib import Path

import pytest
import yaml

from conftest import complete_summary

from analysis.__main__ import main
from semnet.analysis.heterogeneity_map import (GRID_START, GRID_END, MapCell, MapPoint, map_cells, map_grid,
                                               map_csv, map_markdown, partition_label, write_map)
from semnet.analysis.verdict import seed_passes, verdicts
from semnet.analysis.keep import keep_runs
from semnet.analysis.runs import AnalysisError, load_runs


def write_map_run(path: Path, *, row: str, partition: dict, seed: int, start: float, finefed: float,
                  compute: float, bytes_: float, oracle: float | None,
                  accuracy: tuple[float, float] | None = None) -> Path:
    """``accuracy``: (FineFed's, compute-matched's) task accuracy, as ``evaluation.task`` writes it."""
    path.mkdir(parents=True)
    controls = [{"name": "compute_matched", "psnr_db": compute}, {"name": "bytes_matched", "psnr_db": bytes_}]
    if accuracy is not None:
        controls[0]["accuracy"] = accuracy[1]
    if oracle is not None:
        controls.append({"name": "oracle", "psnr_db": oracle})
    summary = {"name": f"map_{row}", "method": "finefed", "seed": seed, "psnr_db": finefed, "status": "complete",
               "phases": [{"name": "pretrain_fedavg", "psnr_db": start}], "controls": controls}
    if accuracy is not None:
        summary["accuracy"] = accuracy[0]
    (path / "summary.json").write_text(json.dumps(complete_summary(summary)))
    scenario = {"name": f"map_{row}", "seed": seed, "data": {"partition": partition},
                "method": {"name": "finefed"}}
    (path / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    return path


IID = {"kind": "iid"}
DIR01 = {"kind": "dirichlet", "alpha": 0.1}


@pytest.fixture()
def map_runs(tmp_path):
    root = tmp_path / "map"
    # IID on mixed SNRs: FineFed gains 0.5 dB (2.5 %) over 20 dB, loses to compute-matched in seed 1
    write_map_run(root / "mixed" / "iid0", row="mixed_snr", partition=IID, seed=0, start=20.0, finefed=20.5,
                  compute=20.4, bytes_=20.1, oracle=21.0)
    write_map_run(root / "mixed" / "iid1", row="mixed_snr", partition=IID, seed=1, start=20.0, finefed=20.5,
                  compute=20.7, bytes_=20.2, oracle=22.0)
    # Dir(0.1) on one SNR: wins both controls in both seeds, 5 % gain
    write_map_run(root / "same" / "d0", row="same_snr", partition=DIR01, seed=0, start=20.0, finefed=21.0,
                  compute=20.5, bytes_=20.4, oracle=22.0)
    write_map_run(root / "same" / "d1", row="same_snr", partition=DIR01, seed=1, start=20.0, finefed=21.0,
                  compute=20.9, bytes_=20.0, oracle=21.5)
    # IID on one SNR: beats both controls but gains only 0.1 dB (0.5 %)
    write_map_run(root / "same" / "i0", row="same_snr", partition=IID, seed=0, start=20.0, finefed=20.1,
                  compute=20.05, bytes_=20.0, oracle=20.6)
    # a run without the oracle is no map point
    write_map_run(root / "same" / "no_oracle", row="same_snr", partition=IID, seed=2, start=20.0, finefed=25.0,
                  compute=20.0, bytes_=20.0, oracle=None)
    return root


def test_cells_hold_paired_differences_by_hand(map_runs):
    cells = {(c.row, c.column): c for c in map_cells(load_runs([map_runs]))}
    mixed = cells[("mixed_snr", "IID")]
    assert len(mixed.points) == 2
    assert mixed.stat("headroom_db").mean == pytest.approx(1.5)            # (1.0 + 2.0) / 2
    assert mixed.stat("vs_compute_db").mean == pytest.approx(-0.05)        # (0.1 - 0.2) / 2
    assert mixed.stat("vs_compute_db").std == pytest.approx(0.2121320, rel=1e-5)  # sample std of 0.1 and -0.2
    assert mixed.wins("vs_compute_db") == 1
    assert mixed.stat("vs_bytes_db").mean == pytest.approx(0.35)
    assert mixed.stat("captured").mean == pytest.approx((0.5 / 1.0 + 0.5 / 2.0) / 2)
    assert mixed.stat("gain_pct").mean == pytest.approx(2.5)
    assert len(cells[("same_snr", "IID")].points) == 1  # the run without the oracle is left out


def test_the_per_seed_rule_needs_the_gain_and_both_controls_beaten(map_runs):
    cells = {(c.row, c.column): c for c in map_cells(load_runs([map_runs]))}
    assert all(seed_passes(p) for p in cells[("same_snr", "Dir(0.1)")].points)
    assert [seed_passes(p) for p in cells[("mixed_snr", "IID")].points] == [True, False]  # seed 1 behind compute
    assert not seed_passes(cells[("same_snr", "IID")].points[0])  # ahead of both, but 0.5 % < 1 %
    # two seeds a cell: no verdict yet, whatever the seeds say
    assert {v.label for v in verdicts(cells.values()).values()} == {"open"}


def _cell(row, compute_leads, bytes_leads, gain_pct=5.0):
    """A map cell whose seeds lead the controls by the given dB, start 20 dB."""
    finefed = 20.0 * (1 + gain_pct / 100)
    points = tuple(MapPoint(row, "IID", (0, 0.0), f"r{k}", k, 20.0, finefed, finefed - c, finefed - b, 25.0)
                   for k, (c, b) in enumerate(zip(compute_leads, bytes_leads)))
    return MapCell(row, "IID", (0, 0.0), points)


def test_a_cell_pays_with_five_passing_seeds_and_a_holm_significant_lead():
    from scipy import stats

    strong = _cell("a", [0.5, 0.6, 0.7, 0.5, 0.6], [0.4, 0.5, 0.6, 0.4, 0.5])
    weak = _cell("b", [0.05, 0.6, 0.01, 0.9, 0.02], [0.4, 0.5, 0.6, 0.4, 0.5])   # passes, but noisy
    lost = _cell("c", [0.5, 0.6, -0.1, 0.5, 0.6], [0.4, 0.5, 0.6, 0.4, 0.5])    # one seed behind
    few = _cell("d", [0.5, 0.6, 0.7], [0.4, 0.5, 0.6])
    got = verdicts([strong, weak, lost, few])
    # the p-values by hand: the larger one-sided t test of the two controls, Holm over the three judged cells
    p = {name: max(stats.ttest_1samp(c, 0, alternative="greater").pvalue,
                   stats.ttest_1samp(b, 0, alternative="greater").pvalue)
         for name, c, b in (("a", [0.5, 0.6, 0.7, 0.5, 0.6], [0.4, 0.5, 0.6, 0.4, 0.5]),
                            ("b", [0.05, 0.6, 0.01, 0.9, 0.02], [0.4, 0.5, 0.6, 0.4, 0.5]),
                            ("c", [0.5, 0.6, -0.1, 0.5, 0.6], [0.4, 0.5, 0.6, 0.4, 0.5]))}
    order = sorted(p, key=p.get)
    assert got[("a", "IID")].p_holm == pytest.approx(3 * p[order[0]]) and order[0] == "a"
    assert got[("a", "IID")].label == "pays"
    assert got[("b", "IID")].passing == 5 and got[("b", "IID")].p > 0.05 and got[("b", "IID")].label == "no"
    assert got[("c", "IID")].passing == 4 and got[("c", "IID")].label == "no"
    assert got[("d", "IID")].label == "open" and math.isnan(got[("d", "IID")].p_holm)
    # the gain condition alone fails a cell whose leads are large
    assert verdicts([_cell("e", [0.5] * 5, [0.5] * 5, gain_pct=0.9)])[("e", "IID")].label == "no"


def test_every_other_matched_control_of_the_run_counts_and_the_oracle_does_not(tmp_path):
    from scipy import stats

    root = tmp_path / "map"
    ifca_leads = [0.3, 0.2, -0.1, 0.4, 0.3]  # IFCA ahead of FineFed in seed 2
    for k, lead in enumerate(ifca_leads):
        run = write_map_run(root / f"s{k}", row="two_clusters", partition=IID, seed=k, start=20.0, finefed=21.0,
                            compute=20.5 - 0.1 * k, bytes_=20.4 - 0.05 * k, oracle=20.9)  # oracle below FineFed: no matter
        summary = json.loads((run / "summary.json").read_text())
        summary["controls"].append({**summary["controls"][0], "name": "ifca", "psnr_db": 21.0 - lead})
        (run / "summary.json").write_text(json.dumps(summary))
    (cell,) = map_cells(load_runs([root]))
    assert [seed_passes(p) for p in cell.points] == [True, True, False, True, True]
    verdict = verdicts([cell])[("two_clusters", "IID")]
    assert verdict.passing == 4 and verdict.label == "no"
    # the p-value: the largest one-sided t test over compute-, bytes-matched and IFCA, by hand
    compute, bytes_ = [0.5 + 0.1 * k for k in range(5)], [0.6 + 0.05 * k for k in range(5)]
    want = max(stats.ttest_1samp(x, 0, alternative="greater").pvalue for x in (compute, bytes_, ifca_leads))
    assert verdict.p == pytest.approx(want, rel=1e-6)
    table = map_markdown([cell])
    assert "- two_clusters, IID, `ifca`: 0.22 ± 0.19" in table and "(4/5 seeds ahead)" in table


def _companion(path: Path, *, seed: int, start: float, finefed: float, controls: dict[str, float]) -> Path:
    """A run of the same start and FineFed as a map point that ran further controls only."""
    run = write_map_run(path, row="two_clusters", partition=IID, seed=seed, start=start, finefed=finefed,
                        compute=0.0, bytes_=0.0, oracle=None)
    summary = json.loads((run / "summary.json").read_text())
    summary["controls"] = [{**summary["controls"][0], "name": name, "psnr_db": db} for name, db in controls.items()]
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_a_companion_run_of_the_same_start_brings_its_controls_into_the_verdict(tmp_path, caplog):
    for k in range(5):
        write_map_run(tmp_path / "map" / f"s{k}", row="two_clusters", partition=IID, seed=k, start=20.0,
                      finefed=21.0, compute=20.5, bytes_=20.4 - 0.01 * k, oracle=22.0)
    # seed 0's companion: IFCA 0.2 dB ahead of FineFed, so that seed fails; seed 7: no map point has it
    s0 = _companion(tmp_path / "controls" / "s0", seed=0, start=20.0, finefed=21.0, controls={"ifca": 21.2})
    summary = json.loads((s0 / "summary.json").read_text())
    summary["controls"][0].update(local_passes=812, lr=3e-4, clusters=[{"user": 1, "cluster": 0}, {"user": 0, "cluster": 1}])
    summary["finetune_budget"] = {"local_passes": 744}
    (s0 / "summary.json").write_text(json.dumps(summary))
    _companion(tmp_path / "controls" / "s7", seed=7, start=20.0, finefed=21.0, controls={"ifca": 25.0})
    alone = verdicts(map_cells(load_runs([tmp_path / "map"])))[("two_clusters", "IID")]
    (cell,) = map_cells(load_runs([tmp_path / "map", tmp_path / "controls"]))
    joined = verdicts([cell])[("two_clusters", "IID")]
    assert (alone.passing, alone.label) == (5, "pays")
    assert (joined.passing, joined.label) == (4, "no")
    assert [dict(p.vs_others_db).get("ifca") for p in cell.points] == [pytest.approx(-0.2), None, None, None, None]
    assert cell.points[0].companion_dirs and cell.points[0].companion_dirs[0].endswith("controls/s0")
    assert "controls/s0" in map_csv([cell]).splitlines()[1]
    assert "controls/s7: its controls (ifca) join no map point" in caplog.text
    # the per-seed page: the control's PSNR, FineFed's lead, passes against FineFed's, its rate and clusters by user
    write_map([cell], tmp_path / "out")
    page = (tmp_path / "out" / "map_controls.md").read_text()
    assert "| two_clusters | IID | 0 | `ifca` | 21.20 | -0.200 | – | 812 / 744 | lr 0.0003; clusters by user 10 |" in page
    write_map(map_cells(load_runs([tmp_path / "map"])), tmp_path / "alone")
    assert not (tmp_path / "alone" / "map_controls.md").exists()


def test_a_companion_of_another_start_is_paired_with_its_own_finefed(tmp_path):
    """A run of the same seed whose start differs (another CPU's last bits) joins by seed;
    its controls are judged against its own FineFed, never against the point's."""
    for k in range(5):
        write_map_run(tmp_path / "map" / f"s{k}", row="two_clusters", partition=IID, seed=k, start=20.0,
                      finefed=21.0, compute=20.5, bytes_=20.4, oracle=22.0)
    # seed 1 ran again from a start 1 dB higher: FineFed 22.3 there, IFCA 22.5 (0.2 dB ahead of *its* FineFed,
    # though 1.5 dB above the point's FineFed of 21.0), FedRep 22.0 (0.3 dB behind it)
    other = _companion(tmp_path / "controls" / "s1", seed=1, start=21.0, finefed=22.3,
                       controls={"ifca": 22.5, "fedrep": 22.0, "compute_matched": 30.0})
    summary = json.loads((other / "summary.json").read_text())
    summary["finetune_budget"] = {"local_passes": 700}
    summary["ssim"] = 0.80  # its FineFed's; the point's own run has none
    summary["controls"][0]["ssim"] = 0.83
    (other / "summary.json").write_text(json.dumps(summary))
    point_summary = json.loads((tmp_path / "map" / "s1" / "summary.json").read_text())
    point_summary["finetune_budget"] = {"local_passes": 744}
    (tmp_path / "map" / "s1" / "summary.json").write_text(json.dumps(point_summary))
    (cell,) = map_cells(load_runs([tmp_path / "map", tmp_path / "controls"]))
    point = cell.points[1]
    assert dict(point.vs_others_db) == {"fedrep": pytest.approx(0.3), "ifca": pytest.approx(-0.2)}
    ifca = next(c for c in point.other_controls if c.name == "ifca")
    assert ifca.lead_ssim == pytest.approx(-0.03) and not ifca.same_start and ifca.finefed_passes == 700
    assert point.finefed_passes == 744                   # the point's own FineFed budget, not the other run's
    assert point.vs_compute_db == pytest.approx(0.5)       # the point's own compute-matched, not the other run's
    assert point.start_psnr_db == 20.0 and point.finefed_psnr_db == 21.0
    assert point.companion_dirs[0].endswith("controls/s1")
    assert not seed_passes(point) and verdicts([cell])[("two_clusters", "IID")].passing == 4
    write_map([cell], tmp_path / "out")
    page = (tmp_path / "out" / "map_controls.md").read_text()
    row = next(line for line in page.splitlines() if "`ifca`" in line)
    assert "| 1 | `ifca` | 22.50 | -0.200 | -0.0300 | – / 700 |" in row
    assert "another run of the seed" in row and "its start 21.00 dB, its FineFed 22.30 dB" in row


def test_a_same_start_companion_wins_over_another_run_of_the_seed(tmp_path):
    write_map_run(tmp_path / "map" / "s0", row="two_clusters", partition=IID, seed=0, start=20.0, finefed=21.0,
                  compute=20.5, bytes_=20.4, oracle=22.0)
    _companion(tmp_path / "a_other" / "s0", seed=0, start=19.0, finefed=20.0, controls={"ifca": 19.0})
    _companion(tmp_path / "b_same" / "s0", seed=0, start=20.0, finefed=21.0, controls={"ifca": 20.9})
    (cell,) = map_cells(load_runs([tmp_path / "map", tmp_path / "a_other", tmp_path / "b_same"]))
    (ifca,) = cell.points[0].other_controls
    assert ifca.same_start and ifca.lead_db == pytest.approx(0.1)


def test_two_other_starts_of_one_seed_with_one_control_are_refused_not_chosen_silently(tmp_path):
    write_map_run(tmp_path / "map" / "s0", row="two_clusters", partition=IID, seed=0, start=20.0, finefed=21.0,
                  compute=20.5, bytes_=20.4, oracle=22.0)
    _companion(tmp_path / "a" / "s0", seed=0, start=19.0, finefed=20.0, controls={"ifca": 19.0})
    _companion(tmp_path / "b" / "s0", seed=0, start=19.5, finefed=20.0, controls={"ifca": 20.5, "fedrep": 19.0})
    with pytest.raises(AnalysisError, match="both ran control ifca"):
        map_cells(load_runs([tmp_path / "map", tmp_path / "a", tmp_path / "b"]))


def test_another_start_without_finefed_or_further_controls_joins_nothing(tmp_path, caplog):
    write_map_run(tmp_path / "map" / "s0", row="two_clusters", partition=IID, seed=0, start=20.0, finefed=21.0,
                  compute=20.5, bytes_=20.4, oracle=22.0)
    broken = _companion(tmp_path / "c" / "broken", seed=0, start=19.0, finefed=20.0, controls={"ifca": 25.0})
    summary = json.loads((broken / "summary.json").read_text())
    summary["psnr_db"] = None  # e.g. a run stopped before FineFed scored
    (broken / "summary.json").write_text(json.dumps(summary))
    _companion(tmp_path / "c" / "rate", seed=0, start=20.0, finefed=21.3, controls={})  # FineFed at another rate
    (cell,) = map_cells(load_runs([tmp_path / "map", tmp_path / "c"]))
    assert cell.points[0].other_controls == () and cell.points[0].companion_dirs == ()
    assert "c/broken: no start or FineFed PSNR" in caplog.text


def test_two_runs_of_one_seed_with_every_needed_control_and_different_starts_are_refused(tmp_path):
    for name, start in (("a", 20.0), ("b", 20.5)):
        write_map_run(tmp_path / name / "s0", row="two_clusters", partition=IID, seed=0, start=start,
                      finefed=21.0, compute=20.5, bytes_=20.4, oracle=22.0)
    with pytest.raises(AnalysisError, match="two runs of seed 0 of one map cell"):
        map_cells(load_runs([tmp_path / "a", tmp_path / "b"]))


def test_a_second_record_of_one_point_is_not_a_second_seed(map_runs, tmp_path):
    import shutil

    shutil.copytree(map_runs / "mixed" / "iid0", tmp_path / "rerun" / "iid0")  # e.g. a re-run that scored accuracy
    cells = {(c.row, c.column): c for c in map_cells(load_runs([map_runs, tmp_path / "rerun"]))}
    assert len(cells[("mixed_snr", "IID")].points) == 2
    assert cells[("mixed_snr", "IID")].points[0].companion_dirs[0].endswith("rerun/iid0")


def test_companions_that_disagree_on_a_control_are_one_clear_error(tmp_path):
    write_map_run(tmp_path / "map" / "s0", row="two_clusters", partition=IID, seed=0, start=20.0, finefed=21.0,
                  compute=20.5, bytes_=20.4, oracle=22.0)
    _companion(tmp_path / "controls" / "s0", seed=0, start=20.0, finefed=21.0, controls={"compute_matched": 20.6})
    with pytest.raises(AnalysisError, match="control compute_matched at 20.6 and 20.5 dB"):
        map_cells(load_runs([tmp_path / "map", tmp_path / "controls"]))


def test_the_table_says_how_many_starts_met_the_plateau_rule(map_runs):
    for name, converged in (("iid0", True), ("iid1", False)):
        path = map_runs / "mixed" / name / "summary.json"
        summary = json.loads(path.read_text())
        summary["phases"][0]["converged"] = converged
        path.write_text(json.dumps(summary))
    table = map_markdown(map_cells(load_runs([map_runs])))
    mixed = next(line for line in table.splitlines() if line.startswith("| mixed_snr | IID |"))
    same = next(line for line in table.splitlines() if line.startswith("| same_snr | IID |"))
    assert mixed.split(" | ")[4] == "1/2"          # one start hit the round cap
    assert same.split(" | ")[4] == "–"             # no start says


def test_verify_fails_when_the_readme_grid_disagrees_with_the_records(map_runs, tmp_path, capsys):
    out = tmp_path / "fig"
    assert main(["map", str(map_runs), "--out", str(out)]) == 0
    grid = map_grid(map_cells(load_runs([map_runs])))
    good = tmp_path / "README.md"
    good.write_text(f"text\n{GRID_START}\n{grid}{GRID_END}\nmore\n")
    assert main(["map", str(map_runs), "--out", str(out), "--verify", str(good)]) == 0
    bad = tmp_path / "BAD.md"
    bad.write_text(good.read_text().replace("(2/2 pass) open", "(2/2 pass) **pays**"))
    capsys.readouterr()
    assert main(["map", str(map_runs), "--out", str(out), "--verify", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "same_snr" in err and "disagrees" in err
    assert (out / "map_grid.md").read_text() == grid  # the records' grid, to paste


def test_rows_and_columns_come_in_reading_order(map_runs):
    cells = map_cells(load_runs([map_runs]))
    assert [(c.row, c.column) for c in cells] == [("same_snr", "IID"), ("same_snr", "Dir(0.1)"), ("mixed_snr", "IID")]
    labels = [partition_label(p)[0] for p in ({"kind": "source"}, DIR01, {"kind": "dirichlet", "alpha": 0.5}, IID)]
    assert sorted(labels, key=lambda lab: {"IID": 0, "Dir(0.5)": 1, "Dir(0.1)": 2, "disjoint sources": 3}[lab]) == [
        "IID", "Dir(0.5)", "Dir(0.1)", "disjoint sources"]
    keys = [partition_label(p)[1] for p in (IID, {"kind": "dirichlet", "alpha": 0.5}, DIR01, {"kind": "source"})]
    assert keys == sorted(keys)
    table = map_markdown(cells)
    assert "| mixed_snr | IID | 2 |" in table and "-0.05 ± 0.21 [-1.96, +1.86] (1/2)" in table


def test_cli_writes_the_table_the_runs_and_the_figure(map_runs, tmp_path, capsys):
    out = tmp_path / "fig"
    assert main(["map", str(map_runs), "--out", str(out)]) in (0, None)
    for name in ("map.md", "map.csv", "map.png", "map.svg"):
        assert (out / name).is_file()
    rows = (out / "map.csv").read_text().splitlines()
    assert len(rows) == 1 + 5
    assert any(str(map_runs / "same" / "d1") in row for row in rows)


def test_no_map_point_is_one_clear_error(tmp_path, capsys):
    write_map_run(tmp_path / "r", row="x", partition=IID, seed=0, start=1, finefed=2, compute=1, bytes_=1, oracle=None)
    with pytest.raises(AnalysisError, match="oracle"):
        map_cells(load_runs([tmp_path]))
    assert main(["map", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "oracle" in err[0]


def test_keep_copies_finished_runs_with_events_compressed(map_runs, tmp_path):
    done = map_runs / "same" / "d0"
    (done / "events.jsonl").write_text('{"t": 1}\n{"t": 2}\n')
    (done / "metrics.jsonl").write_text('{"round": 1}\n')
    (done / "checkpoints").mkdir()
    (done / "checkpoints" / "global.pt").write_bytes(b"weights")
    (done / "checkpoints" / "resume.pt").write_bytes(b"big")
    busy = map_runs / "same" / "running"
    busy.mkdir()
    (busy / "events.jsonl.part").write_text("{}\n")
    dest = tmp_path / "results"
    written = keep_runs([map_runs], dest, checkpoints=("global.pt",))
    assert len(written) == 6  # every finished run, not the one in progress
    kept = dest / "same" / "d0"
    assert gzip.decompress((kept / "events.jsonl.gz").read_bytes()) == b'{"t": 1}\n{"t": 2}\n'
    assert (kept / "metrics.jsonl").read_text() == '{"round": 1}\n'
    assert (kept / "global.pt").read_bytes() == b"weights"
    assert not (kept / "resume.pt").exists() and not (dest / "same" / "running").exists()
    assert json.loads((kept / "summary.json").read_text())["psnr_db"] == 21.0
    assert keep_runs([map_runs], dest) == []  # nothing new: nothing copied again
    summary = json.loads((done / "summary.json").read_text())
    (done / "summary.json").write_text(json.dumps({**summary, "psnr_db": 21.5}))
    assert keep_runs([map_runs], dest) == [kept]  # a run finished again is kept again


def test_keep_of_a_missing_folder_is_one_clear_error(tmp_path, capsys):
    assert main(["keep", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing" in err[0]


def test_a_finefed_variant_gets_rows_of_its_own(map_runs):
    path = write_map_run(map_runs / "joint" / "d0", row="same_snr", partition=DIR01, seed=0, start=20.0,
                         finefed=21.2, compute=20.5, bytes_=20.4, oracle=22.0)
    summary = json.loads((path / "summary.json").read_text())
    (path / "summary.json").write_text(json.dumps({**summary, "method": "finefed_joint"}))
    cells = map_cells(load_runs([map_runs]))
    assert [(c.row, c.column) for c in cells][:3] == [("same_snr", "IID"), ("same_snr", "Dir(0.1)"),
                                                      ("same_snr [finefed_joint]", "Dir(0.1)")]
    joint = cells[2]
    assert len(joint.points) == 1 and joint.stat("vs_compute_db").mean == pytest.approx(0.7)


def test_the_readme_grid_is_what_the_committed_records_give(tmp_path):
    """The headline grid of the README is recomputed from results/map (with the further
    controls of results/map_controls joined to their points, and FineFed's other rates of
    results/map_finefed_rate on finefed_rates.md) and must agree."""
    root = Path(__file__).resolve().parents[2]
    records = [str(root / "results" / name) for name in ("map", "map_controls", "map_finefed_rate")]
    assert main(["map", *records, "--out", str(tmp_path), "--verify", str(root / "README.md")]) == 0
    # and the committed table is the one these records give
    for page in ("map.md", "map_controls.md", "finefed_rates.md"):
        assert (tmp_path / page).read_text() == (root / "docs" / "results" / "map" / page).read_text(), page


def test_verify_of_a_missing_file_is_one_line(map_runs, tmp_path, capsys):
    assert main(["map", str(map_runs), "--out", str(tmp_path / "o"), "--verify", str(tmp_path / "nope.md")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.md" in err and "Traceback" not in err


def test_task_accuracy_sits_beside_psnr_over_the_seeds_that_scored_it(tmp_path):
    root = tmp_path / "map"
    # three seeds of one cell: two scored a task (FineFed ahead by 10 and 20 points), one did not
    for seed, accuracy in ((0, (0.60, 0.50)), (1, (0.70, 0.50)), (2, None)):
        write_map_run(root / f"s{seed}", row="two_clusters", partition=IID, seed=seed, start=20.0, finefed=21.0,
                      compute=20.5, bytes_=20.4, oracle=22.0, accuracy=accuracy)
    [cell] = map_cells(load_runs([root]))
    diffs = [p.vs_compute_accuracy_points for p in cell.points]
    assert diffs[:2] == [pytest.approx(10.0), pytest.approx(20.0)] and math.isnan(diffs[2])
    row = [line for line in map_markdown([cell]).splitlines() if line.startswith("| two_clusters")][0]
    half = 12.706205 * math.sqrt(50.0) / math.sqrt(2)  # t(0.975, 1) * sample std / sqrt(n)
    assert f"| 15.0 ± 7.1 [{15.0 - half:+.1f}, {15.0 + half:+.1f}] (2/2) |" in row
    # a cell without any task keeps a dash
    plain = tmp_path / "plain"
    write_map_run(plain / "s0", row="same_snr", partition=IID, seed=0, start=20.0, finefed=21.0, compute=20.5,
                  bytes_=20.4, oracle=22.0)
    [cell] = map_cells(load_runs([plain]))
    assert "| – |" in map_markdown([cell])


def _finefed_at(path: Path, *, lr: float, start: float, finefed: float, validation: float,
                controls: dict[str, float] | None = None) -> Path:
    """A two_clusters IID seed-0 run of FineFed at fine-tuning rate ``lr`` (with further controls if given)."""
    run = _companion(path, seed=0, start=start, finefed=finefed, controls=controls or {})
    summary = json.loads((run / "summary.json").read_text())
    summary["phases"].append({**summary["phases"][0], "name": "finefed_2_decoder", "psnr_db": finefed,
                              "validation_psnr_db": validation})
    (run / "summary.json").write_text(json.dumps(summary))
    scenario = yaml.safe_load((run / "scenario.yaml").read_text())
    scenario["method"]["finetune"] = {"encoder": {"lr": lr}, "decoder": {"lr": lr}}
    (run / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    return run


def test_finefed_keeps_the_rate_of_best_validation_psnr_and_is_compared_with_its_starts_controls(tmp_path):
    from semnet.analysis.map_rates import rate_starts, rates_markdown

    write_map_run(tmp_path / "map" / "s0", row="two_clusters", partition=IID, seed=0, start=20.0, finefed=21.0,
                  compute=20.5, bytes_=20.4, oracle=22.0)
    # another start of seed 0: FineFed at 3e-4 beside IFCA (21.6), alone at 1e-3 (best on validation,
    # though not on test) and at 1e-4
    _finefed_at(tmp_path / "c" / "r3", lr=3e-4, start=19.0, finefed=21.5, validation=22.0, controls={"ifca": 21.6})
    _finefed_at(tmp_path / "c" / "r10", lr=1e-3, start=19.0, finefed=21.4, validation=22.3)
    _finefed_at(tmp_path / "c" / "r1", lr=1e-4, start=19.0, finefed=21.7, validation=21.9)
    _finefed_at(tmp_path / "c" / "other", lr=1e-3, start=18.0, finefed=30.0, validation=30.0)  # a third start, alone
    runs = load_runs([tmp_path / "map", tmp_path / "c"])
    (start,) = rate_starts(runs)
    assert (start.seed, start.start_psnr_db) == (0, 19.0)
    assert [r.lr for r in start.rates] == [1e-4, 3e-4, 1e-3]
    assert start.chosen.lr == 1e-3 and start.controls == (("ifca", 21.6),)
    page = rates_markdown([start])
    assert "| 0.0001: 21.70 (21.90), 0.0003: 21.50 (22.00), 0.001: 21.40 (22.30) | 0.001 | `ifca` -0.200 |" in page
    # the map itself is unchanged by FineFed-only runs: IFCA paired with FineFed at 3e-4 of its own run
    (cell,) = map_cells(runs)
    assert dict(cell.points[0].vs_others_db) == {"ifca": pytest.approx(-0.1)}
    assert main(["map", str(tmp_path / "map"), str(tmp_path / "c"), "--out", str(tmp_path / "out")]) == 0
    assert main(["map", str(tmp_path / "map"), "--out", str(tmp_path / "alone")]) == 0  # no rates: no page
    assert (tmp_path / "out" / "finefed_rates.md").read_text() == page
    assert not (tmp_path / "alone" / "finefed_rates.md").exists()
