"""Per-link PSNR against the SNR the link actually met, on a channel over time.

A link's nominal SNR (``links[].snr_db``) is the mean of its large-scale SNR over the
comparison states; what its messages met is ``summary.channel_over_time.links``: the
mean and 5th percentile of the realised SNR (large scale and fading together) of the
messages it carried. The figure plots each link's final PSNR (the comparison score)
against that mean, with a bar down to the 5th percentile, one colour per method, so
links whose fades were deep stand out from links that were only far.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from .runs import AnalysisError, Run, as_variants, group_by_label
from .style import MARKERS, axis_label, colours, finish, new_figure, save, styled


def realised_points(runs: Iterable[Run]) -> dict[str, list[tuple[float, float, float]]]:
    """Label (method, start or control) -> [(realised SNR mean dB, its 5th percentile dB,
    link PSNR dB)] over every link of every run with a channel over time."""
    out: dict[str, list[tuple[float, float, float]]] = {}
    for label, group in group_by_label(v for v in as_variants(runs) if v.links).items():
        for variant in group:  # the method, its start and each control: scored on the same links
            channel = variant.run.typed.channel_over_time
            if not channel:
                continue
            realised = {(q["src"], q["dst"]): q for q in channel.get("links", [])}
            for link in variant.links:
                seen = realised.get((link["src"], link["dst"]))
                if seen is None or seen.get("realised_snr_db_mean") is None or link.get("psnr_db") is None:
                    continue
                out.setdefault(label, []).append(
                    (float(seen["realised_snr_db_mean"]), float(seen["realised_snr_db_p5"]), float(link["psnr_db"])))
    return out


@styled
def plot_realised_snr_psnr(runs: Iterable[Run], colour_of: dict[str, str] | None = None):
    """(figure, points): link PSNR vs the mean realised SNR of the link's messages."""
    points = realised_points(runs)
    if not points:
        raise AnalysisError("no run with a channel over time (summary.channel_over_time) and per-link results")
    colour_of = colour_of or colours(points)
    fig, ax = new_figure()
    for i, (label, rows) in enumerate(points.items()):
        mean, p5, psnr = (np.array(column) for column in zip(*rows))
        colour = colour_of.get(label)
        ax.errorbar(mean, psnr, xerr=[mean - p5, np.zeros_like(mean)], fmt="none", ecolor=colour, alpha=0.4,
                    linewidth=1.0)
        ax.scatter(mean, psnr, label=label, marker=MARKERS[i % len(MARKERS)], s=36, facecolors="none",
                   edgecolors=colour, linewidths=1.3)
    ax.set_xlabel("realised SNR of the link's messages (dB; bar: down to the 5th percentile)")
    ax.set_ylabel(axis_label("link_psnr_db"))
    finish(fig, ax, "Per-link quality vs the SNR the link met")
    return fig, points


def write_realised_snr(runs: list[Run], out_dir: str | Path, colour_of: dict[str, str] | None = None) -> list[Path]:
    fig, _ = plot_realised_snr_psnr(runs, colour_of)
    return save(fig, out_dir, "link_psnr_vs_realised_snr")
