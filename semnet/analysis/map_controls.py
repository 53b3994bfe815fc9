"""The map's further controls, seed by seed: ``map_controls.md`` beside ``map.md``.

The map's table judges FineFed against every matched control a point has (the
compute- and bytes-matched ones of the point's own run, and IFCA, FedRep, the
SNR-conditioned model ... of its companion runs). This page shows those further
controls per seed, with what a reader needs to trust them: the rate each chose on
validation images, its passes against FineFed's, IFCA's clusters and the SNR model's
own start. The paired interval per cell and control is in ``map.md``.
"""

from __future__ import annotations

import math
from typing import Iterable



def _note(control) -> str:
    """What a reader checks of one control: its chosen rate, IFCA's clusters, the SNR model's own start."""
    extra = control.model_extra or {}
    parts = []
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
                lead_db = p.finefed_psnr_db - float(c.psnr_db)
                lead_ssim = p.finefed_ssim - (math.nan if c.ssim is None else float(c.ssim))
                passes = f"{c.local_passes if c.local_passes is not None else '–'} / {p.finefed_passes or '–'}"
                seeds.append(f"| {cell.row} | {cell.column} | {p.seed} | `{c.name}` | {float(c.psnr_db):.2f} "
                             f"| {lead_db:+.3f} | {_fmt(lead_ssim, '+.4f')} | {passes} | {_note(c)} |")
    if not seeds:
        return None
    return "\n".join([
        "FineFed minus each further matched control, per seed, on the test images (each point's runs, its own and "
        "its companions', are in map.csv; map.md gives the paired interval per cell and control):", "",
        "| channel structure | data split | seed | control | control PSNR (dB) | FineFed − control (dB) "
        "| FineFed − control (SSIM) | passes (control / FineFed) | notes |",
        "|---|---|---:|---|---:|---:|---:|---:|---|", *seeds]) + "\n"
