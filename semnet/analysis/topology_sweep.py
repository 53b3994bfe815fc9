"""Quality vs a topology parameter (size or density) from a topology sweep.

The parameter is read from each run's resolved scenario (``topology.<param>``):
``num_users``, ``radius_m`` (random geometric), ``p`` (Erdős–Rényi), ``k`` or
``p_rewire`` (small world), ``area_m``. With ``param="auto"`` the one key among these
that differs between the runs is used. One line per method (variant label), mean ±
sample std over seeds at each value.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterable


from .runs import AnalysisError, Run, Variant, as_variants, group_by_label, scenario_value
from .stats import SeriesPoint, mean_std
from .style import axis_label, colours, finish, new_figure, plot_series, save, styled

PARAMS = ("num_users", "radius_m", "p", "k", "p_rewire", "area_m")


def swept_param(runs: Iterable[Run]) -> str:
    """The topology key that varies across ``runs`` (first in :data:`PARAMS` order)."""
    runs = list(runs)
    for key in PARAMS:
        values = {scenario_value(r, f"topology.{key}") for r in runs}
        if len(values - {None}) > 1:
            return key
    raise AnalysisError(f"no topology parameter varies across these runs (looked at {', '.join(PARAMS)})")


def topology_series(
    runs: Iterable[Run] | Iterable[Variant], param: str = "auto", metric: str = "psnr_db"
) -> tuple[str, dict[str, list[SeriesPoint]]]:
    """``(param, label -> points sorted by the parameter value)``."""
    variants = as_variants(runs)
    if param == "auto":
        param = swept_param({v.run.path: v.run for v in variants}.values())
    elif param not in PARAMS:
        raise AnalysisError(f"topology param '{param}' is not known; use auto or one of {', '.join(PARAMS)}")
    out: dict[str, list[SeriesPoint]] = {}
    # several graph kinds in one sweep: one line per (method, kind), never averaged together
    kinds = {scenario_value(v.run, "topology.kind") for v in variants}
    if len(kinds) > 1:
        variants = [replace(v, label=f"{v.label} [{scenario_value(v.run, 'topology.kind')}]") for v in variants]
    for label, group in group_by_label(variants).items():
        by_value: dict[float, list[Variant]] = {}
        for v in group:
            value = scenario_value(v.run, f"topology.{param}")
            if param == "num_users" and value is None:
                network = v.run.typed.network
                value = None if network is None else network.users
            if value is None:
                raise AnalysisError(f"run '{v.run.path}' has no topology.{param} in its scenario")
            by_value.setdefault(float(value), []).append(v)
        pts = []
        for value, vs in sorted(by_value.items()):
            y = mean_std(v.values[metric] for v in vs)
            pts.append(SeriesPoint(value, y.mean, y.std, y.n))
        out[label] = pts
    return param, out


@styled
def plot_topology_sweep(
    runs: Iterable[Run] | Iterable[Variant],
    param: str = "auto",
    metric: str = "psnr_db",
    colour_of: dict[str, str] | None = None,
    title: str | None = None,
):
    """Draw quality vs the topology parameter; returns ``(figure, param, series)``."""
    param, series = topology_series(runs, param, metric)
    colour_of = colour_of or colours(series)
    fig, ax = new_figure()
    for i, (label, pts) in enumerate(series.items()):
        plot_series(ax, label, [p.x for p in pts], [p.y for p in pts], [p.y_std for p in pts],
                    i, len(series), colour_of.get(label), max(p.n for p in pts))
    if param in ("num_users", "k"):
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(axis_label(param))
    ax.set_ylabel(axis_label(metric))
    finish(fig, ax, title or f"Quality vs topology ({axis_label(param)}; mean ± std over seeds)")
    return fig, param, series


def write_topology_sweep(runs, out_dir: str | Path, param: str = "auto", metric: str = "psnr_db",
                         colour_of: dict[str, str] | None = None) -> list[Path]:
    """``psnr_vs_<param>`` as PNG and SVG under ``out_dir``."""
    fig, param, _ = plot_topology_sweep(runs, param, metric, colour_of)
    return save(fig, out_dir, f"psnr_vs_{param}")
