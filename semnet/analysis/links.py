"""Per-link views: PSNR against link SNR, and the topology with links coloured by PSNR.

Each run's summary keeps the final per-link quality of its method (``links``) and of
every FineFed control (``controls[i].links``), and every phase keeps its own
(``phases[i].links``; runs written before that have none for the federated start). Node positions come from ``summary.network.positions_m``
(``{node: [x_m, y_m]}``); runs without them are drawn on a circular layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import matplotlib
import networkx as nx
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from .runs import AnalysisError, Run, Variant, as_variants, group_by_label, variants_of
from .style import MARKERS, axis_label, colours, file_stem, finish, new_figure, save, styled

CMAP = "viridis"


def link_points(runs: Iterable[Run] | Iterable[Variant]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Label -> (link SNR dB, link PSNR dB) over every link of every seed."""
    out = {}
    for label, group in group_by_label(v for v in as_variants(runs) if v.links).items():
        snr = np.array([float(q["snr_db"]) for v in group for q in v.links])
        psnr = np.array([np.nan if q.get("psnr_db") is None else float(q["psnr_db"]) for v in group for q in v.links])
        out[label] = (snr, psnr)
    return out


@styled
def plot_link_scatter(
    runs: Iterable[Run] | Iterable[Variant],
    colour_of: dict[str, str] | None = None,
    title: str | None = None,
):
    """Scatter of per-link PSNR vs link SNR, one colour and marker per method; returns
    ``(figure, points)`` with ``points`` as from :func:`link_points`."""
    points = link_points(runs)
    if not points:
        raise AnalysisError("no per-link results in these runs")
    colour_of = colour_of or colours(points)
    fig, ax = new_figure()
    for i, (label, (snr, psnr)) in enumerate(points.items()):
        # hollow markers of different shapes: links at the same SNR overlap, and stay readable
        ax.scatter(snr, psnr, label=label, marker=MARKERS[i % len(MARKERS)], s=36, facecolors="none",
                   edgecolors=colour_of.get(label), linewidths=1.3, alpha=0.9)
    ax.set_xlabel(axis_label("snr_db"))
    ax.set_ylabel(axis_label("link_psnr_db"))
    finish(fig, ax, title or "Per-link quality vs link SNR (all seeds)")
    return fig, points


def _node(key: str):
    try:
        return int(key)
    except ValueError:
        return key


def link_graph(variant: Variant | Run) -> nx.DiGraph:
    """Directed image links of one run with ``psnr_db``/``snr_db`` on each edge and, when
    the run stores them, node positions ``pos`` in metres."""
    if isinstance(variant, Run):
        variant = next(v for v in variants_of(variant) if v.kind == "final")
    graph = nx.DiGraph()
    network = variant.run.typed.network
    positions = {} if network is None else network.positions_m
    for node, xy in positions.items():
        graph.add_node(_node(node), pos=(float(xy[0]), float(xy[1])))
    for q in variant.links:
        psnr = np.nan if q.get("psnr_db") is None else float(q["psnr_db"])
        graph.add_edge(q["src"], q["dst"], psnr_db=psnr, snr_db=float(q["snr_db"]))
    return graph


@styled
def plot_topology(variant: Variant | Run, title: str | None = None, cmap: str = CMAP):
    """Draw the run's users and its directed image links coloured by link PSNR.

    Uses stored positions (metres, equal aspect) if every node has one, else a
    circular layout. Returns ``(figure, graph)`` (graph as from :func:`link_graph`).
    """
    if isinstance(variant, Run):
        variant = next(v for v in variants_of(variant) if v.kind == "final")
    if not variant.links:
        raise AnalysisError(f"'{variant.label}' of run '{variant.run.path}' has no per-link results to draw")
    graph = link_graph(variant)
    stored = all("pos" in d for _, d in graph.nodes(data=True))
    pos = nx.get_node_attributes(graph, "pos") if stored else nx.circular_layout(sorted(graph.nodes))
    edges = list(graph.edges)
    psnr = np.array([graph.edges[e]["psnr_db"] for e in edges])
    finite = psnr[np.isfinite(psnr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi - lo < 1e-9:  # one colour for all: still a valid scale
        lo, hi = lo - 0.5, hi + 0.5
    norm, colormap = Normalize(lo, hi), matplotlib.colormaps[cmap]
    fig, ax = new_figure()
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color="white", edgecolors="black", node_size=380, linewidths=1.2)
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=9)
    nx.draw_networkx_edges(
        graph, pos, ax=ax, edgelist=edges, edge_color=[colormap(norm(p)) for p in psnr], width=2.2,
        arrows=True, arrowstyle="-|>", arrowsize=13, node_size=380, connectionstyle="arc3,rad=0.15",
    )
    fig.colorbar(ScalarMappable(norm=norm, cmap=colormap), ax=ax, label="link PSNR (dB)", shrink=0.9)
    if stored:
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("x position (m)")
        ax.set_ylabel("y position (m)")
        ax.tick_params(left=True, bottom=True, labelleft=True, labelbottom=True)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("circular layout (run stores no positions)")
        ax.set_ylabel("")
    run = variant.run
    finish(fig, ax, title or f"{variant.label}, seed {run.seed}: link PSNR over the topology", legend=False)
    return fig, graph


def write_links(runs, out_dir: str | Path, colour_of: dict[str, str] | None = None) -> list[Path]:
    """``link_psnr_vs_snr`` plus one ``topology_<label>_seed<s>`` per label (its first seed)."""
    variants = as_variants(runs)
    fig, _ = plot_link_scatter(variants, colour_of)
    paths = save(fig, out_dir, "link_psnr_vs_snr")
    for label, group in group_by_label(v for v in variants if v.links).items():
        first = group[0]
        fig, _ = plot_topology(first)
        paths += save(fig, out_dir, f"topology_{file_stem(label)}_seed{first.seed}")
    return paths
