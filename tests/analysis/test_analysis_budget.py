"""Budget curves: FineFed at several budgets and its controls against extra bytes and
passes, and the comparisons at equal bytes / passes read off those curves."""

import csv
import io
import json

import pytest
import yaml

from conftest import complete_summary

from semnet.analysis.__main__ import main
from semnet.analysis.budget import budget_points, comparisons, curves
from semnet.analysis.runs import load_runs

# (K, FineFed bytes, passes, PSNR gain) and per control (bytes, passes, PSNR gain) at that budget
BUDGETS = {
    1: (100_000, 100, 1.0, {"compute_matched": (300_000, 100, 0.5), "bytes_matched": (100_000, 300, 0.2),
                            "local_finetune": (0, 100, 0.3)}),
    2: (200_000, 200, 1.5, {"compute_matched": (600_000, 200, 1.0), "bytes_matched": (200_000, 600, 0.4),
                            "local_finetune": (0, 200, 0.6)}),
}


def _write(path, k: int, seed: int, start_db: float) -> None:
    spent, passes, gain, controls = BUDGETS[k]
    path.mkdir(parents=True)
    summary = {
        "status": "complete", "method": "finefed", "seed": seed, "psnr_db": start_db + gain,
        "phases": [{"name": "pretrain_fedavg", "psnr_db": start_db}, {"name": "finefed_1_decoder",
                                                                    "psnr_db": start_db + gain}],
        "finetune_budget": {"bytes": spent, "local_passes": passes, "local_steps": passes},
        "controls": [{"name": n, "bytes": b, "local_passes": p, "psnr_db": start_db + g}
                     for n, (b, p, g) in controls.items()] + [{"name": "oracle", "bytes": 0, "local_passes": 9999,
                                                               "psnr_db": start_db + 5}],
    }
    scenario = {"seed": seed, "method": {"name": "finefed", "finetune": {
        "iterations": k, "encoder": {"steps": 20}, "decoder_rounds": 2, "decoder": {"steps": 10}}}}
    (path / "summary.json").write_text(json.dumps(complete_summary(summary)))
    (path / "scenario.yaml").write_text(yaml.safe_dump(scenario))


@pytest.fixture
def budget_runs(tmp_path):
    for k in BUDGETS:
        for seed, start in ((1, 20.0), (2, 21.0)):
            _write(tmp_path / f"k{k}-s{seed}", k, seed, start)
    return tmp_path


def test_curves_start_at_the_start_and_average_the_seeds(budget_runs):
    points = budget_points(load_runs([budget_runs]))
    assert not [p for p in points if p.label.endswith("oracle")]  # not budget-matched
    lines = curves(points, "bytes")
    assert set(lines) == {"finefed", "finefed/compute_matched", "finefed/bytes_matched", "finefed/local_finetune"}
    ff = lines["finefed"]
    assert [(c.x, c.y, c.n) for c in ff] == [(0.0, 20.5, 2), (100_000, 21.5, 2), (200_000, 22.0, 2)]
    assert ff[1].y_std == pytest.approx(0.7071, abs=1e-4)  # starts 1 dB apart
    assert [c.budget for c in ff] == ["start", "K=1 enc=20 dec=2x10", "K=2 enc=20 dec=2x10"]


def test_comparisons_at_equal_bytes_and_passes_are_read_off_each_seeds_control_curve(budget_runs):
    points = budget_points(load_runs([budget_runs]))
    got = {(c.axis, c.budget[:3], c.control.rpartition("/")[2]): c for axis in ("bytes", "local_passes")
           for c in comparisons(points, axis)}
    expected = {
        ("bytes", "K=1", "compute_matched"): 1.0 - 0.5 / 3, ("bytes", "K=1", "bytes_matched"): 0.8,
        ("bytes", "K=2", "compute_matched"): 1.5 - 1.0 / 3, ("bytes", "K=2", "bytes_matched"): 1.1,
        ("local_passes", "K=1", "compute_matched"): 0.5, ("local_passes", "K=1", "bytes_matched"): 1.0 - 0.2 / 3,
        ("local_passes", "K=2", "compute_matched"): 0.5, ("local_passes", "K=2", "bytes_matched"): 1.5 - 0.4 / 3,
        ("local_passes", "K=1", "local_finetune"): 0.7, ("local_passes", "K=2", "local_finetune"): 0.9,
    }
    for key, diff in expected.items():
        row = got[key]
        assert row.diff_db == pytest.approx(diff, abs=1e-9), key
        assert row.n == row.seeds == 2 and row.diff_std_db == pytest.approx(0.0, abs=1e-9), key
    # local fine-tuning sends nothing: it cannot be read at FineFed's bytes (no extrapolation)
    for k in ("K=1", "K=2"):
        assert got[("bytes", k, "local_finetune")].n == 0


def test_the_budget_command_writes_the_figure_and_tables(budget_runs, tmp_path):
    out = tmp_path / "out"
    assert main(["budget", str(budget_runs), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"budget_curves.png", "budget_curves.svg", "budget.md", "budget.csv"}
    rows = list(csv.DictReader(io.StringIO((out / "budget.csv").read_text())))
    assert len(rows) == 2 * 2 * 3  # axes x budgets x controls
    assert "out of range" in (out / "budget.md").read_text()


def test_no_finefed_budget_is_one_clear_error(make_run, tmp_path, capsys):
    make_run(tmp_path / "r", method="fedavg")
    assert main(["budget", str(tmp_path / "r"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no FineFed run" in err[0]


def test_budget_curves_from_real_tiny_runs(tmp_path):
    from semnet.runner import run_scenario
    from semnet.scenario import validate
    from tests.fl.conftest import tiny_scenario_dict

    for k in (1, 2):
        raw = tiny_scenario_dict(controls=["compute_matched", "bytes_matched"])
        raw["method"]["finetune"]["iterations"] = k
        raw["output"]["checkpoints"] = False
        run_scenario(validate(raw), out_dir=tmp_path / "runs" / f"k{k}")
    runs = load_runs([tmp_path / "runs"])
    points = budget_points(runs)
    by = {(p.label, p.budget): p for p in points}
    for run in runs:
        s, key = run.summary, budget_points([run])[0].budget
        assert by[("finefed", key)].bytes == s["finetune_budget"]["bytes"]
        for c in s["controls"]:
            assert by[(f"finefed/{c['name']}", key)].local_passes == c["local_passes"]
    assert main(["budget", str(tmp_path / "runs"), "--out", str(tmp_path / "out")]) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "budget.csv").read_text())))
    # the compute-matched control spends FineFed's passes: at equal passes it is read inside its curve
    assert all(r["seeds_read"] == "1" for r in rows if r["axis"] == "local_passes" and r["control"].endswith("compute_matched"))
