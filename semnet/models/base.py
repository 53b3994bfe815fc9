"""Base class for deep JSCC models and the encoder -> channel -> decoder pipeline.

A JSCC model is two separate modules so federated methods can ship, train and
aggregate them apart (FineFed pairs the encoder ``E_i`` of user ``i`` with the
decoder ``D_j`` of user ``j``):

- ``encoder(x, snr_db) -> latent``: ``x`` of shape ``(B, 3, H, W)`` in [0, 1],
  ``snr_db`` of shape ``(B,)`` in dB, latent real ``(B, c, H/4, W/4)``.
- ``decoder(latent, snr_db) -> x_hat``: real ``(B, c, H/4, W/4)`` to
  ``(B, 3, H, W)`` in [0, 1].

Models that ignore the SNR still accept it (``snr_aware = False``).
:func:`transmit` runs any encoder with any decoder: encode -> :func:`to_complex`
-> :func:`power_normalize` -> channel -> :func:`from_complex` -> decode.

Conventions: mean complex-symbol power ``P = 1`` per image; SNR ``P / sigma^2``
with noise ``CN(0, 10^(-snr_db/10))``; ``k`` counts complex channel uses per
image (``k = c * H/4 * W/4 / 2``) and the bandwidth ratio is ``k / (H*W*3)``,
i.e. ``c / 96`` for any ``H, W`` with this 4x down-sampling.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from semnet.errors import ModelError
from semnet.channels.layer.channel import Channel, as_snr_db, from_complex, power_normalize, to_complex

__all__ = ["JSCCModel", "check_size_args", "scaled_filters", "state_bytes", "transmit"]

IMAGE_CHANNELS = 3


def state_bytes(module: nn.Module) -> int:
    """Bytes of ``module``'s state (parameters and persistent buffers) counted as float32 (4 bytes per value)."""
    return sum(4 * t.numel() for t in module.state_dict().values())


def check_size_args(model: str, latent_channels: int, width: float) -> tuple[int, float]:
    """Validate the common ``latent_channels`` / ``width`` keyword arguments of a model family."""
    if isinstance(latent_channels, bool) or not isinstance(latent_channels, int) or latent_channels < 1:
        raise ModelError(f"model {model!r}: latent_channels must be an integer >= 1, got {latent_channels!r}")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0 or width == float("inf"):
        raise ModelError(f"model {model!r}: width must be a number > 0 (filter-count multiplier), got {width!r}")
    return latent_channels, float(width)


def scaled_filters(base: int, width: float) -> int:
    """Filter count ``round(base * width)``, at least 1."""
    return max(1, round(base * width))


def _check_image(x: Tensor, downsample: int) -> None:
    if x.dim() != 4 or x.shape[1] != IMAGE_CHANNELS:
        raise ModelError(f"images must have shape (B, {IMAGE_CHANNELS}, H, W), got {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h % downsample or w % downsample:
        raise ModelError(f"image size {h}x{w} is not divisible by the model's down-sampling factor {downsample}")


def _transmit(
    encoder: nn.Module,
    decoder: nn.Module,
    x: Tensor,
    snr_db: Tensor | float,
    channel: Channel,
    generator: torch.Generator | None,
    gain: Tensor | None = None,
) -> dict[str, Tensor]:
    snr = as_snr_db(snr_db, x.shape[0], x.device)
    latent = encoder(x, snr)
    z = power_normalize(to_complex(latent))
    y = channel(z, snr, generator=generator) if gain is None else channel(z, snr, generator=generator, gain=gain)
    x_hat = decoder(from_complex(y, latent.shape[1:]).to(latent.dtype), snr)
    return {"x_hat": x_hat, "z": z, "y": y}


def transmit(
    encoder: nn.Module,
    decoder: nn.Module,
    x: Tensor,
    snr_db: Tensor | float,
    channel: Channel,
    generator: torch.Generator | None = None,
    gain: Tensor | None = None,
) -> Tensor:
    """Send images through ``encoder -> channel -> decoder`` (any pairing).

    Parameters
    ----------
    encoder : nn.Module
        ``encoder(x, snr_db) -> latent`` (real ``(B, c, h, w)``), e.g. ``model_a.encoder``.
    decoder : nn.Module
        ``decoder(latent, snr_db) -> x_hat``, e.g. ``model_b.decoder``; must
        accept the encoder's latent shape.
    x : Tensor, shape ``(B, 3, H, W)``, values in [0, 1]
        Images.
    snr_db : Tensor, shape ``(B,)`` (or a single value)
        Link SNR in dB per image; both the channel and SNR-aware models use it.
    channel : Channel
        Channel layer (kind, CSI).
    generator : torch.Generator or None
        Randomness for fading and noise.
    gain : Tensor, complex, shape ``(B,)``, optional
        Channel gains given by the network layer (drawn by the channel otherwise).

    Returns
    -------
    Tensor, shape ``(B, 3, H, W)``, values in [0, 1]
        Reconstructions; differentiable w.r.t. both modules' parameters.
    """
    return _transmit(encoder, decoder, x, snr_db, channel, generator, gain)["x_hat"]


class JSCCModel(nn.Module):
    """A deep JSCC autoencoder made of a separate ``encoder`` and ``decoder``.

    Subclasses set ``encoder``, ``decoder``, ``latent_channels``, ``downsample``
    and ``snr_aware`` in ``__init__``; the model must hold no parameters outside
    the two parts (so ``encoder_bytes() + decoder_bytes()`` is the whole state).

    Attributes
    ----------
    encoder : nn.Module
        ``(x (B,3,H,W), snr_db (B,)) -> latent (B, c, H/d, W/d)``.
    decoder : nn.Module
        ``(latent, snr_db (B,)) -> x_hat (B,3,H,W)`` in [0, 1].
    latent_channels : int
        ``c``, the number of latent feature maps.
    downsample : int
        Spatial down-sampling factor ``d`` of the encoder.
    snr_aware : bool
        Whether encoder and decoder use ``snr_db``.
    """

    encoder: nn.Module
    decoder: nn.Module
    latent_channels: int
    downsample: int = 4
    snr_aware: bool = False

    def encode(self, x: Tensor, snr_db: Tensor | float) -> Tensor:
        """Encode images to power-normalised channel symbols.

        Parameters
        ----------
        x : Tensor, shape ``(B, 3, H, W)``, values in [0, 1]
        snr_db : Tensor, shape ``(B,)`` (or a single value), dB

        Returns
        -------
        Tensor, complex, shape ``(B, k)``, ``k = c * (H/d) * (W/d) / 2``,
        with mean ``|z|^2 = 1`` per image.
        """
        _check_image(x, self.downsample)
        snr = as_snr_db(snr_db, x.shape[0], x.device)
        return power_normalize(to_complex(self.encoder(x, snr)))

    def decode(self, y: Tensor, snr_db: Tensor | float, latent_shape: Sequence[int]) -> Tensor:
        """Decode received (or equalised) symbols.

        Parameters
        ----------
        y : Tensor, complex, shape ``(B, k)``
        snr_db : Tensor, shape ``(B,)`` (or a single value), dB
        latent_shape : sequence of int
            ``(c, H/d, W/d)`` (or with a leading batch size), see :meth:`latent_shape`.

        Returns
        -------
        Tensor, shape ``(B, 3, H, W)``, values in [0, 1]
        """
        snr = as_snr_db(snr_db, y.shape[0], y.device)
        latent = from_complex(y, latent_shape)
        param = next(self.decoder.parameters(), None)
        if param is not None:
            latent = latent.to(param.dtype)
        return self.decoder(latent, snr)

    def forward(
        self,
        x: Tensor,
        snr_db: Tensor | float,
        channel: Channel,
        generator: torch.Generator | None = None,
    ) -> dict[str, Tensor]:
        """Encode, send through ``channel``, decode.

        Parameters
        ----------
        x : Tensor, shape ``(B, 3, H, W)``, values in [0, 1]
        snr_db : Tensor, shape ``(B,)`` (or a single value), dB
        channel : Channel
        generator : torch.Generator or None
            Randomness for fading and noise.

        Returns
        -------
        dict
            ``x_hat`` (B, 3, H, W) in [0, 1]; ``z`` complex (B, k) transmitted
            symbols (unit power); ``y`` complex (B, k) channel output given to
            the decoder.
        """
        _check_image(x, self.downsample)
        return _transmit(self.encoder, self.decoder, x, snr_db, channel, generator)

    def latent_shape(self, image_hw: tuple[int, int]) -> tuple[int, int, int]:
        """Latent shape ``(c, H/d, W/d)`` for images of size ``image_hw = (H, W)``."""
        h, w = (int(v) for v in image_hw)
        if h <= 0 or w <= 0 or h % self.downsample or w % self.downsample:
            raise ModelError(
                f"image size {h}x{w} must be positive and divisible by the model's "
                f"down-sampling factor {self.downsample}"
            )
        return (self.latent_channels, h // self.downsample, w // self.downsample)

    def channel_uses(self, image_hw: tuple[int, int]) -> int:
        """Complex channel uses ``k`` per image of size ``image_hw = (H, W)``."""
        c, h, w = self.latent_shape(image_hw)
        return c * h * w // 2

    def bandwidth_ratio(self, image_hw: tuple[int, int]) -> float:
        """Bandwidth ratio ``k / n`` with ``n = H * W * 3`` (``c / 96`` for 4x down-sampling)."""
        h, w = image_hw
        return self.channel_uses(image_hw) / (int(h) * int(w) * IMAGE_CHANNELS)

    def encoder_bytes(self) -> int:
        """Size of the encoder's state as float32 bytes (what a model-exchange message carries)."""
        return state_bytes(self.encoder)

    def decoder_bytes(self) -> int:
        """Size of the decoder's state as float32 bytes."""
        return state_bytes(self.decoder)

    @torch.no_grad()
    def init_weights(self, generator: torch.Generator) -> JSCCModel:
        """Re-draw all conv and linear weights from ``generator`` (PyTorch's default scheme).

        Weights and biases are ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` as in
        PyTorch's ``reset_parameters``; other parameters (PReLU slopes) keep
        their constant initial values. Lets a run seed the model without the
        global RNG.

        Returns
        -------
        JSCCModel
            ``self``.
        """
        for module in self.modules():
            if not isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                continue
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(module.weight)
            bound = 1.0 / fan_in**0.5 if fan_in > 0 else 0.0
            for param in (module.weight, module.bias):
                if param is None:
                    continue
                draw = torch.rand(param.shape, generator=generator, device=generator.device, dtype=param.dtype)
                param.copy_(draw.mul_(2 * bound).sub_(bound))
        return self
