"""The classic figure of deep JSCC against separate source and channel coding: PSNR
against test SNR, one panel per fading and bandwidth ratio, from the records that
``python -m semnet.digital.snr_curve`` writes (``records.csv``, ``meta.json``).

JSCC models are solid lines; the digital baselines of one codec (``--codec``) are
dashed (``capacity``: the separation bound), dotted (``mcs``: the CQI entry of the last
known SNR) and dash-dotted (``mcs_fixed``: the entry of the design SNR, never
changed). ``snr_curve.md``/``.csv`` tabulate every scheme, every codec, at every test
SNR, with the shares of digital images lost and unfit.

Records with task accuracy (measured with ``--classifier``) give the same figure and
table for it too: ``snr_curve_accuracy.png/.svg/.csv`` and a second table in
``snr_curve.md``, the classifier's accuracy on the undistorted images drawn as a
grey line.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

from .runs import AnalysisError
from .style import MARKERS, new_figure, save, styled

__all__ = ["read_records", "write_snr_curve"]

REQUIRED = ("fading", "bandwidth_ratio", "test_snr_db", "scheme", "kind", "codec", "rate", "psnr_db",
            "lost_share", "unfit_share")
FADING_TITLES = {"none": "AWGN", "rayleigh": "Rayleigh block fading"}
RATE_STYLES = {"capacity": "--", "mcs": ":", "mcs_fixed": "-."}
RATE_COLOURS = {"capacity": "#d62728", "mcs": "#ff7f0e", "mcs_fixed": "#e377c2"}
RATE_LABELS = {"capacity": "at capacity", "mcs": "adaptive CQI", "mcs_fixed": "CQI fixed for design SNR"}


def read_records(folder: str | Path) -> tuple[list[dict], dict]:
    """The rows of ``folder/records.csv`` (numbers as floats) and ``meta.json`` ({} without)."""
    folder = Path(folder)
    path = folder / "records.csv" if folder.is_dir() else folder
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as err:
        raise AnalysisError(f"cannot read snr-curve records {path}: {err.strerror or err}") from None
    if not rows:
        raise AnalysisError(f"{path}: no snr-curve records")
    missing = [k for k in REQUIRED if k not in rows[0]]
    if missing:
        raise AnalysisError(f"{path}: not snr-curve records (no column {missing[0]!r})")
    for row in rows:
        try:
            for key in ("test_snr_db", "psnr_db", "lost_share", "unfit_share"):
                row[key] = float(row[key])
            key = "accuracy"  # optional: records measured with a classifier
            row[key] = float(row[key]) if row.get(key) not in (None, "") else None
        except ValueError:
            raise AnalysisError(f"{path}: {key} = {row[key]!r} is not a number") from None
    meta_path = path.parent / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return rows, meta


def _panels(rows: list[dict]) -> list[tuple[str, str]]:
    fadings = sorted({r["fading"] for r in rows}, key=lambda f: (f != "none", f))
    ratios = sorted({r["bandwidth_ratio"] for r in rows}, key=lambda r: -Fraction(r))
    return [(f, r) for f in fadings for r in ratios]


#: What a figure or table shows: the record's column, the axis label and a cell's format.
METRICS = {"psnr_db": ("PSNR (dB)", lambda v: f"{v:.2f}"),
           "accuracy": ("task accuracy (%)", lambda v: f"{100 * v:.1f}")}


@styled
def _figure(rows: list[dict], codec: str, meta: dict, metric: str = "psnr_db"):
    panels = _panels(rows)
    ratios = sorted({r for _, r in panels}, key=lambda r: -Fraction(r))
    fadings = list(dict.fromkeys(f for f, _ in panels))
    fig, _ = new_figure((5.2 * len(ratios), 3.6 * len(fadings) + 0.9))
    fig.clear()
    jscc = list(dict.fromkeys(r["scheme"] for r in rows if r["kind"] == "jscc"))
    palette = {name: c for name, c in zip(jscc, ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b"))}
    axes = []
    for i, (fading, ratio) in enumerate(panels):
        ax = fig.add_subplot(len(fadings), len(ratios), i + 1)
        axes.append(ax)
        here = [r for r in rows if r["fading"] == fading and r["bandwidth_ratio"] == ratio]
        scale = 100.0 if metric == "accuracy" else 1.0
        for j, name in enumerate(jscc):
            pts = sorted((r["test_snr_db"], scale * r[metric]) for r in here
                         if r["scheme"] == name and r[metric] is not None)
            if pts:
                ax.plot(*zip(*pts), color=palette.get(name), marker=MARKERS[j], markersize=4, linewidth=1.6,
                        label=f"deep JSCC: {name}")
        for rate, style in RATE_STYLES.items():
            pts = sorted((r["test_snr_db"], scale * r[metric]) for r in here
                         if r["kind"] == "digital" and r["codec"] == codec and r["rate"] == rate
                         and r[metric] is not None)
            if pts:
                ax.plot(*zip(*pts), color=RATE_COLOURS[rate], linestyle=style,
                        marker="x", markersize=4, linewidth=1.4, label=f"{codec} {RATE_LABELS[rate]}")
        clean = meta.get("clean_accuracy")
        if metric == "accuracy" and isinstance(clean, (int, float)):
            ax.axhline(100 * clean, color="grey", linewidth=1.0, label="classifier on undistorted images")
        ax.set_title(f"{FADING_TITLES.get(fading, fading)}, k/n = {ratio}")
        ax.set_xlabel("test SNR (dB)")
        ax.set_ylabel(METRICS[metric][0])
        ax.grid(True, alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    for ax in axes[1:]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    design = meta.get("design_snr_db")
    note = f" for {design:g} dB" if isinstance(design, (int, float)) else " for design SNR"
    fig.legend(list(seen.values()), [lab.replace(" for design SNR", note) for lab in seen], loc="lower center",
               ncol=3 if len(ratios) > 1 else 2, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.9 / fig.get_size_inches()[1], 1, 1))
    return fig


def _percent(share: float) -> str:
    return "<1%" if share < 0.005 else f"{100 * share:.0f}%"


def _table(rows: list[dict], metric: str = "psnr_db") -> tuple[list[str], list[list[str]]]:
    snrs = sorted({r["test_snr_db"] for r in rows})
    by_key: dict[tuple, dict] = defaultdict(dict)
    for r in rows:
        by_key[(r["fading"], r["bandwidth_ratio"], r["scheme"])][r["test_snr_db"]] = r
    header = ["fading", "k/n", "scheme", *[f"{s:g} dB" for s in snrs]]
    body = []
    for (fading, ratio), _ in [((f, r), None) for f, r in _panels(rows)]:
        for (f, q, scheme), points in by_key.items():
            if (f, q) != (fading, ratio):
                continue
            cells = []
            for s in snrs:
                r = points.get(s)
                if r is None or r[metric] is None:
                    cells.append("")
                    continue
                parts = [f"{_percent(r[k])} {k.split('_')[0]}" for k in ("lost_share", "unfit_share") if r[k] > 0]
                mark = f" ({', '.join(parts)})" if parts else ""
                cells.append(f"{METRICS[metric][1](r[metric])}{mark}")
            body.append([FADING_TITLES.get(fading, fading), ratio, scheme, *cells])
    return header, body


def write_snr_curve(records: str | Path, out: str | Path, codec: str = "webp") -> list[Path]:
    """``snr_curve.png/.svg`` (the figure, digital curves of ``codec``) and
    ``snr_curve.md/.csv`` (every scheme at every test SNR) under ``out``."""
    rows, meta = read_records(records)
    codecs = sorted({r["codec"] for r in rows if r["kind"] == "digital"})
    if codecs and codec not in codecs:
        raise AnalysisError(f"--codec {codec!r}: no digital records of it; allowed: {', '.join(codecs)}")
    out = Path(out)
    metrics = ["psnr_db"] + (["accuracy"] if any(r["accuracy"] is not None for r in rows) else [])
    written, tables, sections = [], [], []
    for metric in metrics:
        stem = "snr_curve" if metric == "psnr_db" else f"snr_curve_{metric}"
        written += save(_figure(rows, codec, meta, metric), out, stem)
        header, body = _table(rows, metric)
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        sections.append("\n".join(lines + ["| " + " | ".join(row) + " |" for row in body]))
        tables.append(out / f"{stem}.csv")
        with open(tables[-1], "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(body)
    source = f"\n\nRecords: {meta.get('data', '')}; commit {meta.get('commit', '?')}, {meta.get('date', '?')}." \
        if meta else ""
    text = ("PSNR (dB) against test SNR; digital cells give the share of images lost or unfit where any.\n\n"
            + sections[0])
    if len(sections) > 1:
        clean = meta.get("clean_accuracy")
        on_clean = f" (on the undistorted images: {100 * clean:.1f} %)" if isinstance(clean, (int, float)) else ""
        text += (f"\n\nTask accuracy (%) of the classifier {meta.get('classifier', '')} on the images shown at the "
                 f"receiver{on_clean}.\n\n" + sections[1])
    (out / "snr_curve.md").write_text(text + source + "\n")
    return [*written, out / "snr_curve.md", *tables]
