"""What live traffic saw while the models were learnt: a run's timeline.

``semnet analyse timeline RUN_DIR --out FIG.png`` draws, against simulated time,
the delivered images' PSNR (top) and their latency (bottom) of one branch of a run
made with ``traffic:``, from the windowed records of ``metrics.jsonl``
(``split: "traffic"``, one per link and window of ``traffic.window_s``):

* PSNR: the mean over the window's delivered images on all links (each link's mean
  weighted by its delivered images), and the worst link's 5th percentile;
* with ``links.interference.model: sinr``, the images' mean SINR per window (right axis);
* latency: the median of the links' medians and the largest of their 99th
  percentiles, with ``traffic.deadline_s`` as a line; windows that lost images are
  marked with their share lost;
* the learning phases shaded and named, and every model deployment (``split:
  "deployment"``) as a tick at its time under the PSNR curve, coloured by how it
  arrived (a download, a local training's end, an aggregation, a phase boundary).

Several run directories (or ``--branch`` given more than once) are overlaid instead:
one line per run and branch, the mean delivered PSNR above and the worst link's
99th-percentile latency below.

It is the picture of what fine-tuning costs the users while it runs (latency spikes
while model messages hold the air) and what it buys them after (the PSNR step when the
new models are deployed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .runs import AnalysisError, Run, load_run
from .style import DPI, colours, save_to, styled

MAIN_BRANCH = "main"
_VIA_COLOURS = {"phase_start": "0.45", "phase_end": "0.1", "aggregation": "#d62728", "local_training": "#2ca02c"}
_DOWNLOAD_COLOUR = "#1f77b4"  # a model carried by a message (its kind names it)


@dataclass
class Timeline:
    """One branch's windows (by time) and deployments, and its phases' spans."""

    t_s: np.ndarray  # window midpoints
    psnr_mean_db: np.ndarray
    psnr_p5_worst_db: np.ndarray
    latency_p50_s: np.ndarray
    latency_p99_s: np.ndarray
    lost_share: np.ndarray
    phases: list[tuple[str, float, float]] = field(default_factory=list)  # (name, start_s, end_s)
    deployments: list[dict] = field(default_factory=list)
    deadline_s: float | None = None
    sinr_mean_db: np.ndarray | None = None  # links.interference.model sinr: the images' mean SINR per window


def timeline_of(run: Run, branch: str = MAIN_BRANCH) -> Timeline:
    """The windows of ``branch`` pooled over links, its phases and its deployments."""
    windows = [m for m in run.metrics if m.get("split") == "traffic" and m.get("branch") == branch]
    if not windows:
        raise AnalysisError(f"'{run.path}' has no live-traffic records for branch '{branch}' "
                            "(run it with a traffic: section)")
    by_time: dict[float, list[dict]] = {}
    for w in windows:
        by_time.setdefault(float(w["t_start_s"]), []).append(w)
    rows, sinr_rows = [], []
    for start in sorted(by_time):
        group = by_time[start]
        end = float(group[0]["t_end_s"])
        delivered = np.array([w["delivered"] if w.get("psnr_db_mean") is not None else 0 for w in group], float)
        means = np.array([w.get("psnr_db_mean") or 0.0 for w in group], float)
        p5 = [w["psnr_db_p5"] for w in group if w.get("psnr_db_p5") is not None]
        p50 = [w["latency_s_p50"] for w in group if w.get("latency_s_p50") is not None]
        p99 = [w["latency_s_p99"] for w in group if w.get("latency_s_p99") is not None]
        images = sum(w["images"] for w in group)
        sinr = [(w["images"], w["sinr_db_mean"]) for w in group if w.get("sinr_db_mean") is not None]
        sinr_rows.append(sum(n * v for n, v in sinr) / sum(n for n, _ in sinr) if sinr else np.nan)
        rows.append((
            (start + end) / 2,
            float(np.dot(delivered, means) / delivered.sum()) if delivered.sum() else np.nan,
            min(p5) if p5 else np.nan,
            float(np.median(p50)) if p50 else np.nan,
            max(p99) if p99 else np.nan,
            sum(w["lost"] for w in group) / images if images else np.nan,
        ))
    columns = [np.array(c, dtype=float) for c in zip(*rows)]
    summary = run.typed
    records = summary.phases if branch == MAIN_BRANCH else [c for c in summary.controls if f"control_{c.name}" == branch]
    phases = [(p.name, p.sim_time_end_s - p.sim_time_s, p.sim_time_end_s) for p in records]
    deployments = [m for m in run.metrics if m.get("split") == "deployment" and m.get("branch") == branch]
    deadline = summary.traffic.deadline_s if summary.traffic is not None else None
    sinr = np.array(sinr_rows, dtype=float)
    return Timeline(*columns, phases=phases, deployments=deployments, deadline_s=deadline,
                    sinr_mean_db=sinr if np.isfinite(sinr).any() else None)


def _via_colour(via: str) -> str:
    return _VIA_COLOURS.get(via, _DOWNLOAD_COLOUR)


def _via_name(via: str) -> str:
    return {"phase_start": "phase start", "phase_end": "phase end (final models)", "aggregation": "aggregation",
            "local_training": "local training ends"}.get(via, f"'{via}' message arrives")


@styled
def plot_timeline(line: Timeline, title: str = ""):
    """The two-panel figure (module docstring); returns it."""
    fig, top, bottom = _panels(line.phases)
    span = max((end for _, _, end in line.phases), default=1.0) - min((start for _, start, _ in line.phases),
                                                                      default=0.0)
    for name, start, end in line.phases:
        narrow = end - start < 0.08 * span  # short phases side by side: names upright, small
        top.text((start + end) / 2, 1.01, name, transform=top.get_xaxis_transform(), ha="center", va="bottom",
                 fontsize=6 if narrow else 7, rotation=90 if narrow else 0)
    steps = dict(drawstyle="steps-mid")  # one value per window
    top.plot(line.t_s, line.psnr_mean_db, color="#1f77b4", linewidth=1.6, label="mean PSNR of delivered images",
             **steps)
    top.plot(line.t_s, line.psnr_p5_worst_db, color="#1f77b4", linewidth=0.9, linestyle="--",
             label="5th percentile, worst link", **steps)
    finite = np.concatenate([line.psnr_mean_db[np.isfinite(line.psnr_mean_db)],
                             line.psnr_p5_worst_db[np.isfinite(line.psnr_p5_worst_db)]])
    low = float(finite.min()) if finite.size else 0.0
    high = float(finite.max()) if finite.size else 1.0
    pad = max(0.5, 0.08 * (high - low))
    top.set_ylim(low - 2 * pad, high + pad)
    shown: set[str] = set()
    for d in line.deployments:  # a rug of ticks under the curves
        via = d.get("via", "")
        top.plot([d["t_s"]] * 2, [low - 2 * pad, low - 1.2 * pad], color=_via_colour(via), linewidth=0.8,
                 label=None if via in shown else f"deployed: {_via_name(via)}")
        shown.add(via)
    top.set_ylabel("PSNR (dB)")
    top.grid(True, alpha=0.3)
    if line.sinr_mean_db is not None:  # interference: the SINR the images met, on its own axis
        right = top.twinx()
        right.plot(line.t_s, line.sinr_mean_db, color="#2ca02c", linewidth=1.0, alpha=0.8, **steps)
        right.set_ylabel("mean SINR of images (dB)", color="#2ca02c")
        top.plot([], [], color="#2ca02c", linewidth=1.0, label="mean SINR of images (right axis)")
    top.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.08 if line.sinr_mean_db is not None
                                                                            else 1.01, 1.0))
    bottom.plot(line.t_s, 1e3 * line.latency_p50_s, color="#ff7f0e", linewidth=1.4, label="median latency", **steps)
    bottom.plot(line.t_s, 1e3 * line.latency_p99_s, color="#ff7f0e", linewidth=0.9, linestyle="--",
                label="99th percentile, worst link", **steps)
    if line.deadline_s is not None:
        bottom.axhline(1e3 * line.deadline_s, color="#d62728", linewidth=0.9, linestyle=":", label="deadline")
    lossy = np.isfinite(line.lost_share) & (line.lost_share > 0)
    if lossy.any():
        bottom.scatter(line.t_s[lossy], 1e3 * line.latency_p99_s[lossy], s=12 + 60 * line.lost_share[lossy],
                       facecolors="none", edgecolors="#d62728", linewidths=0.8, label="window with lost images "
                       "(size: share lost)", zorder=4)
    bottom.set_ylabel("image latency (ms)")
    return _finish(fig, bottom, title)


def _panels(phases: list[tuple[str, float, float]]):
    """A figure of two panels sharing simulated time (PSNR above, latency below), the
    phases shaded in both."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 5.8), dpi=DPI)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    for ax in (top, bottom):
        for k, (_, start, end) in enumerate(phases):
            ax.axvspan(start, end, color="0.88" if k % 2 == 0 else "0.95", zorder=0, linewidth=0)
    return fig, top, bottom


def _finish(fig, bottom, title: str):
    bottom.set_yscale("log")  # queueing behind a model message multiplies the latency
    bottom.set_xlabel("simulated time (s)")
    bottom.grid(True, alpha=0.3, which="both")
    bottom.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


@styled
def plot_timelines(lines: dict[str, Timeline], title: str = ""):
    """Several runs or branches overlaid: each one's mean delivered PSNR (top) and its
    worst link's 99th-percentile latency (bottom), one colour each; the phases of the
    first are shaded. Returns the figure."""
    fig, top, bottom = _panels(next(iter(lines.values())).phases)
    colour_of = colours(lines)
    for label, line in lines.items():
        colour = colour_of[label]
        top.plot(line.t_s, line.psnr_mean_db, color=colour, linewidth=1.4, drawstyle="steps-mid", label=label)
        bottom.plot(line.t_s, 1e3 * line.latency_p99_s, color=colour, linewidth=1.1, drawstyle="steps-mid",
                    label=label)
    deadlines = {line.deadline_s for line in lines.values() if line.deadline_s is not None}
    for deadline in sorted(deadlines):
        bottom.axhline(1e3 * deadline, color="#d62728", linewidth=0.9, linestyle=":",
                       label="deadline" if len(deadlines) == 1 else f"deadline {1e3 * deadline:g} ms")
    top.set_ylabel("mean PSNR of delivered images (dB)")
    top.grid(True, alpha=0.3)
    top.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    bottom.set_ylabel("p99 image latency,\nworst link (ms)")
    return _finish(fig, bottom, title)


def write_timeline(run_dirs: str | Path | list, out: str | Path, branches: str | list[str] = MAIN_BRANCH) -> list[Path]:
    """Draw the timeline of each run directory's branches into ``out``: a file (its suffix,
    e.g. ``.png`` or ``.svg``, gives the format) or, without a suffix, a folder that
    gets ``timeline.png`` and ``timeline.svg``. One run and one branch: the detailed
    two-panel figure (:func:`plot_timeline`); more: the lines overlaid
    (:func:`plot_timelines`), labelled by run name, seed and branch."""
    run_dirs = [run_dirs] if isinstance(run_dirs, (str, Path)) else list(run_dirs)
    branches = [branches] if isinstance(branches, str) else list(branches) or [MAIN_BRANCH]
    runs = [load_run(d) for d in run_dirs]
    if len(runs) == 1 and len(branches) == 1:
        run, branch = runs[0], branches[0]
        traffic = run.typed.traffic
        title = (f"{run.name}: {traffic.images_per_s if traffic else '?'} images/s per link, "
                 f"{traffic.arrivals if traffic else '?'}, {traffic.queue if traffic else '?'}, branch {branch}")
        fig = plot_timeline(timeline_of(run, branch), title)
    else:
        names = [f"{r.name}, seed {r.seed}" for r in runs]
        if len(set(names)) < len(names):  # same scenario and seed twice: tell them apart by folder
            names = [f"{n} ({r.path.name})" for n, r in zip(names, runs)]
        lines = {f"{n}, {b}" if len(branches) > 1 else n: timeline_of(r, b)
                 for n, r in zip(names, runs) for b in branches}
        fig = plot_timelines(lines, "live images over simulated time")
    return save_to(fig, out, "timeline")
