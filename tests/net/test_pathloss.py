"""Log-distance path loss."""

from __future__ import annotations

import numpy as np
import pytest

from semnet.errors import ScenarioError
from semnet.net.pathloss import snr_db_from_distance


def test_value_at_reference_distance():
    # 20 dBm - 40 dB - (-90 dBm) = 70 dB
    assert snr_db_from_distance(1.0) == pytest.approx(70.0)
    assert snr_db_from_distance(
        5.0, tx_power_dbm=10.0, reference_distance_m=5.0, reference_loss_db=50.0, noise_power_dbm=-100.0
    ) == pytest.approx(60.0)


def test_decade_costs_ten_times_exponent_db():
    assert snr_db_from_distance(10.0) - snr_db_from_distance(100.0) == pytest.approx(30.0)
    assert snr_db_from_distance(10.0, exponent=2.0) - snr_db_from_distance(100.0, exponent=2.0) == pytest.approx(20.0)


def test_monotone_and_clipped_below_reference():
    distances = np.array([0.0, 0.5, 1.0, 2.0, 10.0, 50.0, 300.0])
    snr = snr_db_from_distance(distances)
    assert snr.shape == distances.shape
    assert np.all(np.diff(snr) <= 0)
    assert np.all(np.diff(snr[2:]) < 0)
    np.testing.assert_allclose(snr[:3], 70.0)


def test_bad_values():
    with pytest.raises(ScenarioError, match=r"exponent must be > 0, got 0"):
        snr_db_from_distance(10.0, exponent=0.0)
    with pytest.raises(ScenarioError, match=r"reference_distance_m must be > 0"):
        snr_db_from_distance(10.0, reference_distance_m=-1.0)
    with pytest.raises(ValueError, match=r"distance_m must be finite and >= 0"):
        snr_db_from_distance([-1.0, 2.0])
