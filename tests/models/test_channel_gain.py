"""The JSCC channel applies gains given by the network layer; the comparison evaluator
scores every method on the same fixed channel states and noise."""

import numpy as np
import pytest
import torch
from torch import nn

from semnet.errors import ModelError
from semnet.fl.loop.evaluation import LinkEvaluator, experienced_quality
from semnet.channels.layer.channel import Channel


class _Pass(nn.Module):
    """Encoder/decoder stand-in: the image itself as a (B, 3, H, W) latent."""

    def forward(self, x, snr):
        return x


def test_given_gain_is_applied_and_draws_only_noise():
    z = torch.randn(3, 16, dtype=torch.complex64)
    gain = torch.tensor([0.5 + 0.5j, -1.0, 2.0j], dtype=torch.complex64)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    y = Channel("rayleigh", csi=False)(z, torch.full((3,), 10.0), generator=g1, gain=gain)
    noise = Channel("none", csi=False)(torch.zeros_like(z), torch.full((3,), 10.0), generator=g2)
    torch.testing.assert_close(y, gain[:, None] * z + noise)  # the same noise draws: no h was drawn
    with pytest.raises(ModelError, match="one per image"):
        Channel("rayleigh")(z, 10.0, gain=gain[:2])


def test_comparison_states_give_every_method_the_same_score_and_deep_fades_hurt():
    images = {0: torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)}
    states = {(0, 1): (np.full(4, 10.0), np.array([1.0, 0.05, 1.0, 1.0], dtype=complex))}
    ev = LinkEvaluator([(0, 1)], {(0, 1): 10.0}, images, Channel("rayleigh"), torch.device("cpu"), seed=3,
                       states=states, with_ssim=False)
    enc, dec = _Pass(), _Pass()
    first = ev.evaluate(lambda _: enc, lambda _: dec)[0].psnr_db
    again = ev.evaluate(lambda _: enc, lambda _: dec)[0].psnr_db  # another method, another time
    assert first == again
    faded = LinkEvaluator([(0, 1)], {(0, 1): 10.0}, images, Channel("rayleigh"), torch.device("cpu"), seed=3,
                          states={(0, 1): (np.full(4, 10.0), np.full(4, 0.05, dtype=complex))}, with_ssim=False)
    assert faded.evaluate(lambda _: enc, lambda _: dec)[0].psnr_db < first - 3.0
    # experienced quality: an image through a unit gain beats one through a deep fade
    psnr = experienced_quality(enc, dec, images[0][:2], np.array([10.0, 10.0]), np.array([1.0, 0.05]),
                               Channel("rayleigh"), torch.Generator().manual_seed(0))
    assert psnr[0] > psnr[1] + 3.0
