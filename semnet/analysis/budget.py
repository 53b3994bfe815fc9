"""Budget curves: mean link PSNR against the extra bytes and extra passes spent after
the federated start, for FineFed at several budgets (iterations K, step counts) and
for each of its controls, and comparisons "at equal bytes" / "at equal passes".

Every FineFed run gives one point per curve from its ``summary.json``: FineFed at
(``finetune_budget.bytes``, ``finetune_budget.local_passes``), each control at its own
(``bytes``, ``local_passes``), all counted after the start; every curve begins at
the start (0, 0, the start's PSNR). Runs are grouped into *budgets* by their
fine-tuning settings (``method.finetune``: K, encoder steps, decoder rounds and steps),
so the runs of one budget are its seeds: a curve's point is the mean over those seeds
(x and y), with the sample standard deviation of y.

A comparison is paired by seed: for each FineFed run, each control's points of the
same seed (and the same start) are joined by straight lines and read at FineFed's own
extra bytes or passes; the difference FineFed - control is then averaged over seeds.
A control whose points do not reach FineFed's budget on both sides is not read there
(no extrapolation): the row says so.

The oracle (not budget-matched) is left out.

Examples
--------
>>> curves = budget_points(load_runs(["results/budget"]))     # doctest: +SKIP
>>> write_budget(curves, "docs/results/budget")               # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .runs import AnalysisError, Run, is_finefed
from .stats import mean_std
from .style import DPI, FIGSIZE_IN, MB, colours, plot_series, save, styled

AXES = {"bytes": ("extra bytes after the start (MB)", 1.0 / MB), "local_passes": ("extra local passes", 1.0)}
NOT_MATCHED = ("oracle",)  # controls that are not budget-matched


@dataclass(frozen=True)
class BudgetPoint:
    """One variant of one run at its budget: PSNR at the extra bytes and passes it spent."""

    label: str          # ``finefed`` or ``finefed/<control>`` (``finefed/start`` at 0, 0)
    budget: str         # the run's fine-tuning settings, e.g. ``K=2 enc=20 dec=2x10``
    run_dir: str
    seed: int | None
    bytes: float
    local_passes: float
    psnr_db: float


def budget_label(scenario: dict) -> str:
    """The fine-tuning settings that set a FineFed run's budget, as a short label."""
    ft = (scenario.get("method") or {}).get("finetune") or {}
    enc, dec = ft.get("encoder") or {}, ft.get("decoder") or {}

    def steps(section: dict) -> str:
        return str(section.get("steps") if section.get("steps") is not None else f"{section.get('epochs')}ep")

    return f"K={ft.get('iterations')} enc={steps(enc)} dec={ft.get('decoder_rounds')}x{steps(dec)}"


def budget_points(runs: Iterable[Run]) -> list[BudgetPoint]:
    """Every FineFed run's start, final and control points (runs of other methods, and
    runs that report no fine-tuning budget, are skipped)."""
    points: list[BudgetPoint] = []
    for run in runs:
        s = run.typed
        budget = s.finetune_budget
        phases = s.phases
        if not (is_finefed(run.method) and budget and phases):
            continue
        label, key, where = run.method, budget_label(run.scenario), str(run.path)

        def point(name: str, spent_bytes, passes, psnr) -> BudgetPoint:
            return BudgetPoint(name, key, where, run.seed, _num(spent_bytes), _num(passes), _num(psnr))

        points.append(point(f"{label}/start", 0, 0, phases[0].psnr_db))
        # runs written before passes were counted have no local_passes: they stay off that axis
        points.append(point(label, budget.get("bytes"), budget.get("local_passes"), s.psnr_db))
        for c in s.controls:
            if c.name in NOT_MATCHED:
                continue
            points.append(point(f"{label}/{c.name}", c.bytes, c.local_passes, c.psnr_db))
    if not points:
        raise AnalysisError("no FineFed run with a fine-tuning budget (summary.json 'finetune_budget') to plot")
    return points


def _num(value) -> float:
    return math.nan if value is None else float(value)


def _on_axis(points: list[BudgetPoint], axis: str) -> list[BudgetPoint]:
    """The points that have a value on ``axis`` and a PSNR."""
    return [p for p in points if math.isfinite(getattr(p, axis)) and math.isfinite(p.psnr_db)]


@dataclass(frozen=True)
class CurvePoint:
    budget: str
    x: float            # mean over seeds, raw units
    y: float
    y_std: float
    n: int


def curves(points: list[BudgetPoint], axis: str) -> dict[str, list[CurvePoint]]:
    """Per label, its points over budgets (mean over seeds), sorted by x; every curve but
    the start's begins at the start's mean."""
    points = _on_axis(points, axis)
    groups: dict[tuple[str, str], list[BudgetPoint]] = defaultdict(list)
    for p in points:
        groups[(p.label, p.budget)].append(p)
    out: dict[str, list[CurvePoint]] = defaultdict(list)
    for (label, budget), members in groups.items():
        y = mean_std(p.psnr_db for p in members)
        out[label].append(CurvePoint(budget, float(np.mean([getattr(p, axis) for p in members])), y.mean, y.std, y.n))
    # the start, once per seed (every budget's runs of a seed share it)
    start_of: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    for p in points:
        if p.label.endswith("/start"):
            start_of[p.label.rpartition("/")[0]][p.seed].append(p.psnr_db)
    for label, pts in out.items():
        pts.sort(key=lambda c: c.x)
        family = label.partition("/")[0]
        if not label.endswith("/start") and family in start_of:
            s = mean_std(float(np.mean(v)) for v in start_of[family].values())
            pts.insert(0, CurvePoint("start", 0.0, s.mean, s.std, s.n))
    return {label: pts for label, pts in out.items() if not label.endswith("/start")}


@dataclass(frozen=True)
class Comparison:
    """FineFed at one budget minus one control read at FineFed's own extra bytes or passes."""

    method: str
    budget: str
    control: str
    axis: str
    method_x: float     # mean over seeds, raw units
    method_psnr_db: float
    diff_db: float      # mean over the seeds where the control could be read
    diff_std_db: float
    n: int              # seeds read
    seeds: int          # seeds of this FineFed budget


def _interpolate(x: float, xs: list[float], ys: list[float]) -> float:
    """Linear read of the polyline (xs, ys) at x; NaN outside its range."""
    order = np.argsort(xs, kind="stable")
    xs_sorted, ys_sorted = np.asarray(xs, dtype=float)[order], np.asarray(ys, dtype=float)[order]
    if not (xs_sorted[0] - 1e-9 <= x <= xs_sorted[-1] + 1e-9):
        return math.nan
    return float(np.interp(x, xs_sorted, ys_sorted))


def comparisons(points: list[BudgetPoint], axis: str) -> list[Comparison]:
    """FineFed minus each control at equal ``axis`` (``bytes`` or ``local_passes``),
    paired by seed, one row per (FineFed budget, control)."""
    points = _on_axis(points, axis)
    by_seed: dict[tuple[str, int | None], list[BudgetPoint]] = defaultdict(list)
    for p in points:
        by_seed[(p.label.partition("/")[0], p.seed)].append(p)
    rows: dict[tuple[str, str, str], list[tuple[float, float, float]]] = defaultdict(list)
    seeds: dict[tuple[str, str], int] = defaultdict(int)
    for (family, _seed), members in by_seed.items():
        start = [p for p in members if p.label.endswith("/start")]
        controls = sorted({p.label for p in members if p.label.startswith(f"{family}/")
                           and not p.label.endswith("/start")})
        for mine in (p for p in members if p.label == family):
            seeds[(family, mine.budget)] += 1
            x = getattr(mine, axis)
            for control in controls:
                curve = start[:1] + [p for p in members if p.label == control]
                value = _interpolate(x, [getattr(p, axis) for p in curve], [p.psnr_db for p in curve])
                rows[(family, mine.budget, control)].append((x, mine.psnr_db, mine.psnr_db - value))
    out = []
    for (family, budget, control), values in rows.items():
        diff = mean_std(d for _, _, d in values)
        out.append(Comparison(family, budget, control, axis, float(np.mean([x for x, _, _ in values])),
                              float(np.mean([y for _, y, _ in values])), diff.mean, diff.std, diff.n,
                              seeds[(family, budget)]))
    out.sort(key=lambda c: (c.method, c.method_x, c.control))
    return out


def _fmt(value: float, digits: int = 2, sign: bool = True) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def to_markdown(rows_by_axis: dict[str, list[Comparison]]) -> str:
    lines = ["| method | budget | at equal | extra | method PSNR (dB) | minus | difference (dB) | seeds read |",
             "|---|---|---|---:|---:|---|---:|---:|"]
    for axis, rows in rows_by_axis.items():
        for r in rows:
            extra = f"{r.method_x / MB:.3f} MB" if axis == "bytes" else f"{r.method_x:.0f}"
            diff = "out of range" if r.n == 0 else (
                f"{r.diff_db:+.2f}" if math.isnan(r.diff_std_db) else f"{r.diff_db:+.2f} ± {r.diff_std_db:.2f}")
            lines.append(f"| `{r.method}` | {r.budget} | {'bytes' if axis == 'bytes' else 'passes'} | {extra} "
                         f"| {r.method_psnr_db:.2f} | `{r.control}` | {diff} | {r.n}/{r.seeds} |")
    lines += ["", "Differences are paired by seed: each control's points of that seed, joined by straight lines from "
              "the start, read at FineFed's own extra bytes or passes; mean ± sample std over the seeds read. "
              "'out of range': the control's points do not reach that budget (no extrapolation)."]
    return "\n".join(lines) + "\n"


def to_csv(rows_by_axis: dict[str, list[Comparison]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["method", "budget", "axis", "method_x", "method_psnr_db", "control", "diff_db", "diff_std_db",
                     "seeds_read", "seeds"])
    for axis, rows in rows_by_axis.items():
        for r in rows:
            writer.writerow([r.method, r.budget, axis, repr(r.method_x), repr(r.method_psnr_db), r.control,
                             repr(r.diff_db), repr(r.diff_std_db), r.n, r.seeds])
    return buffer.getvalue()


@styled
def plot_budget(points: list[BudgetPoint]) -> Figure:
    """One figure, two panels: PSNR against extra bytes, and against extra passes."""
    fig = Figure(figsize=(2 * FIGSIZE_IN[0], FIGSIZE_IN[1]), dpi=DPI)
    FigureCanvasAgg(fig)
    panels = fig.subplots(1, 2, sharey=True)
    labels = sorted({p.label for p in points if not p.label.endswith("/start")},
                    key=lambda s: (s.count("/"), s))
    colour_of = colours(labels)
    for ax, axis in zip(panels, AXES):
        name, scale = AXES[axis]
        lines = curves(points, axis)
        for index, label in enumerate(labels):
            pts = lines.get(label, [])
            if not pts:
                continue
            plot_series(ax, label, [c.x * scale for c in pts], [c.y for c in pts], [c.y_std for c in pts], index,
                        len(labels), colour_of[label], max(c.n for c in pts))
        ax.set_xlabel(name)
        ax.grid(True, alpha=0.3)
    panels[0].set_ylabel("mean link PSNR (dB)")
    panels[0].set_title("at equal bytes")
    panels[1].set_title("at equal passes")
    handles, names = panels[0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0, 0.78, 1))  # the legend sits right of the panels, inside the figure
    fig.legend(handles, names, frameon=False, loc="center left", bbox_to_anchor=(0.78, 0.5), fontsize=9)
    return fig


def write_budget(points: list[BudgetPoint], out_dir: str | Path) -> list[Path]:
    """``budget_curves.png/.svg`` and ``budget.md``/``budget.csv`` under ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig = plot_budget(points)
    written = save(fig, out_dir, "budget_curves")
    rows = {axis: comparisons(points, axis) for axis in AXES}
    for name, text in (("budget.md", to_markdown(rows)), ("budget.csv", to_csv(rows))):
        (out_dir / name).write_text(text)
        written.append(out_dir / name)
    return written

