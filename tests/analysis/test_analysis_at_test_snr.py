"""The test-SNR table and the SNR-aware vs per-SNR comparison, on synthetic runs."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from semnet.analysis.__main__ import main
from semnet.analysis.at_test_snr import rows_at_test_snrs, snr_aware_gaps
from semnet.analysis.runs import AnalysisError, load_runs


def _centralized_run(path, *, model, seed, psnr_at, snr_db=None, snr_range=None, epochs=8, loss=None, width=None):
    path.mkdir(parents=True)
    central = {"epochs": epochs, "test_snrs_db": sorted(psnr_at)}
    if snr_range:
        central["snr_range_db"] = list(snr_range)
    scenario = {"name": "bench", "seed": seed, "model": {"name": model, "bandwidth_ratio": 1 / 6},
                "links": {"snr_db": snr_db}, "method": {"name": "centralized", "centralized": central}}
    if loss:
        scenario["method"]["loss"] = loss
    if width:
        scenario["model"]["width"] = width
    sweep = [{"snr_db": t, "psnr_db": p, "ssim": 0.9} for t, p in sorted(psnr_at.items())]
    summary = {"status": "complete", "name": "bench", "method": "centralized", "seed": seed,
               "psnr_db": sweep[0]["psnr_db"], "bytes_total": 0, "sim_time_s": 0.0, "local_steps": 0,
               "wall_time_s": 100.0 + seed, "test_snr_sweep": sweep, "phases": [], "links": [], "controls": []}
    (path / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    (path / "summary.json").write_text(json.dumps(summary))


@pytest.fixture
def bench_runs(tmp_path):
    for seed in (0, 1):
        for t in (0.0, 10.0, 20.0):  # per-SNR models: best at their own SNR
            _centralized_run(tmp_path / f"djscc{t:g}-s{seed}", model="deep_jscc", seed=seed, snr_db=t,
                             psnr_at={u: 20.0 + u / 2 + (1.0 if u == t else 0.0) + seed * 0.2 for u in (0.0, 10.0, 20.0)})
        _centralized_run(tmp_path / f"adj-s{seed}", model="adjscc", seed=seed, snr_db=10.0, snr_range=(0.0, 20.0),
                         psnr_at={0.0: 20.7 + seed * 0.2, 10.0: 26.0 + seed * 0.2, 20.0: 31.5 + seed * 0.2})
    return tmp_path


def test_rows_pool_seeds_per_trained_model(bench_runs):
    rows = rows_at_test_snrs(load_runs([bench_runs]))
    labels = [r.trained.label for r in rows]
    assert labels == [
        "bench: adjscc k/n=1/6 trained at 0-20 dB",
        "bench: deep_jscc k/n=1/6 trained at 0 dB",
        "bench: deep_jscc k/n=1/6 trained at 10 dB",
        "bench: deep_jscc k/n=1/6 trained at 20 dB",
    ]
    at10 = rows[2].psnr_db[10.0]
    assert at10.n == 2 and at10.mean == pytest.approx(26.1) and at10.std == pytest.approx(math.sqrt(0.02))


def test_gaps_compare_the_snr_aware_model_with_the_model_trained_at_each_snr(bench_runs):
    gaps = snr_aware_gaps(rows_at_test_snrs(load_runs([bench_runs])))
    assert [(g.test_snr_db, round(g.gap_db, 6)) for g in gaps] == [(0.0, -0.3), (10.0, 0.0), (20.0, 0.5)]
    assert all(g.reference.train_snr_db == (g.test_snr_db, g.test_snr_db) for g in gaps)


def test_gaps_prefer_the_equal_budget_and_else_take_the_closest(bench_runs, tmp_path):
    """A 24-epoch SNR-aware run (three 8-epoch budgets) is compared with the 8-epoch
    per-SNR models; the 8-epoch SNR-aware run still with its equal-epoch ones, not a
    per-SNR model trained longer."""
    _centralized_run(tmp_path / "adj-long", model="adjscc", seed=0, snr_db=10.0, snr_range=(0.0, 20.0),
                     psnr_at={0.0: 21.0, 10.0: 27.0, 20.0: 32.0}, epochs=24)
    _centralized_run(tmp_path / "djscc20-long", model="deep_jscc", seed=0, snr_db=20.0,
                     psnr_at={0.0: 19.0, 10.0: 25.0, 20.0: 33.0}, epochs=30)
    gaps = snr_aware_gaps(rows_at_test_snrs(load_runs([bench_runs, tmp_path / "adj-long", tmp_path / "djscc20-long"])))
    pairs = {(g.aware.epochs, g.test_snr_db): (g.reference.epochs, round(g.gap_db, 6)) for g in gaps}
    assert pairs[(8.0, 20.0)] == (8.0, 0.5)
    assert pairs[(24.0, 0.0)] == (8.0, round(21.0 - 21.1, 6))  # the 8-epoch models, two seeds pooled
    assert pairs[(24.0, 20.0)] == (30.0, -1.0)  # |30 - 24| beats |8 - 24|: the closest budget


def test_gaps_keep_losses_apart_and_break_epoch_ties_toward_the_longer_run(tmp_path):
    """A log_mse SNR-aware model is compared with log_mse per-SNR models only, even when an
    MSE one has its exact epochs; between 8 and 16 epochs for a 12-epoch model, the 16."""
    _centralized_run(tmp_path / "adj", model="adjscc", seed=0, snr_db=10.0, snr_range=(0.0, 20.0),
                     psnr_at={10.0: 27.0}, epochs=12, loss="log_mse")
    _centralized_run(tmp_path / "mse12", model="deep_jscc", seed=0, snr_db=10.0, psnr_at={10.0: 30.0}, epochs=12)
    for epochs, psnr in ((8, 26.0), (16, 27.5)):
        _centralized_run(tmp_path / f"log{epochs}", model="deep_jscc", seed=0, snr_db=10.0, psnr_at={10.0: psnr},
                         epochs=epochs, loss="log_mse")
    rows = rows_at_test_snrs(load_runs([tmp_path]))
    assert "bench: adjscc k/n=1/6 trained at 0-20 dB on log_mse" in [r.trained.label for r in rows]
    (gap,) = snr_aware_gaps(rows)
    assert (gap.reference.loss, gap.reference.epochs, gap.gap_db) == ("log_mse", 16.0, -0.5)


def test_gaps_take_one_per_snr_model_per_width(tmp_path):
    """A width-2 SNR-aware model is compared with the width-1 per-SNR model and with the
    width-2 one, a width-1 SNR-aware model with the width-1 one only; the widths are
    separate rows, not pooled as seeds."""
    _centralized_run(tmp_path / "adj2", model="adjscc", seed=0, snr_db=10.0, snr_range=(0.0, 20.0),
                     psnr_at={20.0: 29.5}, width=2.0)
    _centralized_run(tmp_path / "adj1", model="adjscc", seed=0, snr_db=10.0, snr_range=(0.0, 20.0),
                     psnr_at={20.0: 28.2})
    _centralized_run(tmp_path / "dj1", model="deep_jscc", seed=0, snr_db=20.0, psnr_at={20.0: 29.4})
    _centralized_run(tmp_path / "dj2", model="deep_jscc", seed=0, snr_db=20.0, psnr_at={20.0: 30.0}, width=2.0)
    rows = rows_at_test_snrs(load_runs([tmp_path]))
    assert [(r.trained.label, r.seeds) for r in rows] == [
        ("bench: adjscc k/n=1/6 trained at 0-20 dB", 1),
        ("bench: adjscc width 2 k/n=1/6 trained at 0-20 dB", 1),
        ("bench: deep_jscc k/n=1/6 trained at 20 dB", 1),
        ("bench: deep_jscc width 2 k/n=1/6 trained at 20 dB", 1),
    ]
    gaps = snr_aware_gaps(rows)
    assert [(g.aware.width, g.reference.width, round(g.gap_db, 6)) for g in gaps] == [
        (1.0, 1.0, -1.2), (2.0, 1.0, 0.1), (2.0, 2.0, -0.5)]


def test_command_writes_the_table_and_refuses_runs_without_a_test_snr_sweep(bench_runs, tmp_path, make_run, capsys):
    out = tmp_path / "out"
    assert main(["testsnr", str(bench_runs), "--out", str(out)]) == 0
    text = (out / "test_snr.md").read_text()
    assert ("| bench: adjscc k/n=1/6 trained at 0-20 dB | bench: deep_jscc k/n=1/6 trained at 20 dB | 8 / 8 | 20 | 31.60 "
            "| 31.10 | +0.50 |") in text
    assert len((out / "test_snr.csv").read_text().splitlines()) == 1 + 4 * 3
    plain = make_run(tmp_path / "fedavg")
    with pytest.raises(AnalysisError, match="test-SNR sweep"):
        rows_at_test_snrs(load_runs([plain]))
    assert main(["testsnr", str(plain), "--out", str(out)]) == 2
    assert "test-SNR sweep" in capsys.readouterr().err


def test_two_runs_of_one_model_with_the_same_seed_are_flagged(bench_runs, tmp_path, caplog):
    _centralized_run(tmp_path / "adj-again", model="adjscc", seed=0, snr_db=10.0, snr_range=(0.0, 20.0),
                     psnr_at={0.0: 20.0, 10.0: 23.0, 20.0: 24.0})
    with caplog.at_level("WARNING"):
        rows = rows_at_test_snrs(load_runs([bench_runs, tmp_path / "adj-again"]))
    assert rows[0].seeds == 3
    assert "same seed" in caplog.text and "adjscc" in caplog.text
