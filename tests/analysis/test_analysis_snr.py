import math

import numpy as np
import pytest

from semnet.analysis.runs import AnalysisError, load_runs
from semnet.analysis.snr import plot_snr, snr_series, write_snr


@pytest.fixture(scope="module")
def runs(snr_runs):
    return load_runs([snr_runs])


def test_series_mean_snr(runs):
    series = snr_series(runs)
    assert list(series) == ["fedavg", "finefed/start", "finefed/compute_matched", "finefed"]
    fedavg = series["fedavg"]
    # link 0->1 is 10 dB below the other five: mean = snr - 10/6
    assert [p.x for p in fedavg] == pytest.approx([0 - 10 / 6, 10 - 10 / 6], abs=1e-4)
    assert [p.y for p in fedavg] == pytest.approx([16.5, 21.5])  # 15 + snr/2 + mean(seed)
    assert [p.y_std for p in fedavg] == pytest.approx([math.sqrt(0.5)] * 2)
    assert [p.n for p in fedavg] == [2, 2]
    assert [p.y for p in series["finefed"]] == pytest.approx([17.5, 22.5])


def test_series_swept_key(runs, caplog):
    assert [p.x for p in snr_series(runs, x="snr_db")["fedavg"]] == [0.0, 10.0]
    assert not caplog.records
    # snr_offset_db was not swept: two sweep points land on one x, and the user is told
    assert [p.x for p in snr_series(runs, x="snr_offset_db")["fedavg"]] == [0.0, 0.0]
    assert "share x = snr_offset_db" in caplog.text


def test_plot(runs, tmp_path):
    fig, series = plot_snr(runs, x="snr_db")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "link SNR (dB)"
    assert ax.get_ylabel() == "mean link PSNR (dB)"
    lines = {line.get_label().split(" (n=")[0]: line for line in ax.get_lines() if " (n=" in line.get_label()}
    for label, pts in series.items():
        np.testing.assert_allclose(lines[label].get_xdata(), [p.x for p in pts])
        np.testing.assert_allclose(lines[label].get_ydata(), [p.y for p in pts])
    fig, _ = plot_snr(runs)
    assert fig.axes[0].get_xlabel() == "mean link SNR (dB)"
    paths = write_snr(runs, tmp_path)
    assert sorted(p.name for p in paths) == ["psnr_vs_snr.png", "psnr_vs_snr.svg"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_unknown_x(runs):
    with pytest.raises(AnalysisError, match="snr_db_mean"):
        snr_series(runs, x="distance")
