"""Quality vs cost: PSNR against cumulative bytes or simulated time, one curve per method.

Curves come from the test points of ``metrics.jsonl``: a method's curve follows the
``main`` branch through all its phases (for FineFed: the federated start, then each
fine-tuning step); each FineFed control is its own curve, drawn from the federated
start's last point and continued by its branch's points with the branch's own cost
added to the start's cost. Runs without metrics fall back to one point per phase.

Over seeds, the i-th points are averaged (x and y), with the sample standard
deviation of y as a shaded band. Points are aligned phase by phase: a start that
converged after more rounds in one seed than another keeps its first points and its
last (converged) point, so the fine-tuning points that follow still line up; seeds
with more points after the start are cut to the shortest.
The Pareto front (least cost, highest quality) over all plotted points is marked.

:func:`plot_final_tradeoff` draws one point per method instead (its final quality
against its total cost, FineFed's start as its own point): the view of a sweep over
codecs, with the Pareto front of the (method, codec) pairs.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from matplotlib.ticker import ScalarFormatter

from .runs import AnalysisError, Run, Variant, as_variants, group_by_label, warn_mixed
from .style import MARKERS, MB, axis_label, colours, finish, line_style, new_figure, save, styled

log = logging.getLogger(__name__)

#: Cost axes: metrics.jsonl key of the point, scale to plotted units.
X_KEYS = {"bytes": ("bytes_cumulative", 1.0 / MB), "sim_time_s": ("sim_time_s", 1.0)}
_SUMMARY_X = {"bytes": ("bytes_cumulative", "bytes"), "sim_time_s": ("sim_time_end_s", "sim_time_s")}


@dataclass(frozen=True)
class Curve:
    """One plotted curve: mean over ``n`` seeds of x (plotted units) and y, std of y."""

    label: str
    x: np.ndarray
    y: np.ndarray
    y_std: np.ndarray
    n: int


def _check_x(x: str) -> None:
    if x not in X_KEYS:
        raise AnalysisError(f"tradeoff x = '{x}' is not known; use one of {', '.join(X_KEYS)}")


def variant_points(variant: Variant, x: str = "bytes", metric: str = "psnr_db") -> list[tuple[float, float]]:
    """(cost, quality) points of one variant in one run, cost in raw units (bytes or s).

    A ``start`` variant gives the points of its first phase only.
    """
    _check_x(x)
    run = variant.run
    key = X_KEYS[x][0]
    main = run.test_points("main")
    phases = run.typed.phases
    if not main:  # older or partial runs: one point per phase end
        main = [{key: getattr(p, _SUMMARY_X[x][0]), metric: getattr(p, metric, None), "phase": p.name} for p in phases]
    if variant.kind == "final":
        return [(_f(p.get(key)), _f(p.get(metric))) for p in main]
    start_phase = phases[0].name if phases else None
    start = [p for p in main if p.get("phase") == start_phase]
    start_pts = [(_f(p.get(key)), _f(p.get(metric))) for p in start]
    if variant.kind == "start":
        return start_pts
    control = run.typed.control(variant.phase)
    own_key, own_total = _SUMMARY_X[x]
    # The branch's own cost = counter at the point minus the counter when it began
    # (a control branch's clock starts when FineFed ended, its byte counter at zero).
    origin = _f(getattr(control, own_key)) - _f(getattr(control, own_total))
    anchor_x = start_pts[-1][0] if start_pts else _f(getattr(phases[0], _SUMMARY_X[x][0]))
    branch = run.test_points(variant.branch) or [{key: getattr(control, own_key),
                                                   metric: getattr(control, metric, None)}]
    pts = [(anchor_x + _f(p.get(key)) - origin, _f(p.get(metric))) for p in branch]
    return start_pts[-1:] + pts


def _f(value) -> float:
    return math.nan if value is None else float(value)


def tradeoff_curves(
    runs: Iterable[Run] | Iterable[Variant], x: str = "bytes", metric: str = "psnr_db"
) -> list[Curve]:
    """One curve per method and per FineFed control (starts are part of their method's curve)."""
    _check_x(x)
    variants = as_variants(runs)
    scale = X_KEYS[x][1]
    curves = []
    groups = group_by_label(v for v in variants if v.kind != "start")
    warn_mixed(groups, "trade-off curves")
    for label, group in groups.items():
        split = [(_start_count(v), variant_points(v, x, metric)) for v in group]
        split = [(k, p) for k, p in split if p]
        if not split:
            continue
        per_seed = _align([p[:k] for k, p in split], [p[k:] for k, p in split], label)
        length = len(per_seed[0])
        arr = np.array(per_seed, dtype=float)  # seeds x points x 2
        xs, ys = arr[:, :, 0] * scale, arr[:, :, 1]
        y_std = np.std(ys, axis=0, ddof=1) if len(per_seed) > 1 else np.full(length, np.nan)
        curves.append(Curve(label, xs.mean(axis=0), ys.mean(axis=0), y_std, len(per_seed)))
    return curves


def _start_count(variant: Variant) -> int:
    """How many of ``variant_points`` belong to the federated start (leading points)."""
    if variant.kind != "final":
        return 1  # a control's curve begins at the start's last point
    phases = variant.run.typed.phases
    main = variant.run.test_points("main")
    if not phases or not main:
        return 0
    return sum(p.get("phase") == phases[0].name for p in main)


def _align(starts: list[list], rests: list[list], label: str) -> list[list]:
    """One equally long point list per seed: start points cut to the shortest start
    but always ending at each seed's own last start point, then the rest cut to the
    shortest rest."""
    n_start = min(len(s) for s in starts)
    n_rest = min(len(r) for r in rests)
    if any(len(r) != n_rest for r in rests):
        log.warning("'%s': seeds have %s test points after the start; using the first %d", label,
                    sorted({len(r) for r in rests}), n_rest)
    aligned = []
    for start, rest in zip(starts, rests):
        head = (start[: n_start - 1] + start[-1:]) if n_start else []
        aligned.append(head + rest[:n_rest])
    return aligned


def pareto_front(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Indices of the points no other point beats (lower or equal x, higher or equal y,
    one strictly), ordered by increasing x. NaN points never belong to the front."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    order = ok[np.lexsort((-y[ok], x[ok]))]  # by x, then best y first
    front, best = [], -np.inf
    for i in order:
        if y[i] > best:
            front.append(i)
            best = y[i]
    return np.array(front, dtype=int)


@styled
def plot_tradeoff(
    runs: Iterable[Run] | Iterable[Variant],
    x: str = "bytes",
    metric: str = "psnr_db",
    colour_of: dict[str, str] | None = None,
    title: str | None = None,
):
    """Draw quality vs cost; returns ``(figure, curves, front)``.

    ``front`` is an array of (x, y) rows: the Pareto-optimal points over all curves.
    """
    curves = tradeoff_curves(runs, x, metric)
    if not curves:
        raise AnalysisError("no evaluation points to draw a trade-off from")
    colour_of = colour_of or colours(c.label for c in curves)
    fig, ax = new_figure()
    # Later curves lie on top with smaller markers and thinner lines, so a curve that
    # retraces another (FineFed over its FedAvg start) leaves the one below visible.
    for i, c in enumerate(curves):
        colour = colour_of.get(c.label)
        shrink = (len(curves) - 1 - i) / max(1, len(curves) - 1)  # 1 for the first, 0 for the last
        ax.plot(c.x, c.y, label=f"{c.label} (n={c.n})", color=colour, linestyle=line_style(c.label),
                marker=MARKERS[i % len(MARKERS)], markersize=4.5 + 3.0 * shrink,
                linewidth=1.4 + 1.6 * shrink, zorder=3 + i)
        if not np.all(np.isnan(c.y_std)):
            ax.fill_between(c.x, c.y - c.y_std, c.y + c.y_std, color=colour, alpha=0.12, linewidth=0, zorder=2)
    all_x = np.concatenate([c.x for c in curves])
    all_y = np.concatenate([c.y for c in curves])
    idx = pareto_front(all_x, all_y)
    front = np.column_stack([all_x[idx], all_y[idx]]) if idx.size else np.empty((0, 2))
    if idx.size:
        ax.step(front[:, 0], front[:, 1], where="post", color="0.2", linewidth=1.0, alpha=0.7, zorder=1)
        ax.scatter(front[:, 0], front[:, 1], s=70, facecolors="none", edgecolors="black", linewidths=1.2,
                   zorder=5, label="Pareto front")
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(metric))
    what = "communication" if x == "bytes" else "simulated time"
    finish(fig, ax, title or f"Quality vs {what} (mean, band: ± std over seeds)")
    return fig, curves, front


@dataclass(frozen=True)
class FinalPoint:
    """One table row's end point: mean cost (plotted units) and quality over ``n`` seeds."""

    label: str
    x: float
    y: float
    y_std: float
    n: int


_FINAL_MARKERS = {"start": "o", "": "s"}  # federated start, method's end; controls: "^"
_FINAL_KIND_NAMES = {"start": "marker o: federated start (FedAvg)", "": "marker s: the method's end"}

#: Cost axes of the end points: the variants' value keys (counted from the run's start).
_FINAL_X = {"bytes": "bytes", "sim_time_s": "sim_time_s", "energy_j": "energy_j"}
_FINAL_SCALE = {"bytes": 1.0 / MB}


def final_points(runs: Iterable[Run] | Iterable[Variant], x: str = "bytes", metric: str = "psnr_db",
                 controls: bool = False) -> list[FinalPoint]:
    """Each method's final (quality, total cost) and each FineFed start's, mean over seeds;
    FineFed's controls only if ``controls``. A sweep over codecs gives one point per
    method and codec (``fedavg+int8``, ``finefed+int8/start`` ...)."""
    if x not in _FINAL_X:
        raise AnalysisError(f"tradeoff x = '{x}' is not known; use one of {', '.join(_FINAL_X)}")
    scale = _FINAL_SCALE.get(x, 1.0)
    variants = [v for v in as_variants(runs) if controls or v.kind != "control"]
    if x == "energy_j":  # runs that did not account energy have no point
        variants = [v for v in variants if math.isfinite(_f(v.values.get("energy_j")))]
    points = []
    for label, group in group_by_label(variants).items():
        xs = np.array([_f(v.values.get(_FINAL_X[x])) for v in group]) * scale
        ys = np.array([_f(v.values.get(metric)) for v in group])
        std = float(np.std(ys, ddof=1)) if len(ys) > 1 else math.nan
        points.append(FinalPoint(label, float(np.mean(xs)), float(np.mean(ys)), std, len(group)))
    return points


@styled
def plot_final_tradeoff(runs, x: str = "bytes", metric: str = "psnr_db", colour_of: dict[str, str] | None = None,
                        title: str | None = None, controls: bool = False):
    """Each method's final quality against its total cost, one marker per row of the
    methods table, the Pareto front over them joined; returns ``(figure, points, front)``
    with ``front`` the labels of the Pareto-optimal points by increasing cost."""
    points = final_points(runs, x, metric, controls)
    if not points:
        raise AnalysisError("no finished runs to draw end points from")
    # one colour per run family (a method with its codec), one marker per row kind, so a
    # family's start and end read as a pair
    families = list(dict.fromkeys(p.label.partition("/")[0] for p in points))
    family_colour = colours(families)
    if colour_of and len({colour_of.get(f) for f in families}) == len(families):  # the caller's, if distinct
        family_colour.update({f: colour_of[f] for f in families if f in colour_of})
    fig, ax = new_figure()
    shown: set[str] = set()
    for p in points:
        family, _, part = p.label.partition("/")
        marker = _FINAL_MARKERS.get(part, "^")
        ax.errorbar([p.x], [p.y], yerr=None if math.isnan(p.y_std) else [p.y_std],
                    label=None if family in shown else f"{family} (n={p.n})", color=family_colour[family],
                    marker=marker, markersize=7, linestyle="none", capsize=3, zorder=3)
        shown.add(family)
    for part, marker in _FINAL_MARKERS.items():
        if any(p.label.partition("/")[2] == part for p in points):
            ax.plot([], [], linestyle="none", marker=marker, color="0.4", label=_FINAL_KIND_NAMES[part])
    idx = pareto_front([p.x for p in points], [p.y for p in points])
    front = [points[i] for i in idx]
    if front:
        ax.step([p.x for p in front], [p.y for p in front], where="post", color="0.2", linewidth=1.0, alpha=0.7,
                zorder=1)
        ax.scatter([p.x for p in front], [p.y for p in front], s=130, facecolors="none", edgecolors="black",
                   linewidths=1.2, zorder=4, label="Pareto front")
    if x == "bytes":
        ax.set_xscale("log")  # codecs spread the bytes over orders of magnitude
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(ScalarFormatter())
    ax.set_xlabel(("total " if x == "bytes" else "") + axis_label(x))
    ax.set_ylabel(axis_label(metric))
    what = {"bytes": "communication", "sim_time_s": "simulated time", "energy_j": "energy"}[x]
    finish(fig, ax, title or f"Final quality vs {what} (mean ± std over seeds)")
    return fig, points, [p.label for p in front]


def write_energy_tradeoff(runs, out_dir: str | Path, metric: str = "psnr_db",
                          colour_of: dict[str, str] | None = None) -> list[Path]:
    """``tradeoff_energy`` as PNG and SVG: each method's (and start's, and control's)
    final quality against the total energy its run spent up to it (every node's
    computation and radio, ``summary.energy``), with the Pareto front; runs that do not
    account energy are left out."""
    fig, _, _ = plot_final_tradeoff(list(runs), "energy_j", metric, colour_of, controls=True,
                                    title="Final quality vs energy (mean ± std over seeds)")
    return save(fig, out_dir, "tradeoff_energy")


def write_tradeoff(runs, out_dir: str | Path, metric: str = "psnr_db",
                   colour_of: dict[str, str] | None = None, final: bool = False) -> list[Path]:
    """``tradeoff_bytes`` and ``tradeoff_time`` as PNG and SVG under ``out_dir``; with
    ``final``, also ``tradeoff_final_bytes`` and ``tradeoff_final_time`` (end points and
    their Pareto front, e.g. for a sweep over codecs)."""
    runs = list(runs)
    paths = []
    for x, stem in (("bytes", "tradeoff_bytes"), ("sim_time_s", "tradeoff_time")):
        fig, _, _ = plot_tradeoff(runs, x, metric, colour_of)
        paths += save(fig, out_dir, stem)
        if final:
            fig, _, _ = plot_final_tradeoff(runs, x, metric, colour_of)
            paths += save(fig, out_dir, stem.replace("tradeoff_", "tradeoff_final_"))
    return paths
