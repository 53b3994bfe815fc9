import matplotlib
import numpy as np
import pytest
from matplotlib.patches import FancyArrowPatch

from semnet.analysis.links import link_graph, link_points, plot_link_scatter, plot_topology, write_links
from semnet.analysis.runs import AnalysisError, load_run, load_runs, variants_of


@pytest.fixture(scope="module")
def runs(main_runs):
    return load_runs([main_runs])


def test_link_points_pool_seeds(runs):
    points = link_points(runs)
    # the start keeps its links too (every phase does)
    assert list(points) == ["fedavg", "finefed/start", "finefed/compute_matched", "finefed"]
    snr, psnr = points["fedavg"]
    expected = [q for r in runs if r.method == "fedavg" for q in r.summary["links"]]
    np.testing.assert_allclose(snr, [q["snr_db"] for q in expected])
    np.testing.assert_allclose(psnr, [q["psnr_db"] for q in expected])
    assert len(snr) == 12  # 6 links x 2 seeds


def test_scatter_plot(runs):
    fig, points = plot_link_scatter(runs)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "link SNR (dB)" and ax.get_ylabel() == "link PSNR (dB)"
    drawn = {c.get_label(): c.get_offsets() for c in ax.collections}
    for label, (snr, psnr) in points.items():
        np.testing.assert_allclose(drawn[label], np.column_stack([snr, psnr]))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(points)


def test_topology_uses_stored_positions_and_colours_by_psnr(main_runs):
    run = load_run(main_runs / "nested" / "finefed-seed1")
    fig, graph = plot_topology(run)
    ax, cbar_ax = fig.axes
    assert ax.get_xlabel() == "x position (m)" and ax.get_ylabel() == "y position (m)"
    assert cbar_ax.get_ylabel() == "link PSNR (dB)"
    positions = run.summary["network"]["positions_m"]
    assert {n: list(d["pos"]) for n, d in graph.nodes(data=True)} == {int(k): v for k, v in positions.items()}
    links = run.summary["links"]
    assert sorted(graph.edges) == sorted((q["src"], q["dst"]) for q in links)
    psnr = {(q["src"], q["dst"]): q["psnr_db"] for q in links}
    assert {e: graph.edges[e]["psnr_db"] for e in graph.edges} == psnr
    lo, hi = min(psnr.values()), max(psnr.values())
    assert cbar_ax.get_ylim() == pytest.approx((lo, hi))
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(links)
    cmap = matplotlib.colormaps["viridis"]
    expected = sorted(cmap((p - lo) / (hi - lo)) for p in psnr.values())
    np.testing.assert_allclose(sorted(tuple(a.get_edgecolor()) for a in arrows), expected, atol=1e-6)


def test_topology_of_a_control(main_runs):
    run = load_run(main_runs / "nested" / "finefed-seed2")
    control = next(v for v in variants_of(run) if v.label == "finefed/compute_matched")
    fig, graph = plot_topology(control)
    assert {e: graph.edges[e]["psnr_db"] for e in graph.edges} == {
        (q["src"], q["dst"]): q["psnr_db"] for q in run.summary["controls"][0]["links"]}
    assert "finefed/compute_matched" in fig.axes[0].get_title()


def test_topology_without_positions_uses_a_circle(make_run, tmp_path):
    run = load_run(make_run(tmp_path / "r", positions=False, num_users=4))
    fig, graph = plot_topology(run)
    assert "circular layout" in fig.axes[0].get_xlabel()
    assert all("pos" not in d for _, d in link_graph(run).nodes(data=True))
    assert graph.number_of_edges() == 12


def test_start_of_an_old_run_has_no_links(make_run, tmp_path):
    old = make_run(tmp_path / "old", method="finefed", phase_links=False)  # phases without links
    start = variants_of(load_run(old))[0]
    with pytest.raises(AnalysisError, match="no per-link results"):
        plot_topology(start)


def test_start_keeps_its_links(main_runs):
    run = load_run(main_runs / "nested" / "finefed-seed1")
    start = variants_of(run)[0]
    fig, graph = plot_topology(start)
    assert {e: graph.edges[e]["psnr_db"] for e in graph.edges} == {
        (q["src"], q["dst"]): q["psnr_db"] for q in run.summary["phases"][0]["links"]}


def test_write_links(runs, tmp_path):
    names = sorted(p.name for p in write_links(runs, tmp_path))
    assert names == sorted(
        f"{stem}.{ext}" for ext in ("png", "svg")
        for stem in ("link_psnr_vs_snr", "topology_fedavg_seed1", "topology_finefed_seed1",
                     "topology_finefed_start_seed1", "topology_finefed_compute_matched_seed1")
    )
