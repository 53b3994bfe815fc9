"""The one rule by which the heterogeneity map says where FineFed pays.

The rule is :data:`RULE`; the map's table, its grid in the README and ``semnet analyse
map --verify`` all take their verdicts from :func:`verdicts`, so the prose and the code
cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Protocol

from .stats import holm, one_sided_p

#: FineFed's least gain over its start, per seed (percent).
MIN_GAIN_PCT = 1.0
#: Seeds a cell needs before it is called a win or a loss.
MIN_SEEDS = 5
#: Family-wise error rate of the wins (Holm over every cell with enough seeds).
ALPHA = 0.05

RULE = (
    f"A seed *passes* when FineFed gains at least {MIN_GAIN_PCT:g} % PSNR over its start and is ahead of every "
    "matched control its run has: the compute- and the bytes-matched control always, and IFCA, FedRep, the "
    "SNR-conditioned model, local fine-tuning, FedPer or Ditto where the run or a companion run of its seed has "
    "them, each lead taken within the run the control ran in (the oracle is a bound, not a control). A cell **pays** when it has at least "
    f"{MIN_SEEDS} seeds, every seed passes, and FineFed's lead over each matched control is significant: "
    "one-sided paired t tests over the seeds, one per control every seed of the cell has, the largest "
    "p-value, Holm-corrected over every "
    f"cell of the table with at least {MIN_SEEDS} seeds, below {ALPHA:g}. A cell with at least {MIN_SEEDS} "
    f"seeds that does not pay is **no**; a cell with fewer is **open** (too few seeds for a verdict)."
)


class _Point(Protocol):
    gain_pct: float
    vs_compute_db: float
    vs_bytes_db: float
    vs_others_db: tuple  # (control name, FineFed minus it in dB, within the run it ran in) per further control


class _Cell(Protocol):
    row: str
    column: str
    points: tuple


def leads_db(point: _Point) -> dict[str, float]:
    """FineFed minus each matched control of one seed (dB), by control name."""
    return {"compute_matched": point.vs_compute_db, "bytes_matched": point.vs_bytes_db, **dict(point.vs_others_db)}


def seed_passes(point: _Point) -> bool:
    """One seed of one cell passes the rule's per-seed test."""
    return point.gain_pct >= MIN_GAIN_PCT and all(lead > 0 for lead in leads_db(point).values())


@dataclass(frozen=True)
class Verdict:
    """``label``: ``pays``, ``no`` or ``open``; ``passing`` of ``n`` seeds pass; ``p`` the
    largest one-sided p over the matched controls every seed has, ``p_holm`` after Holm
    (NaN for open cells, which are not in the family)."""

    label: str
    passing: int
    n: int
    p: float
    p_holm: float


def verdicts(cells: Iterable[_Cell]) -> dict[tuple[str, str], Verdict]:
    """Every cell's verdict, keyed by (row, column)."""
    cells = list(cells)
    raw = []
    for cell in cells:
        n = len(cell.points)
        if n < MIN_SEEDS:
            raw.append(math.nan)
            continue
        leads = [leads_db(p) for p in cell.points]
        shared = set.intersection(*(set(lead) for lead in leads))
        raw.append(max(one_sided_p(lead[name] for lead in leads) for name in sorted(shared)))
    adjusted = holm(raw)
    out = {}
    for cell, p, p_holm in zip(cells, raw, adjusted):
        n = len(cell.points)
        passing = sum(seed_passes(p) for p in cell.points)
        if n < MIN_SEEDS:
            label = "open"
        else:
            label = "pays" if passing == n and p_holm < ALPHA else "no"
        out[(cell.row, cell.column)] = Verdict(label, passing, n, p, p_holm)
    return out
