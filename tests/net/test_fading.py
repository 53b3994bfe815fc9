"""Fading statistics against closed forms, with seeded Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from semnet.errors import ScenarioError
from semnet.net import fading

N = 200_000
KINDS = [("none", 0.0), ("rayleigh", 0.0), ("rician", 0.0), ("rician", 1.0), ("rician", 10.0)]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def test_db_conversions():
    assert fading.db_to_linear(10.0) == pytest.approx(10.0)
    assert fading.db_to_linear(-3.0) == pytest.approx(0.501187, rel=1e-5)
    np.testing.assert_allclose(fading.db_to_linear([0.0, 20.0]), [1.0, 100.0])
    values = np.array([-20.0, 0.0, 7.5, 30.0])
    np.testing.assert_allclose(fading.linear_to_db(fading.db_to_linear(values)), values)
    assert fading.linear_to_db(0.0) == -math.inf
    with pytest.raises(ValueError, match=r">= 0"):
        fading.linear_to_db(-1.0)


@pytest.mark.parametrize(("kind", "k_factor"), KINDS)
def test_unit_mean_power_gain(kind, k_factor, rng):
    h = fading.sample_gain(kind, N, rng, k_factor=k_factor)
    assert h.shape == (N,) and np.iscomplexobj(h)
    assert np.mean(np.abs(h) ** 2) == pytest.approx(1.0, abs=0.01)
    g = fading.sample_power_gain(kind, (4, 5), rng, k_factor=k_factor)
    assert g.shape == (4, 5) and g.dtype == np.float64 and np.all(g >= 0)


def test_rician_line_of_sight_mean_and_rayleigh_limit():
    k = 4.0
    h = fading.sample_gain("rician", N, np.random.default_rng(0), k_factor=k)
    assert np.mean(h).real == pytest.approx(math.sqrt(k / (k + 1)), abs=0.01)
    assert abs(np.mean(h).imag) < 0.01
    # K = 0 is Rayleigh draw for draw
    a = fading.sample_power_gain("rician", 100, np.random.default_rng(5), k_factor=0.0)
    b = fading.sample_power_gain("rayleigh", 100, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    # Rayleigh power gain is exponential: variance 1
    g = fading.sample_power_gain("rayleigh", N, np.random.default_rng(1))
    assert np.var(g) == pytest.approx(1.0, abs=0.03)


def test_no_fading_is_deterministic():
    g = fading.sample_power_gain("none", 10, None)
    np.testing.assert_array_equal(g, np.ones(10))
    assert fading.outage_probability("none", 10.0, 9.0) == 0.0
    assert fading.outage_probability("none", 10.0, 11.0) == 1.0


@pytest.mark.parametrize(("kind", "k_factor"), [("rayleigh", 0.0), ("rician", 0.0), ("rician", 2.0), ("rician", 10.0)])
@pytest.mark.parametrize(("snr_db", "threshold"), [(10.0, 3.0), (0.0, 0.5), (5.0, 4.0)])
def test_outage_probability_matches_monte_carlo(kind, k_factor, snr_db, threshold, rng):
    g = fading.sample_power_gain(kind, N, rng, k_factor=k_factor)
    empirical = np.mean(g * fading.db_to_linear(snr_db) < threshold)
    p = fading.outage_probability(kind, snr_db, threshold, k_factor=k_factor)
    assert 0.0 < p < 1.0
    assert p == pytest.approx(empirical, abs=0.005)


def test_outage_closed_forms():
    assert fading.outage_probability("rayleigh", 0.0, 1.0) == pytest.approx(1 - math.exp(-1))
    assert fading.outage_probability("rician", 0.0, 1.0, k_factor=0.0) == pytest.approx(1 - math.exp(-1))
    # a strong line of sight makes deep fades rarer than Rayleigh
    ray = fading.outage_probability("rayleigh", 10.0, 1.0)
    ric = fading.outage_probability("rician", 10.0, 1.0, k_factor=10.0)
    assert ric < ray / 10
    # vectorised over snr and monotone decreasing in snr
    p = fading.outage_probability("rician", [0.0, 5.0, 10.0, 20.0], 1.0, k_factor=3.0)
    assert p.shape == (4,) and np.all(np.diff(p) < 0)


def test_rate_outage_uses_two_to_the_rate_minus_one():
    for kind, k in [("rayleigh", 0.0), ("rician", 3.0)]:
        assert fading.rate_outage_probability(kind, 12.0, 2.0, k_factor=k) == pytest.approx(
            fading.outage_probability(kind, 12.0, 3.0, k_factor=k)
        )
    assert fading.rate_outage_probability("rayleigh", 10.0, 0.0) == 0.0


@pytest.mark.parametrize(("kind", "k_factor"), KINDS)
@pytest.mark.parametrize("snr_db", [0.0, 15.0])
def test_ergodic_capacity_matches_monte_carlo(kind, k_factor, snr_db, rng):
    g = fading.sample_power_gain(kind, N, rng, k_factor=k_factor)
    empirical = np.mean(np.log2(1.0 + g * fading.db_to_linear(snr_db)))
    assert fading.ergodic_capacity_bps_hz(kind, snr_db, k_factor=k_factor) == pytest.approx(empirical, abs=0.015)


def test_ergodic_capacity_ordering_and_limits():
    awgn = fading.ergodic_capacity_bps_hz("none", 10.0)
    assert awgn == pytest.approx(math.log2(11.0))
    ray = fading.ergodic_capacity_bps_hz("rayleigh", 10.0)
    ric = fading.ergodic_capacity_bps_hz("rician", 10.0, k_factor=5.0)
    assert ray < ric < awgn  # Jensen: fading costs capacity, line of sight recovers some
    assert fading.ergodic_capacity_bps_hz("rician", 10.0, k_factor=1e4) == pytest.approx(awgn, abs=1e-3)
    # Rayleigh known value: e^1 E1(1) / ln 2 at 0 dB
    assert fading.ergodic_capacity_bps_hz("rayleigh", 0.0) == pytest.approx(0.596347362 / math.log(2), rel=1e-8)
    # very low SNR: capacity ~ snr / ln 2, no overflow
    assert fading.ergodic_capacity_bps_hz("rayleigh", -40.0) == pytest.approx(1e-4 / math.log(2), rel=1e-3)
    caps = fading.ergodic_capacity_bps_hz("rayleigh", [0.0, 10.0, 20.0])
    assert caps.shape == (3,) and np.all(np.diff(caps) > 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: fading.sample_gain("nakagami", 3, np.random.default_rng(0)),
        lambda: fading.outage_probability("AWGN", 10.0, 1.0),
        lambda: fading.ergodic_capacity_bps_hz("Rayleigh", 10.0),
    ],
)
def test_unknown_kind_lists_valid_kinds(call):
    with pytest.raises(ScenarioError, match=r"unknown fading kind .*; valid kinds: none, rayleigh, rician"):
        call()


def test_awgn_is_an_alias_of_none():
    """The JSCC channel's old name for no fading is accepted by the network layer too."""
    assert fading.sample_power_gain("awgn", 4, None).tolist() == [1.0] * 4
    assert fading.outage_probability("awgn", 10.0, 9.0) == fading.outage_probability("none", 10.0, 9.0) == 0.0
    assert fading.ergodic_capacity_bps_hz("awgn", 10.0) == fading.ergodic_capacity_bps_hz("none", 10.0)


def test_functions_accept_a_built_model():
    from semnet.channels import make_fading

    model = make_fading("rician", k_factor=3.0)
    a = fading.sample_gain(model, 5, np.random.default_rng(3))
    b = fading.sample_gain("rician", 5, np.random.default_rng(3), k_factor=3.0)
    np.testing.assert_array_equal(a, b)
    assert fading.outage_probability(model, 5.0, 1.0) == fading.outage_probability("rician", 5.0, 1.0, k_factor=3.0)


def test_bad_values_raise_scenario_error():
    with pytest.raises(ScenarioError, match=r"k_factor must be >= 0, got -1"):
        fading.sample_gain("rician", 3, np.random.default_rng(0), k_factor=-1.0)
    with pytest.raises(ScenarioError, match=r"threshold_linear must be finite and >= 0"):
        fading.outage_probability("rayleigh", 10.0, -1.0)
    with pytest.raises(ScenarioError, match=r"snr_db must be finite"):
        fading.ergodic_capacity_bps_hz("rayleigh", float("nan"))
