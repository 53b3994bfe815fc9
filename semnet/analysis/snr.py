"""Quality vs SNR from an SNR sweep: one line per method, mean ± std over seeds.

Runs are grouped into sweep points by their resolved scenario's ``links`` and
``topology`` settings (whatever was swept there: ``links.snr_db``,
``links.snr_offset_db``, overrides...), so seeds whose random topologies give
slightly different mean SNRs still fall on one point. x is either the mean link SNR
the run reports (``summary.network.snr_db_mean``, the default) or a swept scenario
key (``snr_offset_db`` or ``snr_db``, under ``links``); x is averaged over the point's
seeds, y (the method's final mean link PSNR by default, or any outcome of
:data:`semnet.outcomes.OUTCOMES` with ``--metric``: image loss, latency, energy ...) is
shown as mean ± sample std.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Iterable

import numpy as np

from .runs import AnalysisError, Run, Variant, as_variants, group_by_label, scenario_value
from .stats import SeriesPoint, mean_std
from .style import axis_label, colours, finish, new_figure, plot_series, save, styled

log = logging.getLogger(__name__)

X_CHOICES = ("snr_db_mean", "snr_offset_db", "snr_db")


def snr_x(run: Run, x: str = "snr_db_mean") -> float:
    """The run's x value in dB (see the module docstring)."""
    if x not in X_CHOICES:
        raise AnalysisError(f"snr x = '{x}' is not known; use one of {', '.join(X_CHOICES)}")
    if x == "snr_db_mean":
        value = None if run.typed.network is None else run.typed.network.snr_db_mean
    else:
        value = scenario_value(run, f"links.{x}")
    if value is None:
        raise AnalysisError(f"run '{run.path}' has no {x} (summary.network.snr_db_mean or scenario links.{x})")
    return float(value)


def _sweep_key(run: Run, x: str) -> str:
    """Runs differing only in seed (and method) share a key: their links and topology
    settings, as written in the resolved scenario."""
    if not run.scenario.get("links"):  # no scenario: group by the x value itself
        return repr(round(snr_x(run, x), 6))
    return json.dumps([run.scenario.get("links"), run.scenario.get("topology")], sort_keys=True)


def snr_buckets(runs: Iterable[Run] | Iterable[Variant], x: str = "snr_db_mean") -> dict[str, list[Run]]:
    """The runs of every point of every line, keyed ``label at point``, pooled exactly as
    :func:`snr_series` pools them (by the runs' links and topology settings)."""
    buckets: dict[str, list[Run]] = {}
    for label, group in group_by_label(as_variants(runs)).items():
        for v in group:
            buckets.setdefault((label, _sweep_key(v.run, x)), []).append(v.run)
    named: dict[str, list[Run]] = {}
    for (label, _), rs in buckets.items():  # two points at one x keep apart (snr_series warns of them)
        name = f"{label} at {x} = {snr_x(rs[0], x):g}"
        named[name if name not in named else f"{name} (point {len(named) + 1})"] = rs
    return named


def snr_series(
    runs: Iterable[Run] | Iterable[Variant], x: str = "snr_db_mean", metric: str = "psnr_db"
) -> dict[str, list[SeriesPoint]]:
    """Label -> points sorted by x. Every variant label (``finefed/start`` ...) is a line."""
    variants = as_variants(runs)
    out: dict[str, list[SeriesPoint]] = {}
    for label, group in group_by_label(variants).items():
        points: dict[str, list[Variant]] = {}
        for v in group:
            points.setdefault(_sweep_key(v.run, x), []).append(v)
        series = []
        for vs in points.values():
            y = mean_std(v.values.get(metric, math.nan) for v in vs)  # NaN: a run without it
            series.append(SeriesPoint(float(np.mean([snr_x(v.run, x) for v in vs])), y.mean, y.std, y.n))
        out[label] = sorted(series, key=lambda p: p.x)
        xs = [p.x for p in series]
        if len(set(xs)) != len(xs):
            log.warning("'%s': different sweep points share x = %s = %s; is x the swept key?", label, x,
                        sorted({v for v in xs if xs.count(v) > 1}))
    return out


@styled
def plot_snr(
    runs: Iterable[Run] | Iterable[Variant],
    x: str = "snr_db_mean",
    metric: str = "psnr_db",
    colour_of: dict[str, str] | None = None,
    title: str | None = None,
):
    """Draw quality vs SNR; returns ``(figure, series)``."""
    series = snr_series(runs, x, metric)
    if not series:
        raise AnalysisError("no runs to draw PSNR vs SNR from")
    colour_of = colour_of or colours(series)
    fig, ax = new_figure()
    for i, (label, pts) in enumerate(series.items()):
        plot_series(ax, label, [p.x for p in pts], [p.y for p in pts], [p.y_std for p in pts],
                    i, len(series), colour_of.get(label), max(p.n for p in pts))
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(metric))
    what = "Quality" if metric == "psnr_db" else metric
    finish(fig, ax, title or f"{what} vs channel SNR (mean ± std over seeds)")
    return fig, series


def write_snr(runs, out_dir: str | Path, x: str = "snr_db_mean", metric: str = "psnr_db",
              colour_of: dict[str, str] | None = None) -> list[Path]:
    """``psnr_vs_snr`` (``<metric>_vs_snr`` for another outcome) as PNG and SVG under ``out_dir``."""
    fig, _ = plot_snr(runs, x, metric, colour_of)
    return save(fig, out_dir, "psnr_vs_snr" if metric == "psnr_db" else f"{metric}_vs_snr")
