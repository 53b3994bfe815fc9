"""Log-normal shadowing correlated in space (Gudmundson's exponential model).

The shadowing of a link, in dB, is ``sigma * s`` with ``s`` a unit Gaussian whose
correlation between two positions ``d`` apart is ``exp(-d / d_corr)`` [1]_. Along a
path moved in steps of length ``delta``, ``s`` is the first-order autoregression

    s' = r s + sqrt(1 - r^2) z,   r = exp(-delta / d_corr),   z ~ N(0, 1),

whose correlation after a total distance ``d`` is ``prod r = exp(-d / d_corr)``. For
a link both ends may move: semnet takes ``delta`` as the sum of the two ends'
displacements in the step (a link whose ends are still keeps its shadowing).

References
----------
.. [1] M. Gudmundson, "Correlation model for shadow fading in mobile radio systems,"
   *Electronics Letters*, 27(23), 1991.
"""

from __future__ import annotations

import numpy as np

__all__ = ["shadowing_step"]


def shadowing_step(s: np.ndarray, moved_m: np.ndarray, decorrelation_m: float, rng: np.random.Generator) -> np.ndarray:
    """Advance unit shadowing ``s`` (one per link) after moving ``moved_m`` metres.

    Draws one normal per link even where nothing moved, so the streams do not
    depend on who moved.
    """
    if not decorrelation_m > 0:
        raise ValueError(f"decorrelation_m must be > 0, got {decorrelation_m!r}")
    r = np.exp(-np.asarray(moved_m, dtype=float) / decorrelation_m)
    return r * s + np.sqrt(1.0 - r * r) * rng.standard_normal(np.shape(s))
