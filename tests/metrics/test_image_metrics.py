"""PSNR / SSIM / MS-SSIM against scikit-image and closed forms."""

from __future__ import annotations


import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from semnet.metrics.image import ms_ssim, ms_ssim_min_side, psnr, ssim


def _pair(batch: int, side: int, noise: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 3, side, side, generator=g, dtype=torch.float64)
    y = (x + noise * torch.randn(x.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return x, y


def test_psnr_matches_skimage_per_image():
    x, y = _pair(4, 32, 0.1)
    ours = psnr(x, y)
    assert ours.shape == (4,)
    for b in range(4):
        ref = peak_signal_noise_ratio(x[b].numpy(), y[b].numpy(), data_range=1.0)
        assert ours[b].item() == pytest.approx(ref, abs=1e-4)


def test_psnr_closed_form_and_identical_images():
    x = torch.zeros(2, 3, 8, 8)
    y = x + 0.1
    torch.testing.assert_close(psnr(x, y), torch.full((2,), 20.0))
    assert torch.isfinite(psnr(x, x)).all()
    assert psnr(x * 255, y * 255, data_range=255.0)[0].item() == pytest.approx(20.0, abs=1e-3)


@pytest.mark.parametrize("noise", [0.05, 0.3])
def test_ssim_matches_skimage(noise):
    x, y = _pair(3, 32, noise, seed=1)
    ours = ssim(x, y)
    assert ours.shape == (3,)
    for b in range(3):
        ref = structural_similarity(
            x[b].numpy(), y[b].numpy(), gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, channel_axis=0, data_range=1.0,
        )
        assert ours[b].item() == pytest.approx(ref, abs=1e-4)


def test_ssim_of_identical_images_is_one():
    x, _ = _pair(2, 32, 0.0)
    torch.testing.assert_close(ssim(x, x), torch.ones(2, dtype=torch.float32))


def test_ms_ssim_range_and_identity():
    x, y = _pair(2, 192, 0.1, seed=2)
    values = ms_ssim(x, y)
    assert values.shape == (2,)
    assert ((values > 0) & (values <= 1)).all() and (values < 0.999).all()
    torch.testing.assert_close(ms_ssim(x, x), torch.ones(2), atol=1e-5, rtol=0)
    noisier = ms_ssim(*_pair(2, 192, 0.3, seed=2))
    assert (noisier < values).all()


def test_ms_ssim_rejects_small_images_naming_minimum():
    assert ms_ssim_min_side() == 161
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match="161"):
        ms_ssim(x, x)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="equal shape"):
        psnr(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
