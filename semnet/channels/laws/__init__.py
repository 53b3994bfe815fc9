"""Fading laws: the distribution of a block's gain ``h``, one model for both layers.

Each law is a :class:`FadingModel` registered in :data:`semnet.registry.channels`
under the name a scenario's ``links.fading`` uses:

- ``none`` (alias ``awgn``): :class:`~semnet.channels.laws.none.NoFading`, ``h = 1``;
- ``rayleigh``: :class:`~semnet.channels.laws.rayleigh.Rayleigh`, ``h ~ CN(0, 1)``;
- ``rician``: :class:`~semnet.channels.laws.rician.Rician`, line of sight plus scatter,
  K factor ``links.k_factor``.

Build one with :func:`make_fading` (from a ``links`` spec or a name). Plugins add
models with ``@channels.register(name, description)`` on a :class:`FadingModel`
subclass (see :mod:`semnet.channels.laws.base`). Nothing here imports torch at import
time, nor the processes over time or the torch layer.
"""

from semnet.channels.laws.base import FadingModel, complex_normal_numpy, complex_normal_torch, make_fading
from semnet.channels.laws.none import NoFading
from semnet.channels.laws.rayleigh import Rayleigh
from semnet.channels.laws.rician import Rician

BUILTIN_NAMES: tuple[str, ...] = tuple(cls.name for cls in (NoFading, Rayleigh, Rician))
"""Names of the built-in models (``none``, ``rayleigh``, ``rician``); the registry may hold more."""

__all__ = [
    "BUILTIN_NAMES",
    "FadingModel",
    "NoFading",
    "Rayleigh",
    "Rician",
    "complex_normal_numpy",
    "complex_normal_torch",
    "make_fading",
]
