import math

import numpy as np
import pytest

from semnet.analysis.runs import AnalysisError, load_runs
from semnet.analysis.topology_sweep import plot_topology_sweep, swept_param, topology_series, write_topology_sweep


@pytest.fixture(scope="module")
def runs(topology_runs):
    return load_runs([topology_runs])


def test_detects_the_swept_parameter(runs, main_runs):
    assert swept_param(runs) == "num_users"
    with pytest.raises(AnalysisError, match="no topology parameter varies"):
        swept_param(load_runs([main_runs]))


def test_series(runs):
    param, series = topology_series(runs)
    assert param == "num_users" and list(series) == ["fedavg"]
    pts = series["fedavg"]
    assert [p.x for p in pts] == [3.0, 5.0]
    assert [p.y for p in pts] == pytest.approx([23.5, 21.5])  # 25 - n + mean(seed)
    assert [p.y_std for p in pts] == pytest.approx([math.sqrt(0.5)] * 2)


def test_density_parameter(make_run, tmp_path):
    for radius in (30.0, 60.0):
        for seed in (1, 2):
            make_run(tmp_path / f"r{radius:g}-s{seed}", seed=seed, radius_m=radius, psnr_db=radius / 10 + seed)
    param, series = topology_series(load_runs([tmp_path]))
    assert param == "radius_m"
    assert [(p.x, p.y) for p in series["fedavg"]] == [(30.0, 4.5), (60.0, 7.5)]
    with pytest.raises(AnalysisError, match="not known"):
        topology_series(load_runs([tmp_path]), param="diameter")


def test_plot(runs, tmp_path):
    fig, param, series = plot_topology_sweep(runs)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "number of users" and ax.get_ylabel() == "mean link PSNR (dB)"
    (line,) = [line for line in ax.get_lines() if line.get_label() == "fedavg (n=2)"]
    np.testing.assert_allclose(line.get_xdata(), [3, 5])
    np.testing.assert_allclose(line.get_ydata(), [23.5, 21.5])
    names = sorted(p.name for p in write_topology_sweep(runs, tmp_path))
    assert names == ["psnr_vs_num_users.png", "psnr_vs_num_users.svg"]
