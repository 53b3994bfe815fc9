"""One fading registry for both layers: built-ins, aliases, construction from a links
spec, errors, and a plugin model (Nakagami-m) used by the network's packet sampling
and by the torch Channel alike."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from semnet.channels import BUILTIN_NAMES, FadingModel, NoFading, Rayleigh, Rician, complex_normal_torch, make_fading
from semnet.errors import ModelError, ScenarioError
from semnet.channels.layer.channel import Channel, power_normalize
from semnet.net.rate import plan_transmission
from semnet.registry import UnknownNameError, channels
from semnet.scenario.links import LinksSpec

from .record_reference import capacity_of, law, outage_of, rate_outage_of  # noqa: E402  (one copy)


PLUGIN = "test_nakagami"


class Nakagami(FadingModel):
    """Nakagami-m fading for ``2 m`` integer: ``|h|^2 ~ Gamma(m, 1/m)`` (a scaled chi-square
    with ``2 m`` degrees of freedom), uniform phase. Implements only the two samplers."""

    def __init__(self, m: float = 2.0):
        if not (2 * m == int(2 * m) and m >= 0.5):
            raise ValueError(f"m must be a positive multiple of 0.5, got {m!r}")
        self.m = float(m)

    def sample_numpy(self, size, rng):
        shape = (size,) if isinstance(size, int) else tuple(size)
        dof = int(2 * self.m)
        power = np.square(rng.standard_normal((*shape, dof))).sum(axis=-1) / dof
        phase = rng.uniform(0.0, 2.0 * math.pi, shape)
        return np.sqrt(power) * np.exp(1j * phase)

    def sample_torch(self, batch, generator, device, dtype):
        dof = int(2 * self.m)
        draw_device = generator.device if generator is not None else device
        x = torch.randn((batch, dof), generator=generator, device=draw_device, dtype=dtype)
        phase = torch.rand(batch, generator=generator, device=draw_device, dtype=dtype) * (2.0 * math.pi)
        return torch.polar(x.square().sum(dim=1).div(dof).sqrt(), phase).to(device)


class NumpyOnly(FadingModel):
    def sample_numpy(self, size, rng):
        return np.ones(size, dtype=complex)


@pytest.fixture
def plugin():
    """Register the plugin for one test only (the registry is process-wide)."""
    channels.names()  # load the built-ins first
    channels.add(PLUGIN, Nakagami, "Nakagami-m fading (test plugin)")
    yield Nakagami
    channels._entries.pop(PLUGIN, None)


# --------------------------------------------------------------------------- built-ins


def test_builtins_are_registered_with_one_vocabulary():
    assert BUILTIN_NAMES == ("none", "rayleigh", "rician")
    assert channels.names()[:3] == ["none", "rayleigh", "rician"]
    assert channels.get("none") is NoFading and channels.get("awgn") is NoFading
    assert channels.get("rayleigh") is Rayleigh and channels.get("rician") is Rician
    assert channels.canonical("awgn") == "none"
    assert "awgn" not in channels.names()  # an alias, not listed
    assert all(channels.describe()[name] for name in BUILTIN_NAMES)


def test_importing_the_registry_stays_light():
    """The scenario loader checks names through the registry: no torch or scipy."""
    code = ("import sys; from semnet.registry import channels; channels.names(); "
            "heavy = [m for m in ('torch', 'scipy') if m in sys.modules]; print(heavy); sys.exit(bool(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_make_fading_by_name_and_from_a_links_spec():
    assert make_fading("awgn") == NoFading() == make_fading("none")
    assert make_fading("awgn").name == "none"
    assert make_fading("rician", k_factor=3.0) == Rician(k_factor=3.0) != Rician(k_factor=2.0)
    assert repr(make_fading("rician", k_factor=3.0)) == "Rician(k_factor=3.0)"
    assert make_fading(LinksSpec()) == NoFading()
    assert make_fading(LinksSpec(fading="rician", k_factor=2.5)) == Rician(k_factor=2.5)
    assert make_fading(LinksSpec(fading="rayleigh", k_factor=2.5)) == Rayleigh()  # K only for models that take it
    spec = LinksSpec(fading="rician", k_factor=4.0)
    assert Channel(make_fading(spec), csi=spec.csi).fading == Channel(law("rician", 4.0)).fading


def test_channel_none_equals_channel_awgn():
    a, b = Channel("none", csi=False), Channel("awgn", csi=False)
    assert a.kind == b.kind == "none" and a.fading == b.fading and repr(a) == repr(b)
    assert Channel().kind == "none"
    z = power_normalize(torch.randn(3, 16, dtype=torch.complex64, generator=torch.Generator().manual_seed(0)))
    snr = torch.tensor([0.0, 5.0, 10.0])
    ya = a(z, snr, generator=torch.Generator().manual_seed(1))
    yb = b(z, snr, generator=torch.Generator().manual_seed(1))
    assert torch.equal(ya, yb)


def test_built_in_samplers_keep_the_draw_order():
    """Rician draws exactly the Rayleigh scatter; torch draws interleaved (re, im) pairs."""
    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    ray = Rayleigh().sample_numpy(7, rng_a)
    ric = Rician(k_factor=2.0).sample_numpy(7, rng_b)
    np.testing.assert_array_equal(ric, math.sqrt(2 / 3) + math.sqrt(1 / 3) * ray)
    g = torch.Generator().manual_seed(5)
    h = Rayleigh().sample_torch(4, g, torch.device("cpu"), torch.float64)
    pairs = torch.randn((4, 2), generator=torch.Generator().manual_seed(5), dtype=torch.float64) * math.sqrt(0.5)
    assert torch.equal(h, torch.view_as_complex(pairs))
    assert torch.equal(complex_normal_torch((4,), torch.Generator().manual_seed(5), "cpu", torch.float64), h)


# --------------------------------------------------------------------------- errors


def _one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_unknown_names_give_one_line_listing_the_allowed_names():
    with pytest.raises(UnknownNameError) as err:
        channels.get("nakagamii")
    assert _one_line(err).endswith("allowed: none, rayleigh, rician")
    with pytest.raises(ScenarioError, match=r"^links.fading = 'x': unknown channel; allowed: none, rayleigh, rician$") as err:
        make_fading(LinksSpec(fading="x"))
    _one_line(err)
    with pytest.raises(ScenarioError, match=r"unknown channel 'x'; allowed: none, rayleigh, rician$"):
        make_fading("x")
    with pytest.raises(ModelError, match=r"unknown channel kind 'x'; valid kinds: none, rayleigh, rician$") as err:
        Channel("x")
    _one_line(err)
    with pytest.raises(ValueError, match=r"unknown fading 'x'; valid kinds: none, rayleigh, rician$"):
        plan_transmission(1000, mode="shannon", rng=None, bandwidth_hz=1e6, snr_db=5.0, fading="x")


def test_bad_channel_options_name_the_key_and_the_accepted_ones(plugin):
    with pytest.raises(ScenarioError) as err:
        make_fading(LinksSpec(fading=PLUGIN, channel_options={"mm": 2}))
    assert _one_line(err) == f"links.channel_options.mm: not an option of channel {PLUGIN!r}; allowed: m"
    with pytest.raises(ScenarioError, match=r"^links.channel_options.m: not an option of channel 'rician'; "
                       r"allowed: \(none\); k_factor is links.k_factor$"):
        make_fading(LinksSpec(fading="rician", channel_options={"m": 2}))
    with pytest.raises(ScenarioError, match=r"^links.channel_options.k_factor: set links.k_factor instead"):
        make_fading(LinksSpec(fading="rician", channel_options={"k_factor": 2}))
    with pytest.raises(ScenarioError, match=r"^links.channel_options: channel 'test_nakagami' rejected \{'m': 0.7\}: "
                       r"ValueError: m must be a positive multiple of 0.5"):
        make_fading(LinksSpec(fading=PLUGIN, channel_options={"m": 0.7}))
    with pytest.raises(ScenarioError, match=r"^option x: not an option of channel 'none'; allowed: \(none\)$"):
        make_fading("awgn", x=1)


def test_k_factor_comes_from_links_k_factor(plugin):
    class ShadowedRician(Rician):
        def __init__(self, k_factor: float = 0.0, spread: float = 1.0):
            super().__init__(k_factor)
            self.spread = spread

    channels.add("test_shadowed", ShadowedRician)
    try:
        model = make_fading(LinksSpec(fading="test_shadowed", k_factor=5.0, channel_options={"spread": 0.5}))
        assert (model.k_factor, model.spread, model.name) == (5.0, 0.5, "test_shadowed")
        with pytest.raises(ScenarioError, match=r"^links.channel_options.k_factor: set links.k_factor instead"):
            make_fading(LinksSpec(fading="test_shadowed", channel_options={"k_factor": 1.0}))
    finally:
        channels._entries.pop("test_shadowed", None)
    # a model without a K factor takes none from either place
    with pytest.raises(ScenarioError, match=r"^links.channel_options.k_factor: not an option of channel "
                       r"'test_nakagami'; allowed: m$"):
        make_fading(LinksSpec(fading=PLUGIN, channel_options={"k_factor": 1.0}))


def test_required_options_and_non_models_are_reported(plugin):
    class NeedsM(Nakagami):
        def __init__(self, m: float):
            super().__init__(m)

    channels.add("test_needs_m", NeedsM)
    channels.add("test_not_a_model", dict)
    try:
        with pytest.raises(ScenarioError, match=r"^links.channel_options.m: channel 'test_needs_m' needs option\(s\) m$"):
            make_fading(LinksSpec(fading="test_needs_m"))
        assert make_fading(LinksSpec(fading="test_needs_m", channel_options={"m": 1.5})).m == 1.5
        with pytest.raises(ScenarioError, match=r"not a subclass of semnet.channels.laws.base.FadingModel"):
            make_fading("test_not_a_model")
    finally:
        channels.remove("test_needs_m")
        channels.remove("test_not_a_model")


def test_a_model_with_only_a_numpy_sampler_says_what_is_missing():
    model = NumpyOnly()
    assert law(model).power_gain(3, None).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(NotImplementedError, match=r"NumpyOnly does not implement sample_torch"):
        Channel(model)(torch.ones(2, 4, dtype=torch.complex64), 10.0)


# --------------------------------------------------------------------------- a plugin in both layers

N = 200_000


def test_plugin_from_links_spec_reaches_both_layers(plugin):
    model = make_fading(LinksSpec(fading=PLUGIN, channel_options={"m": 3.0}, k_factor=9.0))
    assert isinstance(model, Nakagami) and model.m == 3.0 and model.name == PLUGIN
    assert model == Nakagami(m=3.0) and repr(model) == "Nakagami(m=3.0)"
    # network layer: packet power gains are Gamma(m, 1/m): mean 1, variance 1/m
    g = law(model).power_gain(N, np.random.default_rng(0))
    assert g.mean() == pytest.approx(1.0, abs=0.01) and g.var() == pytest.approx(1 / 3, abs=0.01)
    # by name (default m = 2), as LinkParams.fading would give it
    g2 = law(PLUGIN).power_gain(N, np.random.default_rng(1))
    assert g2.var() == pytest.approx(1 / 2, abs=0.01)
    # JSCC layer: one gain per image, same statistics, both precisions
    for dtype in (torch.float32, torch.float64):
        h = law(model).sample_torch(N, torch.Generator().manual_seed(2), torch.device("cpu"), dtype)
        assert h.shape == (N,) and h.real.dtype == dtype
        power = h.abs().square()
        assert power.mean().item() == pytest.approx(1.0, abs=0.01)
        assert power.var().item() == pytest.approx(1 / 3, abs=0.01)


def test_plugin_channel_output_snr_and_csi(plugin):
    """Replay the generator to recover h: y - h z is noise at the set SNR; CSI equalises with h."""
    channel = Channel(PLUGIN, csi=False)
    assert channel.kind == PLUGIN and channel.fading == Nakagami()
    assert f"kind={PLUGIN!r}, csi=False, m=2.0" in repr(channel)
    z = power_normalize(torch.randn(1000, 100, dtype=torch.complex64, generator=torch.Generator().manual_seed(3)))
    g = torch.Generator().manual_seed(4)
    state = g.get_state()
    y = channel(z, torch.full((1000,), 7.0), generator=g)
    g.set_state(state)
    h = law(PLUGIN).sample_torch(1000, g, torch.device("cpu"), torch.float32)[:, None]
    noise_power = (y - h * z).abs().square().mean().item()
    assert 10 * math.log10(1 / noise_power) == pytest.approx(7.0, abs=0.1)
    eq = Channel(PLUGIN, csi=True)(z, torch.full((1000,), 7.0), generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(eq, y * (h.conj() / (h.abs().square() + 10 ** -0.7)))
    # gradients flow through a plugin channel as through the built-ins
    latent = z.clone().requires_grad_(True)
    Channel(PLUGIN)(latent, 5.0, generator=torch.Generator().manual_seed(0)).abs().sum().backward()
    assert latent.grad is not None and torch.isfinite(latent.grad).all()


def test_plugin_packets_fail_at_the_monte_carlo_outage_rate(plugin):
    """Shannon-rate packets over the plugin fail as often as the (Monte-Carlo) outage
    probability says, which itself matches the Gamma closed form."""
    from scipy import stats

    model = Nakagami(m=2.0)
    snr_db, rate = 5.0, 1.0  # bit/s/Hz
    threshold = 2**rate - 1
    closed = stats.gamma.cdf(threshold / 10 ** (snr_db / 10), 2.0, scale=1 / 2.0)
    p = rate_outage_of(law(model), snr_db, rate)
    assert p == pytest.approx(closed, abs=0.004)
    assert outage_of(law(PLUGIN), snr_db, threshold) == p  # fixed seed: same estimate by name
    packets = 50_000
    backoff = rate / math.log2(1 + 10 ** (snr_db / 10))
    for fade in (model, PLUGIN):  # a built model (LinkParams could carry one) or the registered name
        outcome = plan_transmission(packets * 100, mode="shannon", rng=np.random.default_rng(6), bandwidth_hz=1e6,
                                    snr_db=snr_db, fading=fade, backoff=backoff, packet_bits=100, max_retries=1)
        first_round_failures = outcome.attempts - packets
        assert first_round_failures / packets == pytest.approx(closed, abs=0.006)


def test_monte_carlo_capacity_fallback_matches_quadrature(plugin):
    from scipy import integrate, stats

    model = Nakagami(m=2.0)
    for snr_db in (0.0, 10.0, 20.0):
        snr = 10 ** (snr_db / 10)
        exact, _ = integrate.quad(lambda x: math.log2(1 + snr * x) * stats.gamma.pdf(x, 2.0, scale=0.5), 0, np.inf)
        assert capacity_of(law(model), snr_db) == pytest.approx(exact, abs=0.01)
    caps = capacity_of(law(PLUGIN), [0.0, 10.0, 20.0])
    assert caps.shape == (3,) and np.all(np.diff(caps) > 0)
    # between Rayleigh (m = 1) and no fading, as Jensen and m > 1 say
    assert capacity_of(law("rayleigh"), 10.0) < caps[1] < capacity_of(law("none"), 10.0)
