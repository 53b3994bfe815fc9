import math

import numpy as np
import pytest

from semnet.analysis.runs import AnalysisError, load_runs
from semnet.analysis.style import save
from semnet.analysis.tradeoff import pareto_front, plot_tradeoff, tradeoff_curves, write_tradeoff

SQRT2 = math.sqrt(2)


def _lines(ax):
    """Data lines by legend label without the ' (n=...)' suffix."""
    return {line.get_label().split(" (n=")[0]: line for line in ax.get_lines() if " (n=" in line.get_label()}


@pytest.fixture(scope="module")
def runs(main_runs):
    return load_runs([main_runs])


def test_curves_vs_bytes(runs):
    curves = {c.label: c for c in tradeoff_curves(runs, "bytes")}
    assert list(curves) == ["fedavg", "finefed/compute_matched", "finefed"]  # the start is part of finefed
    np.testing.assert_allclose(curves["fedavg"].x, [0.5, 1.0])
    np.testing.assert_allclose(curves["fedavg"].y, [20.0, 21.0])
    np.testing.assert_allclose(curves["fedavg"].y_std, [SQRT2, SQRT2])
    np.testing.assert_allclose(curves["finefed"].x, [0.5, 1.0, 1.4])
    np.testing.assert_allclose(curves["finefed"].y, [20.0, 21.0, 22.0])
    # the control starts at the federated start and adds its branch's own bytes
    np.testing.assert_allclose(curves["finefed/compute_matched"].x, [1.0, 1.3, 1.6])
    np.testing.assert_allclose(curves["finefed/compute_matched"].y, [21.0, 21.2, 21.5])
    assert all(c.n == 2 for c in curves.values())


def test_curves_vs_time(runs):
    curves = {c.label: c for c in tradeoff_curves(runs, "sim_time_s")}
    np.testing.assert_allclose(curves["fedavg"].x, [5.75, 11.5])
    np.testing.assert_allclose(curves["finefed"].x, [5.75, 11.5, 14.5])
    np.testing.assert_allclose(curves["finefed/compute_matched"].x, [11.5, 13.5, 15.5])


def test_phase_points_when_metrics_are_missing(make_run, tmp_path):
    make_run(tmp_path / "r", method="finefed", seed=1, psnr_db=20.0, metrics=False)
    curves = {c.label: c for c in tradeoff_curves(load_runs([tmp_path]), "bytes")}
    np.testing.assert_allclose(curves["finefed"].x, [1.0, 1.4])
    np.testing.assert_allclose(curves["finefed"].y, [20.0, 21.0])
    np.testing.assert_allclose(curves["finefed/compute_matched"].x, [1.0, 1.6])
    np.testing.assert_allclose(curves["finefed/compute_matched"].y, [20.0, 20.5])
    assert np.all(np.isnan(curves["finefed"].y_std))  # one seed: no spread


@pytest.mark.parametrize(
    "x, y, front",
    [
        ([1, 2, 3], [1, 2, 3], [0, 1, 2]),
        ([1, 2, 3], [3, 2, 1], [0]),
        ([3, 1, 2, 2], [5, 1, 4, 2], [1, 2, 0]),
        ([1, 1, 2], [1, 2, 2], [1]),  # ties: the better of equal costs, not the costlier equal quality
        ([1, np.nan, 2], [1, 9, np.nan], [0]),
    ],
)
def test_pareto_front(x, y, front):
    assert pareto_front(x, y).tolist() == front


def test_plot_bytes(runs, tmp_path):
    fig, curves, front = plot_tradeoff(runs, "bytes")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "cumulative bytes (MB)"
    assert ax.get_ylabel() == "mean link PSNR (dB)"
    assert ax.get_title()
    lines = _lines(ax)
    assert set(lines) == {"fedavg", "finefed/compute_matched", "finefed"}
    for c in curves:
        np.testing.assert_allclose(lines[c.label].get_xdata(), c.x)
        np.testing.assert_allclose(lines[c.label].get_ydata(), c.y)
    np.testing.assert_allclose(front, [[0.5, 20.0], [1.0, 21.0], [1.3, 21.2], [1.4, 22.0]])
    marked = next(col for col in ax.collections if col.get_label() == "Pareto front")
    np.testing.assert_allclose(marked.get_offsets(), front)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Pareto front" in legend and "fedavg (n=2)" in legend
    assert min(t.get_fontsize() for t in ax.get_legend().get_texts()) >= 9
    assert ax.xaxis.label.get_fontsize() >= 9
    assert tuple(fig.get_size_inches()) == (6.4, 4.0)
    paths = save(fig, tmp_path, "t")
    assert [p.name for p in paths] == ["t.png", "t.svg"] and all(p.stat().st_size > 1000 for p in paths)


def test_plot_time_and_other_metric(runs):
    fig, curves, _ = plot_tradeoff(runs, "sim_time_s", metric="worst_link_psnr_db")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "simulated time (s)" and ax.get_ylabel() == "worst-link PSNR (dB)"
    np.testing.assert_allclose(_lines(ax)["fedavg"].get_ydata(), [18.0, 19.0])


def test_write_tradeoff(runs, tmp_path):
    names = sorted(p.name for p in write_tradeoff(runs, tmp_path))
    assert names == ["tradeoff_bytes.png", "tradeoff_bytes.svg", "tradeoff_time.png", "tradeoff_time.svg"]
    assert all((tmp_path / n).stat().st_size > 1000 for n in names)


def test_unknown_axis(runs):
    with pytest.raises(AnalysisError, match="bytes, sim_time_s"):
        tradeoff_curves(runs, "joules")


def test_seeds_whose_start_ran_longer_still_line_up_at_the_end(make_run, tmp_path):
    """One seed's start converged later (one more test point): the fine-tuning end of
    the mean curve is still the mean of the seeds' final PSNRs."""
    import json

    short = make_run(tmp_path / "s0", method="finefed", seed=0, psnr_db=20.0, ft_gain_db=1.0)
    long = make_run(tmp_path / "s1", method="finefed", seed=1, psnr_db=22.0, ft_gain_db=2.0)
    rows = [json.loads(line) for line in (long / "metrics.jsonl").read_text().splitlines()]
    extra = dict(rows[0], round=0, psnr_db=15.0, bytes_cumulative=100_000)
    (long / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [extra] + rows))
    curve = next(c for c in tradeoff_curves(load_runs([short, long])) if c.label == "finefed")
    assert curve.y[-1] == pytest.approx((21.0 + 24.0) / 2)
    assert curve.y[-2] == pytest.approx((20.0 + 22.0) / 2)  # each seed's converged start
    assert len(curve.y) == 3
