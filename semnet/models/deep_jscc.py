"""Deep JSCC of Bourtsoulatze, Kurka & Gündüz (2019), registered as ``"deep_jscc"``.

A fully convolutional autoencoder. Encoder: five 5x5 convolutions with PReLU,
strides 2, 2, 1, 1, 1 and padding 2, with 16, 32, 32, 32 and ``c`` filters
(the first four times ``width``), so an ``H x W x 3`` image becomes an
``H/4 x W/4 x c`` latent (8x8xc for 32x32). The decoder mirrors it with
transposed convolutions and ends in a sigmoid so pixels lie in [0, 1]. The
model ignores the SNR (``snr_aware = False``) but accepts it so it can be
paired with any other encoder or decoder.

Conventions: the latent is paired into ``k = c * H/4 * W/4 / 2`` complex
symbols with unit mean power per image, so the bandwidth ratio is
``k / n = c / 96`` (``c = 16 -> 1/6``, ``c = 8 -> 1/12``). SNR is
``P / sigma^2`` with ``P = 1`` and noise ``CN(0, 10^(-snr_db/10))``.

References
----------
.. [1] E. Bourtsoulatze, D. Burth Kurka and D. Gündüz, "Deep Joint
   Source-Channel Coding for Wireless Image Transmission", IEEE Trans.
   Cognitive Communications and Networking, 5(3), 2019.
"""

from __future__ import annotations

from torch import Tensor, nn

from semnet.models.base import JSCCModel, check_size_args, scaled_filters
from semnet.registry import models

__all__ = ["DeepJSCC", "DeepJSCCDecoder", "DeepJSCCEncoder"]

_BASE_FILTERS = (16, 32, 32, 32)
_STRIDES = (2, 2, 1, 1, 1)


class DeepJSCCEncoder(nn.Module):
    snr_aware = False  # the latent does not depend on snr_db: callers may encode once
    """Images ``(B, 3, H, W)`` in [0, 1] -> real latent ``(B, c, H/4, W/4)``; ``snr_db`` is ignored.

    Parameters
    ----------
    latent_channels : int
        ``c``.
    filters : tuple of 4 int
        Filter counts of the four hidden layers.
    """

    def __init__(self, latent_channels: int, filters: tuple[int, ...]) -> None:
        super().__init__()
        sizes = (3, *filters, latent_channels)
        layers: list[nn.Module] = []
        for cin, cout, stride in zip(sizes[:-1], sizes[1:], _STRIDES):
            layers += [nn.Conv2d(cin, cout, 5, stride=stride, padding=2), nn.PReLU(cout)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor, snr_db: Tensor | None = None) -> Tensor:
        """Encode; ``snr_db`` (B,) is accepted for a uniform interface and not used."""
        return self.layers(x)


class DeepJSCCDecoder(nn.Module):
    """Real latent ``(B, c, H/4, W/4)`` -> images ``(B, 3, H, W)`` in [0, 1]; ``snr_db`` is ignored.

    Parameters
    ----------
    latent_channels : int
        ``c``.
    filters : tuple of 4 int
        Filter counts of the encoder's hidden layers (mirrored here).
    """

    def __init__(self, latent_channels: int, filters: tuple[int, ...]) -> None:
        super().__init__()
        sizes = (latent_channels, *reversed(filters), 3)
        layers: list[nn.Module] = []
        strides = tuple(reversed(_STRIDES))
        for i, (cin, cout, stride) in enumerate(zip(sizes[:-1], sizes[1:], strides)):
            layers.append(nn.ConvTranspose2d(cin, cout, 5, stride=stride, padding=2, output_padding=stride - 1))
            layers.append(nn.Sigmoid() if i == len(strides) - 1 else nn.PReLU(cout))
        self.layers = nn.Sequential(*layers)

    def forward(self, latent: Tensor, snr_db: Tensor | None = None) -> Tensor:
        """Decode; ``snr_db`` (B,) is accepted for a uniform interface and not used."""
        return self.layers(latent)


@models.register("deep_jscc", "Deep JSCC (Bourtsoulatze et al. 2019): 5-layer conv/PReLU autoencoder, SNR-unaware")
class DeepJSCC(JSCCModel):
    """Deep JSCC autoencoder (Bourtsoulatze, Kurka & Gündüz, 2019).

    Parameters
    ----------
    latent_channels : int, default 16
        ``c``; bandwidth ratio ``c / 96`` (16 -> 1/6, 8 -> 1/12).
    width : float, default 1.0
        Multiplier on the hidden filter counts (16, 32, 32, 32); e.g. 0.5 for
        a quick, narrow net.

    Examples
    --------
    >>> import torch
    >>> from semnet.models import Channel, create_model
    >>> model = create_model("deep_jscc", latent_channels=8)
    >>> out = model(torch.rand(2, 3, 32, 32), torch.tensor([5.0, 15.0]), Channel("awgn"))
    >>> out["x_hat"].shape, out["z"].shape
    (torch.Size([2, 3, 32, 32]), torch.Size([2, 256]))
    """

    snr_aware = False
    downsample = 4

    def __init__(self, latent_channels: int = 16, width: float = 1.0) -> None:
        super().__init__()
        self.latent_channels, self.width = check_size_args("deep_jscc", latent_channels, width)
        filters = tuple(scaled_filters(f, self.width) for f in _BASE_FILTERS)
        self.encoder = DeepJSCCEncoder(self.latent_channels, filters)
        self.decoder = DeepJSCCDecoder(self.latent_channels, filters)
