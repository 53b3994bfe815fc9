"""Channel layers: power normalisation, complex pairing, SNR and fading statistics, CSI, gradients."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from semnet.errors import ModelError, ScenarioError
from semnet.channels import BUILTIN_NAMES as CHANNEL_KINDS
from semnet.channels import FadingModel, make_fading
from semnet.models import Channel, from_complex, power_normalize, to_complex

def law(kind, k_factor=0.0):
    """The fading law ``kind`` (a name, with ``k_factor`` where it takes one, or a built model)."""
    if isinstance(kind, FadingModel):
        return kind
    return make_fading(SimpleNamespace(fading=kind, channel_options={}, k_factor=k_factor))



def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _symbols(batch: int, k: int, seed: int = 0) -> torch.Tensor:
    g = _gen(seed)
    z = torch.complex(torch.randn(batch, k, generator=g), torch.randn(batch, k, generator=g))
    return power_normalize(z * torch.rand(batch, 1, generator=g).mul(5).add(0.1))


def test_power_normalize_gives_unit_power_per_image():
    g = _gen(1)
    z = torch.complex(torch.randn(16, 257, generator=g), torch.randn(16, 257, generator=g)) * torch.logspace(-3, 3, 16)[:, None]
    power = power_normalize(z).abs().square().mean(dim=1)
    torch.testing.assert_close(power, torch.ones(16), atol=1e-5, rtol=0)


def test_to_complex_pairs_consecutive_values_and_round_trips():
    latent = torch.arange(2 * 4 * 2 * 2, dtype=torch.float32).reshape(2, 4, 2, 2)
    z = to_complex(latent)
    assert z.shape == (2, 8) and z.is_complex()
    assert z[0, 0] == complex(0, 1) and z[1, 3] == complex(22, 23)
    torch.testing.assert_close(from_complex(z, (4, 2, 2)), latent)
    torch.testing.assert_close(from_complex(z, latent.shape), latent)


def test_to_complex_rejects_odd_latent():
    with pytest.raises(ModelError, match="odd"):
        to_complex(torch.zeros(1, 3, 1, 1))


@pytest.mark.parametrize("kind", CHANNEL_KINDS)
def test_output_snr_matches_setting(kind):
    """Replay the generator to get h, subtract h*z, and measure the noise power (10^5 symbols)."""
    snr_db = 7.0
    z = _symbols(1000, 100)
    channel = Channel(law(kind, 3.0), csi=False)
    g = _gen(123)
    state = g.get_state()
    y = channel(z, torch.full((1000,), snr_db), generator=g)
    g.set_state(state)
    h = law(kind, 3.0).sample_torch(1000, g, torch.device("cpu"), torch.float32)[:, None]
    noise_power = (y - h * z).abs().square().mean()
    measured_db = 10 * math.log10(1.0 / noise_power.item())
    assert abs(measured_db - snr_db) < 0.1


@pytest.mark.parametrize("kind", CHANNEL_KINDS)
def test_received_power_is_one_plus_noise(kind):
    """E|y|^2 = E|h|^2 + sigma^2 = 1 + sigma^2 for every kind (unit-power fading)."""
    batch, k, snr_db = 20000, 8, 3.0
    z = _symbols(batch, k, seed=5)
    y = Channel(law(kind, 2.0), csi=False)(z, torch.full((batch,), snr_db), generator=_gen(9))
    expected = 1.0 + 10 ** (-snr_db / 10)
    assert abs(10 * math.log10(y.abs().square().mean().item() / expected)) < 0.1


def test_mixed_snr_batch_uses_per_image_noise():
    z = _symbols(200, 500)
    snr = torch.tensor([0.0, 20.0]).repeat(100)
    y = Channel("awgn", csi=False)(z, snr, generator=_gen(4))
    noise = (y - z).abs().square()
    low, high = noise[snr == 0.0].mean().item(), noise[snr == 20.0].mean().item()
    assert abs(10 * math.log10(1 / low) - 0.0) < 0.1
    assert abs(10 * math.log10(1 / high) - 20.0) < 0.1


@pytest.mark.parametrize("kind", ["rayleigh", "rician"])
def test_csi_equalisation_beats_raw_output(kind):
    z = _symbols(500, 64)
    snr = torch.full((500,), 10.0)
    with_csi = Channel(law(kind, 1.0), csi=True)(z, snr, generator=_gen(2))
    without = Channel(law(kind, 1.0), csi=False)(z, snr, generator=_gen(2))
    mse_csi = (with_csi - z).abs().square().mean()
    mse_raw = (without - z).abs().square().mean()
    assert mse_raw > 2 * mse_csi


def test_awgn_csi_is_mmse_shrink():
    z = _symbols(4, 32)
    snr = torch.full((4,), 10.0)
    raw = Channel("awgn", csi=False)(z, snr, generator=_gen(3))
    eq = Channel("awgn", csi=True)(z, snr, generator=_gen(3))
    torch.testing.assert_close(eq, raw / 1.1)


def test_same_generator_seed_gives_same_output_and_different_seeds_differ():
    z = _symbols(3, 16)
    ch = Channel("rayleigh")
    a = ch(z, torch.full((3,), 5.0), generator=_gen(7))
    b = ch(z, torch.full((3,), 5.0), generator=_gen(7))
    c = ch(z, torch.full((3,), 5.0), generator=_gen(8))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("kind", CHANNEL_KINDS)
@pytest.mark.parametrize("csi", [True, False])
def test_gradients_flow_to_symbols(kind, csi):
    latent = torch.randn(2, 4, 2, 2, requires_grad=True)
    y = Channel(kind, csi=csi)(power_normalize(to_complex(latent)), torch.tensor([5.0, 10.0]), generator=_gen(0))
    from_complex(y, latent.shape).square().sum().backward()
    assert latent.grad is not None and torch.isfinite(latent.grad).all() and latent.grad.abs().sum() > 0


def test_rician_gain_has_los_mean():
    h = law("rician", 4.0).sample_torch(50000, _gen(0), torch.device("cpu"), torch.float32)
    assert abs(h.mean().real.item() - math.sqrt(4 / 5)) < 0.01
    assert abs(h.abs().square().mean().item() - 1.0) < 0.02


def test_bad_channel_arguments_raise_model_error():
    with pytest.raises(ModelError, match="'fading'.*none, rayleigh, rician"):
        Channel("fading")
    with pytest.raises(ScenarioError, match="k_factor"):  # the law refuses it, before any channel
        make_fading("rician", k_factor=-1.0)
    with pytest.raises(ModelError, match="snr_db has 3 values"):
        Channel()(_symbols(2, 4), torch.zeros(3))


def test_none_and_awgn_are_one_channel():
    """One vocabulary with the network layer: ``none``; ``awgn`` stays accepted."""
    assert CHANNEL_KINDS == ("none", "rayleigh", "rician")
    a, b = Channel("none", csi=False), Channel("awgn", csi=False)
    assert a.kind == b.kind == "none" and a.fading == b.fading and repr(a) == repr(b)
    z, snr = _symbols(8, 32), torch.linspace(0.0, 20.0, 8)
    torch.testing.assert_close(a(z, snr, generator=_gen(5)), b(z, snr, generator=_gen(5)), rtol=0, atol=0)
    cpu = torch.device("cpu")
    assert torch.equal(law("none").sample_torch(3, None, cpu, torch.float32), law("awgn").sample_torch(3, None, cpu, torch.float32))


def test_channel_accepts_a_built_model():
    from semnet.channels import make_fading

    built = Channel(make_fading("rician", k_factor=2.0), csi=False)
    named = Channel(law("rician", 2.0), csi=False)
    assert built.kind == "rician" and built.k_factor == 2.0 and repr(built) == repr(named)
    z, snr = _symbols(4, 16), torch.full((4,), 6.0)
    assert torch.equal(built(z, snr, generator=_gen(1)), named(z, snr, generator=_gen(1)))
