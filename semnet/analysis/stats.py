"""Statistics over seeds shared by the table and the plots."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np


@dataclass(frozen=True)
class MeanStd:
    """Mean and sample standard deviation (ddof=1) of the finite values given.

    ``std`` is NaN with fewer than two values; ``mean`` is NaN with none.
    """

    mean: float
    std: float
    n: int

    def format(self, digits: int = 2) -> str:
        """``"12.34 ± 0.05"``; ``"12.34"`` for one value; ``"–"`` for none."""
        if self.n == 0:
            return "–"
        if math.isnan(self.std):
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


def mean_std(values: Iterable[float]) -> MeanStd:
    """Mean ± sample std over seeds, ignoring NaN (runs without that value)."""
    arr = np.array([v for v in values if v is not None], dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return MeanStd(math.nan, math.nan, 0)
    std = float(np.std(arr, ddof=1)) if arr.size > 1 else math.nan
    return MeanStd(float(np.mean(arr)), std, int(arr.size))


@dataclass(frozen=True)
class SeriesPoint:
    """One point of a line over a swept parameter: x, mean y, sample std of y, seeds."""

    x: float
    y: float
    y_std: float  # NaN with one seed
    n: int


def paired_interval(differences: Iterable[float], level: float = 0.95) -> tuple[float, float]:
    """The two-sided ``level`` Student-t interval of the mean of paired differences
    (one per seed); (NaN, NaN) with fewer than two."""
    from scipy import stats

    arr = np.asarray([d for d in differences if d is not None and math.isfinite(d)], dtype=float)
    if arr.size < 2:
        return math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, arr.size - 1) * np.std(arr, ddof=1) / math.sqrt(arr.size))
    return float(arr.mean()) - half, float(arr.mean()) + half


def one_sided_p(differences: Iterable[float]) -> float:
    """p-value of the one-sided paired t test that the mean difference is above 0; NaN
    with fewer than two, 0 or 1 when every difference is equal (no spread)."""
    from scipy import stats

    arr = np.asarray([d for d in differences if d is not None and math.isfinite(d)], dtype=float)
    if arr.size < 2:
        return math.nan
    if np.ptp(arr) == 0:
        return 0.0 if arr[0] > 0 else 1.0
    return float(stats.ttest_1samp(arr, 0.0, alternative="greater").pvalue)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given (NaN stays NaN and is not
    counted in the family)."""
    order = sorted((p, i) for i, p in enumerate(p_values) if math.isfinite(p))
    m = len(order)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
