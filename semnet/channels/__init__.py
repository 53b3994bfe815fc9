"""Fading models, one registry for the network layer and the JSCC channel.

Each model is a :class:`FadingModel` registered in :data:`semnet.registry.channels`
under the name a scenario's ``links.fading`` uses:

- ``none`` (alias ``awgn``): :class:`~semnet.channels.none.NoFading`, ``h = 1``;
- ``rayleigh``: :class:`~semnet.channels.rayleigh.Rayleigh`, ``h ~ CN(0, 1)``;
- ``rician``: :class:`~semnet.channels.rician.Rician`, line of sight plus scatter,
  K factor ``links.k_factor``.

Build one with :func:`make_fading` (from a ``links`` spec or a name). Plugins add
models with ``@channels.register(name, description)`` on a :class:`FadingModel`
subclass (see :mod:`semnet.channels.base`).
"""

from semnet.channels.base import FadingModel, complex_normal_numpy, complex_normal_torch, fading_model, make_fading
from semnet.channels.none import NoFading
from semnet.channels.rayleigh import Rayleigh
from semnet.channels.rician import Rician

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
    "fading_model",
    "make_fading",
]
