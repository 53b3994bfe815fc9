"""Building a JSCC model by name, and the bandwidth ratio's latent channels.

Model families are entries of :data:`semnet.registry.models` (the one model registry):
a model file, or a user's plugin, registers its :class:`JSCCModel` subclass with
``@models.register(name, description)`` (``register_model`` is the same decorator);
scenarios and the CLI build models with :func:`create_model`. Importing
:mod:`semnet.models` imports every model file, so all built-in names are registered.

Bandwidth ratio convention: ``k / n`` with ``k`` complex channel uses per image
and ``n = H * W * 3``; see :func:`latent_channels_for_ratio`.
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch

from semnet.errors import ModelError
from semnet.models.base import IMAGE_CHANNELS, JSCCModel
from semnet.registry import models as _registry
from semnet.registry import signature_of

__all__ = ["create_model", "latent_channels_for_ratio", "list_models", "register_model"]

register_model = _registry.register
"""``@register_model(name, description)``: :meth:`semnet.registry.models.register <semnet.registry.Registry.register>`."""


def list_models() -> dict[str, str]:
    """Registered model names mapped to their one-line descriptions."""
    return _registry.describe()


def create_model(name: str, *, generator: torch.Generator | None = None, **kwargs: object) -> JSCCModel:
    """Build a registered model.

    Parameters
    ----------
    name : str
        One of :func:`list_models`.
    generator : torch.Generator, optional
        If given, weights are drawn from it (:meth:`JSCCModel.init_weights`);
        otherwise PyTorch's default initialisation is used.
    **kwargs
        Keyword arguments of the model class (e.g. ``latent_channels``, ``width``).

    Raises
    ------
    ModelError
        Unknown ``name`` (lists the valid ones) or unknown keyword argument
        (lists the accepted ones).
    """
    if name not in _registry:
        raise ModelError(f"unknown model {name!r}; valid models: {', '.join(sorted(_registry.names()))}")
    cls = _registry.get(name)
    signature = signature_of(cls)
    unknown = sorted(set(kwargs) - set(signature.accepted))
    if unknown and not signature.var_keyword:
        raise ModelError(f"model {name!r} got unknown argument(s) {', '.join(unknown)}; "
                         f"accepted: {', '.join(signature.accepted) or '(none)'}")
    try:
        model = cls(**kwargs)
    except (TypeError, ValueError, ArithmeticError) as err:  # a bad option value: the user's to fix
        raise ModelError(f"model {name!r} rejected its arguments {kwargs}: {type(err).__name__}: {err}") from None
    if generator is not None:
        model.init_weights(generator)
    return model


def latent_channels_for_ratio(
    ratio: float | Fraction,
    image_hw: tuple[int, int] = (32, 32),
    downsample: int = 4,
) -> int:
    """Latent channels ``c`` giving bandwidth ratio ``k / n = ratio``.

    With ``k = c * (H/d) * (W/d) / 2`` complex uses and ``n = H * W * 3``,
    ``c = 2 * 3 * d^2 * ratio`` (``96 * ratio`` for ``d = 4``): ``1/6 -> 16``,
    ``1/12 -> 8``.

    Raises
    ------
    ModelError
        If ``ratio`` is not positive, ``image_hw`` is not divisible by
        ``downsample``, or no whole number of channels gives ``ratio``.
    """
    h, w = (int(v) for v in image_hw)
    if downsample <= 0 or h <= 0 or w <= 0 or h % downsample or w % downsample:
        raise ModelError(f"image size {h}x{w} must be positive and divisible by downsample={downsample}")
    r = float(ratio)
    if not math.isfinite(r) or r <= 0:
        raise ModelError(f"bandwidth ratio must be > 0, got {ratio!r}")
    latent_hw = (h // downsample) * (w // downsample)
    exact = 2 * h * w * IMAGE_CHANNELS * r / latent_hw
    c = round(exact)
    if c < 1 or abs(exact - c) > 1e-6 * max(1.0, exact):
        step = Fraction(latent_hw, 2 * h * w * IMAGE_CHANNELS)
        raise ModelError(
            f"bandwidth ratio {ratio!r} needs {exact:.4g} latent channels for {h}x{w} images "
            f"(downsample {downsample}); ratios must be whole multiples of {step} (e.g. 1/6, 1/12)"
        )
    if (c * latent_hw) % 2:
        raise ModelError(
            f"bandwidth ratio {ratio!r} gives an odd number of real latent values ({c * latent_hw}); choose another ratio"
        )
    return c
