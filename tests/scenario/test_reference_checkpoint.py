"""The reference checkpoint in models/ loads into the model its card describes."""

from pathlib import Path

import pytest
import torch

from semnet.scenario import validate
from semnet.workload import model_factory

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_checkpoint_loads_into_its_model():
    path = ROOT / "models" / "quickstart_fedavg_global.pt"
    scenario = validate({"model": {"name": "deep_jscc", "bandwidth_ratio": "1/12", "width": 0.5,
                                   "checkpoint": str(path)}})
    model = model_factory(scenario.model, (32, 32), 0, torch.device("cpu"))()
    state = torch.load(path, weights_only=True)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state[name])


@pytest.mark.parametrize("name, ratio, width, channels, file", [
    ("deep_jscc", "1/6", 1.0, 16, "deep_jscc_cifar10_k6_snr10.pt"),
    ("deep_jscc", "1/6", 1.0, 16, "deep_jscc_cifar10_k6_snr10_e232.pt"),
    ("deep_jscc", "1/12", 1.0, 8, "deep_jscc_cifar10_k12_snr10.pt"),
    ("deep_jscc", "1/12", 1.0, 8, "deep_jscc_cifar10_k12_snr10_e48.pt"),
    ("adjscc", "1/6", 1.0, 16, "adjscc_cifar10_k6_snr0-20_e48.pt"),
    ("adjscc", "1/6", 2.0, 16, "adjscc_w2_cifar10_k6_snr0-20_e48.pt"),
])
def test_cifar_checkpoints_load_into_their_models(name, ratio, width, channels, file):
    path = ROOT / "models" / file
    scenario = validate({"model": {"name": name, "bandwidth_ratio": ratio, "width": width, "checkpoint": str(path)}})
    model = model_factory(scenario.model, (32, 32), 0, torch.device("cpu"))()
    assert model.latent_channels == channels
    state = torch.load(path, weights_only=True)
    assert all(torch.equal(t, state[k]) for k, t in model.state_dict().items())
