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

from semnet.registry import shadowings, signature_of

__all__ = ["Gudmundson", "Shadowing", "make_shadowing", "shadowing_step"]


class Shadowing:
    """A shadowing process: each link's unit shadowing ``s`` (the link's shadowing in dB
    is ``sigma * s``) as its ends move. Registered in :data:`semnet.registry.shadowings`;
    its constructor's keyword arguments ``x`` are read from ``links.channel.shadowing_x``."""

    def initial(self, links: int, rng: np.random.Generator) -> np.ndarray:
        """The unit shadowing of ``links`` links at ``t = 0``."""
        return rng.standard_normal(links)

    def step(self, s: np.ndarray, moved_m: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``s`` after each link's ends moved ``moved_m`` metres in all."""
        raise NotImplementedError(f"shadowing {type(self).__qualname__} does not implement step")


def make_shadowing(name: str, channel_spec) -> Shadowing:
    """The shadowing process ``name``, its arguments ``x`` read from ``channel_spec.shadowing_x``."""
    cls = shadowings.get(name)
    kwargs = {arg: getattr(channel_spec, f"shadowing_{arg}") for arg in signature_of(cls).accepted
              if hasattr(channel_spec, f"shadowing_{arg}")}
    return cls(**kwargs)


@shadowings.register("gudmundson", "log-normal, exponentially correlated in space (Gudmundson 1991)")
class Gudmundson(Shadowing):
    """Gudmundson's model (module docstring), decorrelation distance ``decorrelation_m``."""

    def __init__(self, decorrelation_m: float = 20.0):
        self.decorrelation_m = decorrelation_m

    def step(self, s, moved_m, rng):
        return shadowing_step(s, moved_m, self.decorrelation_m, rng)


def shadowing_step(s: np.ndarray, moved_m: np.ndarray, decorrelation_m: float, rng: np.random.Generator) -> np.ndarray:
    """Advance unit shadowing ``s`` (one per link) after moving ``moved_m`` metres.

    Draws one normal per link even where nothing moved, so the streams do not
    depend on who moved.
    """
    if not decorrelation_m > 0:
        raise ValueError(f"decorrelation_m must be > 0, got {decorrelation_m!r}")
    r = np.exp(-np.asarray(moved_m, dtype=float) / decorrelation_m)
    return r * s + np.sqrt(1.0 - r * r) * rng.standard_normal(np.shape(s))
