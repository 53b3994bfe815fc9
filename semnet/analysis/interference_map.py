"""The interference map: a run's nodes and what interference cost each link.

``semnet analyse interference-map RUN_DIR --out FILE.png`` draws the nodes at their
**initial** positions (``summary.network.positions_m``; a run keeps no trajectory, so
mobile users are drawn where they started) and the aggregator where the network put it
(``topology.aggregator_position_m``, else the centroid of the users' initial positions),
and each link of ``summary.json``'s ``interference`` section as an arrow coloured by its
cost: its mean large-scale SNR minus the mean SINR its transmissions met (dB, colour bar),
its width growing with the share of its airtime during which an interferer was heard.

A run made without ``links.interference.model: sinr`` has no such section and is refused.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from .runs import AnalysisError, Run, load_run
from .style import finish, new_figure, save_to, styled

CMAP = ListedColormap(matplotlib.colormaps["magma_r"](np.linspace(0.12, 1.0, 256)))  # no cost: still visible
WIDTH_MIN, WIDTH_SPAN = 0.8, 5.0  # arrow width at no interfered airtime, and what all of it adds (points)


def interference_costs(run: Run) -> list[dict]:
    """Per link of the run's ``interference`` section: ``src``, ``dst``, ``snr_db``,
    ``sinr_db_mean``, ``cost_db`` (their difference) and ``interfered_share``."""
    section = run.summary.get("interference")
    if not section:
        raise AnalysisError(f"run '{run.path}' has no interference section in summary.json (made without "
                            "links.interference.model: sinr); an interference map needs a run with it")
    out = []
    for link in section.get("links", []):
        out.append({"src": link["src"], "dst": link["dst"], "snr_db": link["snr_db"],
                    "sinr_db_mean": link["sinr_db_mean"], "cost_db": link["snr_db"] - link["sinr_db_mean"],
                    "interfered_share": link["interfered_share"]})
    if not out:
        raise AnalysisError(f"run '{run.path}': its interference section lists no link that carried anything")
    return out


def node_positions(run: Run) -> dict[str, tuple[float, float]]:
    """Initial positions (m) of the run's users and its aggregator ``server``, by node name."""
    stored = (run.summary.get("network") or {}).get("positions_m") or {}
    if not stored:
        raise AnalysisError(f"run '{run.path}' stores no node positions (summary.network.positions_m)")
    positions = {str(node): (float(xy[0]), float(xy[1])) for node, xy in stored.items()}
    fixed = ((run.scenario.get("topology") or {}).get("aggregator_position_m"))
    xy = np.array(list(positions.values()))
    positions["server"] = (float(fixed[0]), float(fixed[1])) if fixed else (float(xy[:, 0].mean()),
                                                                           float(xy[:, 1].mean()))
    return positions


@styled
def plot_interference_map(run: Run):
    """``(figure, costs)``: the map of :func:`interference_costs` over :func:`node_positions`."""
    costs = interference_costs(run)
    positions = node_positions(run)
    drawn = [c for c in costs if str(c["src"]) in positions and str(c["dst"]) in positions]
    used = {str(c[end]) for c in drawn for end in ("src", "dst")}
    values = np.array([c["cost_db"] for c in drawn], dtype=float)
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    if hi - lo < 1e-9:  # one colour for all: still a valid scale
        lo, hi = lo - 0.5, hi + 0.5
    norm, colormap = Normalize(lo, hi), CMAP
    fig, ax = new_figure((6.4, 5.2))
    for c in drawn:
        share = c["interfered_share"] or 0.0
        ax.add_patch(FancyArrowPatch(
            positions[str(c["src"])], positions[str(c["dst"])], arrowstyle="-|>", mutation_scale=12,
            connectionstyle="arc3,rad=0.15", shrinkA=9, shrinkB=9, linewidth=WIDTH_MIN + WIDTH_SPAN * share,
            color=colormap(norm(c["cost_db"])), zorder=2))
    for node in sorted(used | {n for n in positions if n != "server"}):
        x, y = positions[node]
        server = node == "server"
        ax.scatter([x], [y], s=260 if server else 190, marker="s" if server else "o", facecolor="white",
                   edgecolor="black", linewidth=1.2, zorder=3)
        ax.annotate("BS" if server else node, (x, y), ha="center", va="center", fontsize=8, zorder=4)
    fig.colorbar(ScalarMappable(norm=norm, cmap=colormap), ax=ax, shrink=0.9,
                 label="interference cost: mean SNR - mean SINR (dB)")
    widths = [Line2D([], [], color="grey", linewidth=WIDTH_MIN + WIDTH_SPAN * s, label=f"{s:.0%} of airtime interfered")
              for s in (0.0, 0.5, 1.0)]
    ax.legend(handles=widths, loc="best", fontsize=7, frameon=False)
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.margins(0.08)
    ax.set_xlabel("x, initial position (m)")
    ax.set_ylabel("y, initial position (m)")
    ax.tick_params(left=True, bottom=True, labelleft=True, labelbottom=True)
    finish(fig, ax, f"{run.path.name}: what interference cost each link", legend=False)
    return fig, costs


def write_interference_map(run_dir: str | Path, out: str | Path) -> tuple[list[Path], list[dict]]:
    """Draw the map of ``run_dir`` into ``out`` (a file whose suffix gives the format, or a
    folder that gets ``interference_map.png`` and ``.svg``); return (paths, per-link values)."""
    fig, costs = plot_interference_map(load_run(run_dir))
    return save_to(fig, out, "interference_map"), costs
