"""The training objectives: plain MSE, and minus the mean per-image PSNR."""

import pytest
import torch

from semnet.fl.execution.trainer import Trainer, image_loss
from semnet.metrics import psnr
from semnet.models import Channel


def test_log_mse_is_minus_the_mean_per_image_psnr():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 8, 8, generator=gen)
    x_hat = (x + 0.05 * torch.randn(6, 3, 8, 8, generator=gen) * torch.arange(1, 7).view(6, 1, 1, 1)).clamp(0, 1)
    per_image = ((x_hat - x) ** 2).flatten(1).mean(dim=1)
    assert image_loss(per_image, "mse").item() == pytest.approx(torch.mean((x_hat - x) ** 2).item(), rel=1e-6)
    assert image_loss(per_image, "log_mse").item() == pytest.approx(-psnr(x_hat, x).mean().item(), rel=1e-5)


def test_log_mse_weights_each_image_by_its_inverse_error():
    per_image = torch.tensor([0.01, 0.001], requires_grad=True)
    image_loss(per_image, "log_mse").backward()
    grad_mse_ratio = per_image.grad[1] / per_image.grad[0]
    assert grad_mse_ratio.item() == pytest.approx(10.0, rel=1e-4)  # the 10x smaller error pulls 10x harder
    plain = torch.tensor([0.01, 0.001], requires_grad=True)
    image_loss(plain, "mse").backward()
    assert plain.grad[0].item() == pytest.approx(plain.grad[1].item())


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="allowed: mse, log_mse"):
        image_loss(torch.ones(2), "l1")
    with pytest.raises(ValueError, match="allowed: mse, log_mse"):
        Trainer(Channel("awgn"), torch.device("cpu"), loss="l1")
