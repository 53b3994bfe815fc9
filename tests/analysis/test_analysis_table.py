import csv
import io
import math
import statistics

import pytest

from semnet.analysis.runs import load_runs
from semnet.analysis.table import methods_table, psnr_gain_pct, to_csv, to_markdown, write_table


@pytest.fixture(scope="module")
def rows(main_runs):
    return {r.label: r for r in methods_table(load_runs([main_runs]))}


def test_rows_in_reading_order(main_runs):
    labels = [r.label for r in methods_table(load_runs([main_runs]))]
    assert labels == ["fedavg", "finefed/start", "finefed/compute_matched", "finefed"]


def test_mean_and_std_over_seeds(rows):
    fedavg = rows["fedavg"]
    assert fedavg.seeds == (1, 2) and fedavg.n_seeds == 2
    assert fedavg.cells["psnr_db"].mean == pytest.approx(21.0)
    assert fedavg.cells["psnr_db"].std == pytest.approx(statistics.stdev([20.0, 22.0]))
    assert fedavg.cells["worst_link_psnr_db"].mean == pytest.approx(19.0)
    assert fedavg.cells["ssim"].mean == pytest.approx(0.815)
    assert fedavg.cells["bytes"].mean == pytest.approx(1.0)  # MB
    assert fedavg.cells["bytes"].std == pytest.approx(0.0)
    assert fedavg.cells["sim_time_s"].mean == pytest.approx(11.5)
    assert fedavg.cells["local_steps"].mean == 100
    control = rows["finefed/compute_matched"]
    assert control.cells["bytes"].mean == pytest.approx(1.6)
    assert control.cells["sim_time_s"].mean == pytest.approx(15.5)
    assert control.cells["psnr_db"].mean == pytest.approx(21.5)


def test_gain_over_start(rows):
    gains = [100 * 1.0 / 20.0, 100 * 1.0 / 22.0]
    assert rows["finefed"].cells["psnr_gain_pct"].mean == pytest.approx(statistics.mean(gains))
    assert rows["finefed"].cells["psnr_gain_pct"].std == pytest.approx(statistics.stdev(gains))
    assert rows["finefed/compute_matched"].cells["psnr_gain_pct"].mean == pytest.approx(
        statistics.mean([100 * 0.5 / 20.0, 100 * 0.5 / 22.0]))
    assert "psnr_gain_pct" not in rows["fedavg"].cells
    assert "psnr_gain_pct" not in rows["finefed/start"].cells


def test_markdown(rows):
    text = to_markdown(list(rows.values()))
    header, rule, *lines = text.splitlines()
    assert "mean link PSNR (dB)" in header and "bytes (MB)" in header and "PSNR gain vs start (%)" in header
    assert header.count("|") == rule.count("|")
    fedavg = next(line for line in lines if line.startswith("| `fedavg`"))
    assert "21.00 ± 1.41" in fedavg and "1.000 ± 0.000" in fedavg and fedavg.endswith("| 2 |")
    finefed = next(line for line in lines if line.startswith("| `finefed` "))
    assert f"{statistics.mean([5.0, 100 / 22]):.2f} ± {statistics.stdev([5.0, 100 / 22]):.2f}" in finefed


def test_csv_round_trip(rows):
    table = list(csv.DictReader(io.StringIO(to_csv(list(rows.values())))))
    by = {r["method"]: r for r in table}
    assert float(by["finefed"]["psnr_db_mean"]) == pytest.approx(22.0)
    assert float(by["finefed"]["psnr_db_std"]) == pytest.approx(math.sqrt(2))
    assert float(by["finefed/compute_matched"]["bytes_mb_mean"]) == pytest.approx(1.6)
    assert by["fedavg"]["psnr_gain_pct_mean"] == "" and by["fedavg"]["seeds"] == "1 2"


def test_one_seed_shows_no_spread(make_run, tmp_path):
    make_run(tmp_path / "a", method="fedavg", seed=7, psnr_db=30.0)
    (row,) = methods_table(load_runs([tmp_path]))
    assert math.isnan(row.cells["psnr_db"].std)
    assert "| 30.00 |" in to_markdown([row])


def test_gain_needs_a_finite_start():
    class V:
        def __init__(self, p):
            self.values = {"psnr_db": p}

    assert psnr_gain_pct(V(21.0), V(20.0)) == pytest.approx(5.0)
    assert math.isnan(psnr_gain_pct(V(21.0), None))
    assert math.isnan(psnr_gain_pct(V(21.0), V(math.nan)))


def test_write_table(rows, tmp_path):
    paths = write_table(list(rows.values()), tmp_path / "out")
    assert [p.name for p in paths] == ["methods.md", "methods.csv"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_paired_differences_pair_finefed_with_its_own_start_and_controls(tmp_path, make_run):
    from semnet.analysis.runs import load_runs
    from semnet.analysis.table import paired_differences, paired_markdown

    for seed, gain in ((0, 1.0), (1, 0.2), (2, 0.8)):
        make_run(tmp_path / f"ff{seed}", method="finefed", seed=seed, psnr_db=20.0 + seed,
                 ft_gain_db=gain, control_gain_db=0.5, controls=("compute_matched",))
    rows = {(r.method, r.other): r for r in paired_differences(load_runs([tmp_path]))}
    assert set(rows) == {("finefed", "finefed/start"), ("finefed", "finefed/compute_matched")}
    control = rows[("finefed", "finefed/compute_matched")]
    assert control.per_run_db == pytest.approx((0.5, -0.3, 0.3))
    assert control.wins == 2 and control.diff_db.mean == pytest.approx(0.5 / 3)
    assert rows[("finefed", "finefed/start")].per_run_db == pytest.approx((1.0, 0.2, 0.8))
    assert "| `finefed` | `finefed/compute_matched` | 0.17 ± 0.42 | +0.50, -0.30, +0.30 | 2/3 |" in paired_markdown(
        list(rows.values())
    )


def _with_energy(path, total_j: float, start_j: float, control_j: float, compute_share: float = 0.25):
    """Add an ``energy`` section (as the runner writes it) to a synthetic finefed run."""
    import json

    summary = json.loads((path / "summary.json").read_text())

    def part(total):
        return {"total_j": total, "compute_j": compute_share * total, "tx_j": 0.0, "rx_j": 0.0, "idle_j": 0.0}

    summary["energy"] = {
        **part(total_j),
        "phases": {"pretrain_fedavg": part(start_j), "finefed_1_decoder": part(total_j - start_j)},
        "branches": {"main": {**part(total_j), "phases": {}},
                     "control_compute_matched": {**part(control_j), "phases": {}}},
        "users_j": total_j,
    }
    (path / "summary.json").write_text(json.dumps(summary))


def test_energy_columns_when_runs_account_energy(make_run, tmp_path):
    for seed, (total, start, control) in ((1, (10.0, 6.0, 5.0)), (2, (14.0, 8.0, 7.0))):
        _with_energy(make_run(tmp_path / f"ff{seed}", method="finefed", seed=seed), total, start, control)
    rows = {r.label: r for r in methods_table(load_runs([tmp_path]))}
    assert rows["finefed"].cells["energy_j"].mean == pytest.approx(12.0)
    assert rows["finefed"].cells["radio_energy_j"].mean == pytest.approx(0.75 * 12.0)
    assert rows["finefed/start"].cells["energy_j"].mean == pytest.approx(7.0)
    # a control costs its start plus its own branch, as bytes do
    assert rows["finefed/compute_matched"].cells["energy_j"].mean == pytest.approx((6 + 5 + 8 + 7) / 2)
    header = to_markdown(list(rows.values())).splitlines()[0]
    assert "energy (J)" in header and "radio energy (J)" in header
    assert "energy_j_mean" in to_csv(list(rows.values())).splitlines()[0]


def test_no_energy_columns_without_energy(rows):
    assert "energy" not in to_markdown(list(rows.values())).splitlines()[0]
    assert "energy_j" not in to_csv(list(rows.values())).splitlines()[0]
    assert "energy_j" not in rows["fedavg"].cells
