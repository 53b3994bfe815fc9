"""Per-image reconstruction quality: PSNR, SSIM and MS-SSIM.

All functions take batches ``(B, C, H, W)`` of pixels in ``[0, data_range]``
(``[0, 1]`` by default) and return one value per image, shape ``(B,)``, so a
caller can average per image, per link or per user. PSNR is
``10 log10(data_range^2 / MSE)`` with the MSE over one image's pixels and
channels (semnet's convention: average PSNR per image, not PSNR of the mean
MSE). SSIM and MS-SSIM use :mod:`pytorch_msssim` (11x11 Gaussian window,
sigma 1.5, ``K = (0.01, 0.03)``, valid-region averaging, mean over channels),
which agrees with ``skimage.metrics.structural_similarity`` called with
``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``.

All are differentiable and run on the inputs' device.
"""

from __future__ import annotations

import torch
from pytorch_msssim import ms_ssim as _ms_ssim
from pytorch_msssim import ssim as _ssim
from torch import Tensor

__all__ = ["ms_ssim", "ms_ssim_min_side", "psnr", "ssim"]

_MSE_FLOOR = 1e-10  # caps PSNR of identical images at 100 dB (data_range 1) instead of inf
_MS_SSIM_SCALES = 5


def _check_pair(x: Tensor, y: Tensor, name: str) -> None:
    if x.dim() != 4 or x.shape != y.shape:
        raise ValueError(f"{name} expects two batches of equal shape (B, C, H, W), got {tuple(x.shape)} and {tuple(y.shape)}")


def psnr(x: Tensor, y: Tensor, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio per image, in dB.

    Parameters
    ----------
    x, y : Tensor, shape ``(B, C, H, W)``
        Reference and reconstruction, values in ``[0, data_range]``.
    data_range : float, default 1.0
        Peak pixel value.

    Returns
    -------
    Tensor, shape ``(B,)``
        ``10 log10(data_range^2 / MSE_b)``; the MSE is clamped at 1e-10 so
        identical images give a finite value.
    """
    _check_pair(x, y, "psnr")
    mse = (x - y).float().square().flatten(1).mean(dim=1).clamp_min(_MSE_FLOOR)
    return 10.0 * torch.log10(data_range**2 / mse)


def ssim(x: Tensor, y: Tensor, data_range: float = 1.0, win_size: int = 11) -> Tensor:
    """Structural similarity per image (Gaussian window, mean over channels).

    Parameters
    ----------
    x, y : Tensor, shape ``(B, C, H, W)``
        Values in ``[0, data_range]``; both sides at least ``win_size``.
    data_range : float, default 1.0
    win_size : int, default 11
        Odd Gaussian window size (sigma 1.5).

    Returns
    -------
    Tensor, shape ``(B,)``, values in ``[-1, 1]`` (1 for identical images).
    """
    _check_pair(x, y, "ssim")
    if min(x.shape[-2:]) < win_size:
        raise ValueError(
            f"ssim with win_size={win_size} needs images of at least {win_size}x{win_size} pixels, "
            f"got {x.shape[-2]}x{x.shape[-1]}"
        )
    return _ssim(x.float(), y.float(), data_range=data_range, size_average=False, win_size=win_size)


def ms_ssim_min_side(win_size: int = 11) -> int:
    """Smallest image side MS-SSIM accepts: ``(win_size - 1) * 2^4 + 1`` (161 for the default window)."""
    return (win_size - 1) * 2 ** (_MS_SSIM_SCALES - 1) + 1


def ms_ssim(x: Tensor, y: Tensor, data_range: float = 1.0, win_size: int = 11) -> Tensor:
    """Multi-scale structural similarity per image (5 scales, standard weights).

    Parameters
    ----------
    x, y : Tensor, shape ``(B, C, H, W)``
        Values in ``[0, data_range]``. The smaller side must be at least
        :func:`ms_ssim_min_side` (161 for ``win_size=11``), so MS-SSIM does
        not apply to 32x32 CIFAR images; use :func:`ssim` there.
    data_range : float, default 1.0
    win_size : int, default 11

    Returns
    -------
    Tensor, shape ``(B,)``, values in ``[0, 1]`` (1 for identical images).

    Raises
    ------
    ValueError
        If the images are smaller than the minimum side.
    """
    _check_pair(x, y, "ms_ssim")
    need = ms_ssim_min_side(win_size)
    if min(x.shape[-2:]) < need:
        raise ValueError(
            f"ms_ssim with win_size={win_size} needs images whose smaller side is at least {need} pixels "
            f"(> (win_size-1)*2^4), got {x.shape[-2]}x{x.shape[-1]}; use ssim for small images"
        )
    return _ms_ssim(x.float(), y.float(), data_range=data_range, size_average=False, win_size=win_size)
