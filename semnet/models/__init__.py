"""JSCC architectures (registered by name); the channel layer they send through is
:mod:`semnet.channels.layer` (``Channel`` and friends are re-exported here).

Importing this package registers every built-in model family:

- ``deep_jscc``: :class:`~semnet.models.deep_jscc.DeepJSCC` (SNR-unaware).
- ``adjscc``: :class:`~semnet.models.adjscc.ADJSCC` (SNR-aware attention).

Conventions: mean complex-symbol power ``P = 1`` per image; SNR ``P / sigma^2``
with noise ``CN(0, 10^(-snr_db/10))``; ``k`` = complex channel uses per image,
bandwidth ratio ``k / n`` with ``n = H*W*3`` (8x8xc latent for 32x32 images:
``c / 96``); block fading with one ``h`` per image.
"""

from semnet.models import adjscc, deep_jscc  # noqa: F401  (imported to register the models)
from semnet.models.base import JSCCModel, transmit
from semnet.channels.layer.channel import Channel, from_complex, power_normalize, to_complex
from semnet.models.build import create_model, latent_channels_for_ratio, list_models, register_model

__all__ = [
    "Channel",
    "JSCCModel",
    "create_model",
    "from_complex",
    "latent_channels_for_ratio",
    "list_models",
    "power_normalize",
    "register_model",
    "to_complex",
    "transmit",
]
