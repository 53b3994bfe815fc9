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
