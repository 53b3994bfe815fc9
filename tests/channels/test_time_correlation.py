"""Time-correlated fading against closed forms (seeded Monte Carlo): Gauss–Markov
autocorrelation rho^(tau/T), Jakes' J0(2 pi f_D tau), E|h|^2 = 1, Rician K recovered."""

import math

import numpy as np
import pytest
from scipy import special

from semnet.channels import make_fading
from semnet.channels.processes.doppler import coherence_time_s, doppler_hz, gauss_markov_rho
from semnet.channels.processes.gauss_markov import GaussMarkovScatter
from semnet.channels.processes.jakes import JakesScatter


def _gm_paths(rho, step_s, times, count, seed=0):
    rng = np.random.default_rng(seed)
    return np.array([GaussMarkovScatter(rho, step_s, rng).at(times) for _ in range(count)])


def test_doppler_and_rho_closed_forms():
    assert doppler_hz(10.0, 3e9) == pytest.approx(10.0 * 3e9 / 299_792_458.0)
    f_d, step = 50.0, 1e-3
    assert gauss_markov_rho(f_d, step) == pytest.approx(float(special.j0(2 * math.pi * f_d * step)))
    assert gauss_markov_rho(1e9, step) == 0.0  # f_D -> inf: independent blocks
    assert special.j0(2 * math.pi * f_d * coherence_time_s(f_d)) == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("irregular", [False, True])
def test_gauss_markov_autocorrelation_is_rho_to_the_lag(irregular):
    rho, step = gauss_markov_rho(40.0, 2e-3), 2e-3
    if irregular:  # arbitrary increasing send times; the lags checked are still multiples of T
        times = np.sort(np.concatenate([np.arange(0, 60) * step, np.random.default_rng(5).uniform(0, 60 * step, 40)]))
        grid = np.searchsorted(times, np.arange(0, 60) * step)
    else:
        times = np.arange(0, 60) * step
        grid = np.arange(60)
    g = _gm_paths(rho, step, times, 3000)[:, grid]
    assert np.mean(np.abs(g) ** 2) == pytest.approx(1.0, abs=0.02)
    for lag in (1, 3, 10, 25):
        est = np.mean(g[:, lag:] * np.conj(g[:, :-lag]))
        # ~3000 x (60 - lag) correlated products: MC error well below 0.03
        assert est.real == pytest.approx(rho**lag, abs=0.03), lag
        assert abs(est.imag) < 0.03


def test_jakes_autocorrelation_is_bessel_j0():
    f_d = 20.0
    lags = np.array([0.0, 0.005, 0.01, 0.02, 0.03, 0.05])
    rng = np.random.default_rng(1)
    origins = np.array([0.0, 0.7, 3.1])
    est = np.zeros(lags.size, dtype=complex)
    count = 3000
    for _ in range(count):
        proc = JakesScatter(f_d, 16, rng)
        for t0 in origins:
            g = proc.at(t0 + lags)
            est += g * np.conj(g[0])
    est /= count * origins.size
    expected = special.j0(2 * math.pi * f_d * lags)
    assert est[0].real == pytest.approx(1.0, abs=0.04)  # E|g|^2 = 1 over the ensemble
    np.testing.assert_allclose(est.real, expected, atol=0.04)
    assert np.all(np.abs(est.imag) < 0.04)


@pytest.mark.parametrize("k_factor", [0.0, 3.0, 10.0])
def test_rician_from_correlated_scatter_keeps_its_law(k_factor):
    model = make_fading("rician", k_factor=k_factor)
    g = _gm_paths(0.9, 1e-3, np.arange(200) * 1e-3, 400, seed=2).ravel()
    h = model.from_gaussian(g)
    power = np.abs(h) ** 2
    assert power.mean() == pytest.approx(1.0, abs=0.03)
    # moment estimator (Greenstein et al. 1999): gamma = Var|h|^2 / (E|h|^2)^2 = (2K + 1) / (K + 1)^2
    gamma = power.var() / power.mean() ** 2
    k_hat = math.sqrt(max(1 - gamma, 0.0)) / (1 - math.sqrt(max(1 - gamma, 0.0)))
    assert k_hat == pytest.approx(k_factor, abs=0.15 + 0.1 * k_factor)


def test_peek_does_not_move_and_settle_does():
    proc = GaussMarkovScatter(0.95, 1e-3, np.random.default_rng(0))
    g0 = proc.g
    proc.peek([0.001, 0.002])
    assert proc.g == g0 and proc.t_s == 0.0
    values = proc.peek_grid(0.0, 1e-3, 5)
    assert values[0] == g0  # the same time: the same gain
    proc.settle(0.002, values[2])
    assert proc.at([0.002])[0] == values[2]
    with pytest.raises(ValueError, match="non-decreasing"):
        proc.peek([0.001])


def test_a_link_whose_two_ends_move_decorrelates_as_the_product_of_two_bessels():
    """Mobile-to-mobile (Akki & Haber 1986): with both ends at f_D the Jakes scatter's
    autocorrelation is J0(2 pi f_D tau)^2, a Gauss–Markov link's rho is J0(2 pi f_D T)^2;
    the coherence time solves J0^2 = 0.5 (x = 1.1264, against 1.5211 for one end)."""
    from semnet.channels.processes.doppler import two_end_coherence_time_s

    f_d = 20.0
    lags = np.array([0.0, 0.005, 0.01, 0.02, 0.03, 0.05])
    rng = np.random.default_rng(2)
    est = np.zeros(lags.size, dtype=complex)
    count = 3000
    for _ in range(count):
        g = JakesScatter(f_d, 16, rng, other_end_doppler_hz=f_d).at(1.3 + lags)
        est += g * np.conj(g[0])
    est /= count
    np.testing.assert_allclose(est.real, special.j0(2 * math.pi * f_d * lags) ** 2, atol=0.05)
    assert np.all(np.abs(est.imag) < 0.05)
    tau = two_end_coherence_time_s(f_d, f_d)
    assert special.j0(2 * math.pi * f_d * tau) ** 2 == pytest.approx(0.5, abs=1e-9)
    assert 2 * math.pi * f_d * tau == pytest.approx(1.1264, abs=1e-3)
    assert two_end_coherence_time_s(f_d, 0.0) == coherence_time_s(f_d)


def test_user_to_user_links_fade_with_both_ends_and_uplinks_with_one():
    from semnet.net.network import build_network
    from semnet.scenario.schema import ChannelSpec, LinksSpec, MobilitySpec
    from semnet.scenario.topology import topology_spec

    for correlation in ("gauss_markov", "jakes"):
        top = topology_spec(kind="ring", num_users=4, mobility=MobilitySpec(model="random_waypoint", speed_mps=(2, 4)))
        net = build_network(top, LinksSpec(fading="rayleigh", channel=ChannelSpec(time_correlation=correlation)), 0)
        process, f_d = net.channel, net.channel.doppler_hz
        assert f_d > 0
        assert process.ends_doppler_hz((0, 1)) == (f_d, f_d)
        assert process.ends_doppler_hz((0, net.aggregator)) == (f_d, 0.0)
        one = gauss_markov_rho(f_d, process.step_s)
        assert process.link_rho((0, net.aggregator)) == one
        assert process.link_rho((0, 1)) == pytest.approx(one * one, rel=1e-12)
        assert process.link_coherence_time_s((0, 1)) < process.link_coherence_time_s((0, net.aggregator))
