"""The map's further controls, seed by seed: ``map_controls.md`` beside ``map.md``.

The map's table judges FineFed against every matched control a point has (the
compute- and bytes-matched ones of the point's own run, and IFCA, FedRep, the
SNR-conditioned model ... of its companion runs, each paired with the FineFed of the
run it ran in). This page shows those further
controls per seed, with what a reader needs to trust them: the rate each chose on
validation images, its passes against FineFed's, IFCA's clusters and the SNR model's
own start. The paired interval per cell and control is in ``map.md``.
"""

from __future__ import annotations

import math
from typing import Iterable



def _note(further) -> str:
    """What a reader checks of one control: the run it is paired in when not the point's own,
    its chosen rate, IFCA's clusters, the SNR model's own start."""
    control = further.record
    extra = control.model_extra or {}
    parts = []
    if not further.same_start:
        parts.append(f"another run of the seed (in map.csv): its start {further.start_psnr_db:.2f} dB, "
                     f"its FineFed {further.finefed_psnr_db:.2f} dB")
    if extra.get("lr") is not None:
        parts.append(f"lr {extra['lr']:g}")
    if extra.get("clusters"):
        by_user = sorted(extra["clusters"], key=lambda c: c["user"])
        parts.append("clusters by user " + "".join(str(c["cluster"]) for c in by_user))
    start = extra.get("snr_start")
    if start:
        parts.append(f"own start {start['rounds']} rounds, converged {start['converged']}, {start['psnr_db']:.2f} dB")
    return "; ".join(parts)


def _fmt(value: float, spec: str) -> str:
    return "–" if value is None or not math.isfinite(value) else format(value, spec)


def controls_markdown(cells: Iterable) -> str | None:
    """The page, or ``None`` when no point of ``cells`` has a control beyond the map's own."""
    seeds = []
    for cell in cells:
        for p in cell.points:
            for c in p.other_controls:
                own = c.record.local_passes
                passes = f"{own if own is not None else '–'} / {c.finefed_passes or '–'}"
                seeds.append(f"| {cell.row} | {cell.column} | {p.seed} | `{c.name}` | {c.psnr_db:.2f} "
                             f"| {c.lead_db:+.3f} | {_fmt(c.lead_ssim, '+.4f')} | {passes} | {_note(c)} |")
    if not seeds:
        return None
    return "\n".join([
        "FineFed minus each further matched control, per seed, on the test images, both of the run the control ran "
        "in: the point's start where its run reproduced it, else another run of the seed, named in the notes with "
        "its own start and FineFed (each point's runs are in map.csv; map.md gives the paired interval per cell "
        "and control):", "",
        "| channel structure | data split | seed | control | control PSNR (dB) | FineFed − control (dB) "
        "| FineFed − control (SSIM) | passes (control / FineFed) | notes |",
        "|---|---|---:|---|---:|---:|---:|---:|---|", *seeds]) + "\n"
