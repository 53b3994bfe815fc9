"""The SNR-aware model's attention gates start open (near sigmoid(2)), seeded or not."""

import torch

from semnet.models import create_model
from semnet.models.adjscc import AttentionFeature


def test_gates_start_near_0_88_with_and_without_a_seeded_init():
    for kwargs in ({}, {"generator": torch.Generator().manual_seed(3)}):
        model = create_model("adjscc", latent_channels=16, **kwargs)
        modules = [m for m in model.modules() if isinstance(m, AttentionFeature)]
        assert len(modules) == 8
        for af in modules:
            assert torch.all(af.mlp[2].bias == 2.0)
        features = torch.rand(4, 32, 8, 8)
        with torch.no_grad():
            gates = modules[1](features, torch.full((4,), 10.0)) / features
        assert 0.75 < float(gates.mean()) < 0.97
