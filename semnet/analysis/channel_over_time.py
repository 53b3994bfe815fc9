"""Realised SNR over simulated time: a few links of one run, its phases marked.

Reads a run directory's ``events.jsonl``, whose records carry the realised SNR of each
message at its start (``snr_db``) when the run's channel varies in time
(``links.channel``, ``topology.mobility``). One line per chosen link (default: the
``links`` image links with the most messages), main branch only; the phases of the
main branch are shaded by their first and last message times.

Run: ``semnet analyse channel-time RUN_DIR [--out DIR] [--links 4]``
(``python -m semnet.analysis.channel_time RUN_DIR ...``, the older spelling, still works
after a one-line notice: :mod:`semnet.analysis.channel_time`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from .runs import AnalysisError
from .style import colours, finish, new_figure, save, styled

MAIN = "main"


def realised_snr(run_dir: str | Path, branch: str = MAIN) -> tuple[dict, list[tuple[str, float, float]]]:
    """({(src, dst): [(t_start_s, snr_db), ...]}, [(phase, first_s, last_s), ...]) of ``branch``."""
    path = Path(run_dir) / "events.jsonl"
    if not path.exists():
        raise AnalysisError(f"{run_dir}: no events.jsonl")
    series: dict = defaultdict(list)
    phases: dict[str, list[float]] = {}
    with path.open() as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("branch", MAIN) != branch or "snr_db" not in record:
                continue
            t = float(record["t_start_s"])
            series[(record["src"], record["dst"])].append((t, float(record["snr_db"])))
            span = phases.setdefault(record.get("phase", ""), [t, t])
            span[0], span[1] = min(span[0], t), max(span[1], t)
    if not series:
        raise AnalysisError(
            f"{run_dir}: events.jsonl has no realised SNR (snr_db); the run's channel does not vary in time"
        )
    ordered = sorted(phases.items(), key=lambda item: item[1][0])
    return dict(series), [(name, first, last) for name, (first, last) in ordered]


@styled
def plot_realised_snr(run_dir: str | Path, out_dir: str | Path, links: int = 4) -> list[Path]:
    """Write ``realised_snr.png``/``.svg``: SNR vs time of the ``links`` user-to-user links
    with the most messages, phases shaded; return the paths."""
    series, phases = realised_snr(run_dir)
    user_links = [key for key in series if isinstance(key[0], int) and isinstance(key[1], int)] or list(series)
    chosen = sorted(user_links, key=lambda key: (-len(series[key]), str(key)))[:links]
    fig, ax = new_figure()
    for index, (name, first, last) in enumerate(phases):
        ax.axvspan(first, last, color="0.85" if index % 2 else "0.93", zorder=0)
        ax.text(first, 1.0, f" {name}", transform=ax.get_xaxis_transform(), va="top", fontsize=8, color="0.35")
    palette = colours([f"{s}->{d}" for s, d in chosen])
    for src, dst in chosen:
        points = sorted(series[(src, dst)])
        label = f"{src}->{dst}"
        ax.plot([t for t, _ in points], [v for _, v in points], marker=".", linewidth=1.0, label=label,
                color=palette[label], zorder=3)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("realised SNR at send time (dB)")
    finish(fig, ax, "Realised SNR over time")
    return save(fig, out_dir, "realised_snr")
