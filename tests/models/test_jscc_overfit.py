"""A tiny training run must learn: deep_jscc overfits 8 images at 10 dB AWGN."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from semnet.metrics.image import psnr
from semnet.models import Channel, create_model


def test_deep_jscc_overfits_eight_images():
    g = torch.Generator().manual_seed(0)
    # Smooth random images (upsampled 8x8 noise): learnable structure, unlike white noise.
    x = F.interpolate(torch.rand(8, 3, 8, 8, generator=g), size=(32, 32), mode="bilinear", align_corners=False)
    model = create_model("deep_jscc", width=0.5, generator=g)
    channel = Channel("awgn")
    snr = torch.full((8,), 10.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def quality() -> float:
        with torch.no_grad():
            return psnr(x, model(x, snr, channel, torch.Generator().manual_seed(1))["x_hat"]).mean().item()

    before = quality()
    for _ in range(150):
        loss = F.mse_loss(model(x, snr, channel, g)["x_hat"], x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert quality() > before + 3.0
