"""Differentiable wireless channel layers for deep JSCC.

Conventions (the same everywhere in semnet):

- An image becomes ``k`` complex channel symbols ``z`` (shape ``(B, k)``).
  :func:`power_normalize` scales each image so that the mean complex-symbol
  power is ``P = mean_k |z|^2 = 1``.
- SNR is ``P / sigma^2`` with ``P = 1``, so the complex noise is
  ``n ~ CN(0, sigma^2)`` with ``sigma^2 = 10^(-snr_db / 10)`` per symbol
  (``sigma^2 / 2`` per real dimension). One batch may mix SNRs: ``snr_db`` is
  one value per image.
- Bandwidth ratio ``k / n``: ``k`` counts complex channel uses per image and
  ``n = H * W * C`` source values. A real latent of ``C*H*W`` values is paired
  into ``k = C*H*W / 2`` complex symbols by :func:`to_complex`, so an 8x8xc
  latent for a 32x32x3 image gives ``k / n = c / 96``.
- Block fading: one complex gain ``h`` per image, constant over its ``k``
  symbols, drawn by a fading model of :data:`semnet.registry.channels` (the
  same models the network layer uses, see :mod:`semnet.channels`): ``none``
  (alias ``awgn``): ``h = 1``; ``rayleigh``: ``h ~ CN(0, 1)``; ``rician``:
  ``h = sqrt(K/(K+1)) + sqrt(1/(K+1)) * CN(0, 1)`` (line of sight with zero
  phase); plugins add more. ``E|h|^2 = 1`` for every model.
- With CSI the receiver knows ``h`` and ``sigma^2`` and outputs the LMMSE
  estimate ``conj(h) y / (|h|^2 + sigma^2)`` (for AWGN this is the scalar
  shrink ``y / (1 + sigma^2)``). Without CSI it outputs ``y`` unchanged and the
  decoder must cope with the unknown gain.

All randomness comes from an explicit :class:`torch.Generator`; ``None`` falls
back to PyTorch's default generator for the tensor's device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from semnet.channels.laws import FadingModel, complex_normal_torch, make_fading
from semnet.errors import ModelError
from semnet.registry import channels

__all__ = [
    "Channel",
    "as_snr_db",
    "from_complex",
    "noise_variance",
    "power_normalize",
    "to_complex",
]

_POWER_EPS = 1e-12


def power_normalize(z: Tensor) -> Tensor:
    """Scale each image's symbols to unit mean complex-symbol power.

    Parameters
    ----------
    z : Tensor, complex, shape ``(B, k)``
        Channel symbols of ``B`` images.

    Returns
    -------
    Tensor, complex, shape ``(B, k)``
        ``z * sqrt(1 / mean_k |z|^2)`` per image, so ``mean_k |z|^2 = 1``.
        Differentiable.
    """
    if not z.is_complex() or z.dim() != 2:
        raise ValueError(f"power_normalize expects complex (B, k) symbols, got {z.dtype} {tuple(z.shape)}")
    power = (z.real.square() + z.imag.square()).mean(dim=1, keepdim=True)
    return z * torch.rsqrt(power.clamp_min(_POWER_EPS))


def to_complex(latent: Tensor) -> Tensor:
    """Pair consecutive real latent values into complex channel symbols.

    Parameters
    ----------
    latent : Tensor, real, shape ``(B, C, H, W)``
        Encoder output. ``C*H*W`` must be even.

    Returns
    -------
    Tensor, complex, shape ``(B, k)`` with ``k = C*H*W / 2``
        Symbol ``m`` is ``v[2m] + 1j * v[2m+1]`` where ``v`` is the image's
        flattened latent (C-order). Differentiable; inverse of
        :func:`from_complex`.
    """
    if latent.is_complex() or latent.dim() < 2:
        raise ValueError(f"to_complex expects a real (B, C, H, W) latent, got {latent.dtype} {tuple(latent.shape)}")
    batch = latent.shape[0]
    flat = latent.reshape(batch, -1)
    if flat.shape[1] % 2:
        raise ModelError(
            f"latent shape {tuple(latent.shape[1:])} has an odd number of values ({flat.shape[1]}); "
            "complex channel symbols need an even count (choose an even latent size)"
        )
    if flat.dtype not in (torch.float32, torch.float64):
        flat = flat.float()
    return torch.view_as_complex(flat.reshape(batch, -1, 2).contiguous())


def from_complex(z: Tensor, shape: Sequence[int]) -> Tensor:
    """Unpair complex symbols back into a real latent (inverse of :func:`to_complex`).

    Parameters
    ----------
    z : Tensor, complex, shape ``(B, k)``
        Received (or equalised) symbols.
    shape : sequence of int
        Latent shape per image ``(C, H, W)`` with ``C*H*W = 2k``; a full
        ``(B, C, H, W)`` shape is also accepted (its batch size is ignored).

    Returns
    -------
    Tensor, real, shape ``(B, C, H, W)``
    """
    if not z.is_complex() or z.dim() != 2:
        raise ValueError(f"from_complex expects complex (B, k) symbols, got {z.dtype} {tuple(z.shape)}")
    per_image = tuple(int(s) for s in shape)
    if len(per_image) == 4:
        per_image = per_image[1:]
    if len(per_image) != 3 or math.prod(per_image) != 2 * z.shape[1]:
        raise ValueError(
            f"latent shape {tuple(shape)} does not hold {z.shape[1]} complex symbols (needs C*H*W = {2 * z.shape[1]})"
        )
    return torch.view_as_real(z).reshape(z.shape[0], *per_image)


def as_snr_db(snr_db: Tensor | float, batch: int, device: torch.device | str, dtype: torch.dtype = torch.float32) -> Tensor:
    """Return ``snr_db`` as a real tensor of shape ``(batch,)`` on ``device``.

    Parameters
    ----------
    snr_db : Tensor of shape ``(B,)`` or ``()`` / ``(1,)``, or float
        SNR in dB, one per image or one for the whole batch.
    batch : int
        Number of images ``B``.
    device, dtype
        Where and how to return it.

    Raises
    ------
    ModelError
        If ``snr_db`` holds neither 1 nor ``batch`` values, or (for CPU
        tensors and Python numbers) is not finite.
    """
    snr = torch.as_tensor(snr_db, dtype=dtype, device=device).reshape(-1)
    if snr.numel() == 1:
        snr = snr.expand(batch)
    elif snr.numel() != batch:
        raise ModelError(f"snr_db has {snr.numel()} values for a batch of {batch} images; give one per image or a single value")
    # Checked on CPU only: on an accelerator the check would force a host sync every step.
    if snr.device.type == "cpu" and not bool(torch.isfinite(snr).all()):
        raise ModelError(f"snr_db must be finite, got {snr.tolist()}")
    return snr


def noise_variance(snr_db: Tensor) -> Tensor:
    """Complex noise variance ``sigma^2 = 10^(-snr_db/10)`` for unit signal power (same shape)."""
    return torch.pow(10.0, -snr_db / 10.0)


def _check_kind(kind: str | FadingModel) -> str | FadingModel:
    if not isinstance(kind, FadingModel) and kind not in channels:
        raise ModelError(f"unknown channel kind {kind!r}; valid kinds: {', '.join(channels.names())}")
    return kind


class Channel(nn.Module):
    """Block-fading complex channel ``y = h * z + n`` with optional LMMSE equalisation.

    Parameters
    ----------
    kind : str or FadingModel, default "none"
        Fading model: a built model, e.g. ``make_fading(scenario.links)`` or
        ``make_fading("rician", k_factor=3.0)`` (see :func:`semnet.channels.make_fading`),
        or a name registered in :data:`semnet.registry.channels` (``"none"``, alias
        ``"awgn"``; ``"rayleigh"``; ``"rician"``; a plugin's), built with its
        constructor's default options.
    csi : bool, default True
        Receiver knows ``h``: output ``conj(h) y / (|h|^2 + sigma^2)``.
        Otherwise output ``y`` as received.

    Attributes
    ----------
    fading : FadingModel
        The model that draws ``h`` (:meth:`~semnet.channels.FadingModel.sample_torch`).
    kind : str
        Its canonical registered name (``"none"`` for ``"awgn"``).

    Notes
    -----
    Has no parameters; gradients flow from the output to ``z``. Per call it
    draws ``h`` first (nothing for AWGN) and then the noise, both from the
    given generator, so a caller can replay the draw with a cloned generator
    state.

    Examples
    --------
    >>> ch = Channel("rayleigh", csi=True)
    >>> g = torch.Generator().manual_seed(0)
    >>> z = power_normalize(torch.randn(4, 128, dtype=torch.complex64, generator=g))
    >>> ch(z, torch.full((4,), 10.0), generator=g).shape
    torch.Size([4, 128])
    """

    def __init__(self, kind: str | FadingModel = "none", *, csi: bool = True) -> None:
        super().__init__()
        kind = _check_kind(kind)
        self.fading = kind if isinstance(kind, FadingModel) else make_fading(kind)
        self.k_factor = float(getattr(self.fading, "k_factor", 0.0))
        self.kind = self.fading.name
        self.csi = bool(csi)

    def extra_repr(self) -> str:
        extra = "".join(f", {key}={value!r}" for key, value in self.fading.options().items())
        return f"kind={self.kind!r}, csi={self.csi}{extra}"

    def forward(
        self, z: Tensor, snr_db: Tensor | float, generator: torch.Generator | None = None, gain: Tensor | None = None,
        noise: Tensor | None = None,
    ) -> Tensor:
        """Send symbols through the channel.

        Parameters
        ----------
        z : Tensor, complex, shape ``(B, k)``
            Transmitted symbols, normally power-normalised (``P = 1``).
        snr_db : Tensor, shape ``(B,)`` (or a single value)
            SNR in dB per image; noise ``CN(0, 10^(-snr_db/10))`` per symbol.
        generator : torch.Generator or None
            Randomness for ``h`` and ``n``. May live on a different device
            than ``z`` (drawn there, then moved).
        gain : Tensor, complex, shape ``(B,)``, optional
            The gain ``h`` of each image, given by the network layer (the link's
            channel at the image's send time, see :mod:`semnet.channels.processes.timevarying`):
            applied as given, nothing is drawn for it (only the noise is).
        noise : Tensor, complex, shape ``(B, k)``, optional
            ``CN(0, 1)`` draws to scale as the noise instead of drawing them (live
            images draw theirs one by one, so that a batch's make-up changes nothing).

        Returns
        -------
        Tensor, complex, shape ``(B, k)``
            Equalised estimate of ``z`` (CSI) or the raw received ``y``.
        """
        if not z.is_complex() or z.dim() != 2:
            raise ValueError(f"Channel expects complex (B, k) symbols, got {z.dtype} {tuple(z.shape)}")
        batch, k = z.shape
        real_dtype = z.real.dtype
        snr = as_snr_db(snr_db, batch, z.device, real_dtype)
        sigma2 = noise_variance(snr).unsqueeze(1)  # (B, 1)
        if gain is None:
            h = self.fading.sample_torch(batch, generator, z.device, real_dtype).unsqueeze(1)
        else:
            h = torch.as_tensor(gain, device=z.device).to(z.dtype).reshape(-1, 1)
            if h.shape[0] != batch:
                raise ModelError(f"gain has {h.shape[0]} values for a batch of {batch} images; give one per image")
        if noise is None:
            noise = complex_normal_torch((batch, k), generator, z.device, real_dtype)
        elif noise.shape != z.shape:
            raise ModelError(f"noise has shape {tuple(noise.shape)} for symbols of shape {tuple(z.shape)}")
        y = h * z + noise.to(z.device, z.dtype) * sigma2.sqrt()
        if not self.csi:
            return y
        gain_power = h.real.square() + h.imag.square()
        return y * (h.conj() / (gain_power + sigma2))
