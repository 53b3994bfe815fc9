"""The same models and channel on CUDA (deselected by default; run with ``-m gpu``)."""

from __future__ import annotations

import pytest
import torch

from semnet.metrics.image import psnr, ssim
from semnet.channels import BUILTIN_NAMES as CHANNEL_KINDS
from semnet.models import Channel, create_model, list_models

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


@pytest.mark.parametrize("name", sorted(list_models()))
@pytest.mark.parametrize("kind", CHANNEL_KINDS)
def test_train_step_on_cuda(name, kind):
    device = torch.device("cuda")
    model = create_model(name, generator=torch.Generator().manual_seed(0)).to(device)
    x = torch.rand(4, 3, 32, 32, device=device)
    snr = torch.tensor([0.0, 5.0, 10.0, 20.0], device=device)
    out = model(x, snr, Channel(kind), generator=torch.Generator(device=device).manual_seed(1))
    assert out["x_hat"].device.type == "cuda"
    torch.nn.functional.mse_loss(out["x_hat"], x).backward()
    assert all(p.grad is not None and p.grad.device.type == "cuda" for p in model.parameters())
    assert psnr(x, out["x_hat"]).device.type == "cuda" and ssim(x, out["x_hat"]).shape == (4,)


def test_cpu_generator_gives_same_noise_on_cuda():
    z = torch.randn(3, 64, dtype=torch.complex64)
    snr = torch.full((3,), 5.0)
    cpu = Channel("rayleigh", csi=False)(z, snr, generator=torch.Generator().manual_seed(2))
    gpu = Channel("rayleigh", csi=False)(z.cuda(), snr.cuda(), generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(gpu.cpu(), cpu)
