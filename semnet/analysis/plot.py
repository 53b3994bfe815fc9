"""Any outcome against any scenario key: ``semnet analyse plot RUNS --y Y --x KEY``.

y is any outcome of :data:`semnet.outcomes.OUTCOMES` (quality, bytes, simulated and
wall time, energies, the live images' loss, delivered PSNR and latency); x is a dotted
key of the resolved scenario (``links.snr_offset_db``, ``links.medium``,
``traffic.images_per_s``), the one a sweep varied. One line per row of the methods
table (``fedavg``, ``finefed/start``, ``finefed`` ...; with ``--group-by`` one per
group too); each point is the mean ± sample std over the seeds at one x. Numeric x
values make a numeric axis; any other value (a medium's name) one tick per value, in
first-seen order. The points are also written as CSV, so every plotted number is in a
file.

Runs at one x of one line that differ in anything but the seed are refused, or pooled
with ``--pool`` and named (:mod:`semnet.analysis.grouping`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

from semnet.outcomes import OUTCOMES

from .grouping import check_pooling
from .runs import AnalysisError, Run, Variant, as_variants, group_by_label, scenario_value
from .stats import mean_std
from .style import axis_label, colours, file_stem, finish, new_figure, plot_series, save, styled


@dataclass(frozen=True)
class PlotPoint:
    """One point of one line: the x value (as in the scenario), mean and std of y, seeds."""

    label: str
    x: object
    y: float
    y_std: float
    seeds: tuple


def _x_value(run: Run, key: str):
    value = scenario_value(run, key)
    if value is None:
        raise AnalysisError(f"--x {key}: run '{run.path}' has no such scenario key (a dotted key of its "
                            "scenario.yaml, e.g. links.snr_offset_db)")
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def plot_points(runs: list[Run], y: str, x: str, *, pool: bool = False, final_only: bool = False,
                notes: list[str] | None = None) -> list[PlotPoint]:
    """Every line's points, lines in the methods table's order, points in x order."""
    if y not in OUTCOMES:
        raise AnalysisError(f"--y {y}: not an outcome; use one of {', '.join(OUTCOMES)}")
    variants = [v for v in as_variants(runs) if v.kind == "final" or not final_only]
    buckets: dict[tuple[str, str], list[Variant]] = {}
    for v in variants:
        buckets.setdefault((v.label, json.dumps(_x_value(v.run, x), sort_keys=True, default=str)), []).append(v)
    pooled = check_pooling({f"{label} at {x}={value}": [v.run for v in vs] for (label, value), vs in buckets.items()},
                           pool=pool, allowed=(x,), what=f"plot {y} vs {x}")
    if notes is not None:
        notes.extend(pooled)
    order = list(group_by_label(variants))
    points = []
    for (label, _), vs in buckets.items():
        values = [v.values.get(y, math.nan) for v in vs]
        if not any(math.isfinite(value) for value in values):
            continue
        stats = mean_std(values)
        points.append(PlotPoint(label, _x_value(vs[0].run, x), stats.mean, stats.std,
                                tuple(sorted(v.seed for v in vs))))
    if not points:
        raise AnalysisError(f"no run has {y} ({OUTCOMES[y]})")
    numeric = all(_is_number(p.x) for p in points)
    first_seen = list(dict.fromkeys(json.dumps(p.x, sort_keys=True, default=str) for p in points))

    def x_order(p: PlotPoint):
        return float(p.x) if numeric else first_seen.index(json.dumps(p.x, sort_keys=True, default=str))

    return sorted(points, key=lambda p: (order.index(p.label), x_order(p)))


@styled
def plot_outcome(points: list[PlotPoint], y: str, x: str, title: str | None = None):
    """The figure of :func:`plot_points`' result."""
    numeric = all(_is_number(p.x) for p in points)
    ticks = list(dict.fromkeys(str(p.x) for p in points))
    lines: dict[str, list[PlotPoint]] = {}
    for p in points:
        lines.setdefault(p.label, []).append(p)
    colour_of = colours(lines)
    fig, ax = new_figure()
    for i, (label, pts) in enumerate(lines.items()):
        xs = [float(p.x) if numeric else ticks.index(str(p.x)) for p in pts]
        plot_series(ax, label, xs, [p.y for p in pts], [p.y_std for p in pts], i, len(lines),
                    colour_of[label], max(len(p.seeds) for p in pts))
    if not numeric:
        ax.set_xticks(range(len(ticks)), ticks)
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(y))
    finish(fig, ax, title or f"{y} vs {x} (mean ± std over seeds)")
    return fig


def points_csv(points: list[PlotPoint], y: str, x: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["label", x, f"{y}_mean", f"{y}_std", "n_seeds", "seeds"])
    for p in points:
        writer.writerow([p.label, p.x, repr(p.y), "" if math.isnan(p.y_std) else repr(p.y_std), len(p.seeds),
                         " ".join(str(s) for s in p.seeds)])
    return buffer.getvalue()


def write_plot(runs: list[Run], out_dir: str | Path, y: str, x: str, *, pool: bool = False,
               final_only: bool = False) -> list[Path]:
    """``<y>_vs_<x>.png/.svg/.csv`` under ``out_dir`` (and ``.notes.txt`` naming what was
    pooled, with ``pool``)."""
    notes: list[str] = []
    points = plot_points(runs, y, x, pool=pool, final_only=final_only, notes=notes)
    stem = f"{y}_vs_{file_stem(x)}"
    out_dir = Path(out_dir)
    paths = save(plot_outcome(points, y, x), out_dir, stem)
    table = out_dir / f"{stem}.csv"
    table.write_text(points_csv(points, y, x))
    paths.append(table)
    if notes:
        note_file = out_dir / f"{stem}.notes.txt"
        note_file.write_text("Pooled on request (--pool):\n" + "\n".join(notes) + "\n")
        paths.append(note_file)
    return paths

