"""Shared look of the figures: size, fonts, labels with units, colours, saving.

Figures are ``matplotlib.figure.Figure`` objects attached to the Agg canvas, never
made through pyplot's global state: the library works headless, leaves the user's
backend alone and can build many figures without leaking them.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterable

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from semnet.outcomes import OUTCOMES

FIGSIZE_IN = (6.4, 4.0)
DPI = 150
FONT_SIZE = 10
FORMATS = ("png", "svg")


MB = 1e6  # bytes per megabyte (decimal, as network traffic is counted)

#: Axis labels with units, by measure key.
AXIS_LABELS = {
    "psnr_db": "mean link PSNR (dB)",
    "worst_link_psnr_db": "worst-link PSNR (dB)",
    "ssim": "mean link SSIM",
    "ms_ssim": "mean link MS-SSIM",
    "accuracy": "task accuracy on decoded images",
    "bytes": "cumulative bytes (MB)",
    "sim_time_s": "simulated time (s)",
    "energy_j": "energy (J)",
    "wall_time_s": "wall time (s)",
    "local_steps": "local steps",
    "snr_db": "link SNR (dB)",
    "snr_db_mean": "mean link SNR (dB)",
    "snr_offset_db": "link SNR offset (dB)",
    "link_psnr_db": "link PSNR (dB)",
    "num_users": "number of users",
    "radius_m": "connection radius (m)",
    "p": "edge probability p",
    "k": "neighbours k",
    "p_rewire": "rewiring probability",
    "area_m": "area side (m)",
}

RC = {
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE + 1,
    "axes.labelsize": FONT_SIZE,
    "legend.fontsize": FONT_SIZE - 1,
    "xtick.labelsize": FONT_SIZE - 1,
    "ytick.labelsize": FONT_SIZE - 1,
    "svg.fonttype": "none",  # keep SVG text as text
    "svg.hashsalt": "semnet",  # fixed element ids: the same records give the same SVG file
}

# no creation date in the files: a figure regenerated from the same records is the same file
_NO_DATE = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}


def _metadata(fmt: str) -> dict | None:
    return _NO_DATE.get(fmt.lower())

_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")


def axis_label(key: str) -> str:
    """An axis title with units: the house label, else the outcome's own description."""
    return AXIS_LABELS.get(key) or OUTCOMES.get(key, key)


def styled(func):
    """Run a plotting function under the house rc settings (fonts, SVG text)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(RC):
            return func(*args, **kwargs)

    return wrapper


def new_figure(figsize: tuple[float, float] = FIGSIZE_IN):
    """A figure on the Agg canvas and its one axes."""
    fig = Figure(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def colours(labels: Iterable[str]) -> dict[str, str]:
    """A fixed colour per label, in the order given (cycles after ten)."""
    return {label: _PALETTE[i % len(_PALETTE)] for i, label in enumerate(labels)}


def line_style(label: str) -> str:
    """Solid for methods, dotted for a federated start, dashed for controls."""
    label = label.partition(" [")[0]  # without its --group-by group
    _, _, part = label.partition("/")
    if not part:
        return "-"
    return ":" if part == "start" else "--"


def plot_series(ax, label: str, xs, ys, yerr, index: int, count: int, colour: str | None, n: int) -> None:
    """A line with markers at the exact (x, y), and its ± std error bars nudged
    sideways by series (up to ±1.5 % of the x span) so equal points stay readable."""
    xs, ys, yerr = (np.asarray(a, dtype=float) for a in (xs, ys, yerr))
    ax.plot(xs, ys, label=f"{label} (n={n})", color=colour, linestyle=line_style(label),
            marker=MARKERS[index % len(MARKERS)], markersize=5, linewidth=1.6, zorder=3)
    if np.all(np.isnan(yerr)):
        return
    span = float(np.ptp(xs)) if xs.size > 1 else 1.0
    shift = 0.0 if count < 2 else (index - (count - 1) / 2) * 0.03 * span / (count - 1)
    ax.errorbar(xs + shift, ys, yerr=yerr, fmt="none", ecolor=colour, elinewidth=1.1, capsize=3,
                alpha=0.7, zorder=2)


def finish(fig: Figure, ax, title: str, legend: bool = True) -> None:
    """Title, grid, legend (if anything is labelled) and a tight layout."""
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if legend:
        handles, _ = ax.get_legend_handles_labels()
        if len(handles) > 5:  # many curves: legend beside the axes so it hides no data
            fig.set_size_inches(fig.get_size_inches()[0] + 3.2, fig.get_size_inches()[1])
            ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
        elif handles:
            ax.legend(frameon=False, loc="best")
    fig.tight_layout()


def save(fig: Figure, out_dir: str | Path, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` under ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with matplotlib.rc_context(RC):
        for fmt in FORMATS:
            path = out_dir / f"{stem}.{fmt}"
            fig.savefig(path, dpi=DPI, format=fmt, metadata=_metadata(fmt))
            paths.append(path)
    return paths


def save_to(fig: Figure, out: str | Path, stem: str) -> list[Path]:
    """Write ``fig`` to ``out``: a file whose suffix gives the format, or, without a
    suffix, a folder that gets ``stem.png`` and ``stem.svg``; return the paths."""
    out = Path(out)
    if not out.suffix:
        return save(fig, out, stem)
    out.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(RC):
        fig.savefig(out, dpi=DPI, metadata=_metadata(out.suffix.lstrip(".")))
    return [out]


def file_stem(label: str) -> str:
    """A label as a safe file-name part (``finefed/start`` -> ``finefed_start``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
