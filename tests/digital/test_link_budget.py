"""Bits per image and outage against closed forms."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from semnet.digital.link_budget import capacity_bits, mcs_budgets, rate_budgets
from semnet.net.cqi_table import CQI_TABLE


@pytest.mark.parametrize("snr_linear, bits_per_use", [(1.0, 1), (3.0, 2), (15.0, 4), (255.0, 8)])
def test_capacity_budget_is_k_log2_one_plus_snr(snr_linear, bits_per_use):
    # log2(1 + SNR) is a whole number of bits for these SNRs: the budget is exact
    k = 512
    assert capacity_bits(k, np.array([10 * math.log10(snr_linear)]))[0] == k * bits_per_use


def test_capacity_budget_rounds_down_and_is_zero_without_signal():
    k = 100
    bits = capacity_bits(k, np.array([10.0, -np.inf]))
    assert bits[0] == math.floor(k * math.log2(11.0)) and bits[1] == 0


def test_capacity_rate_loses_nothing():
    bits, lost = rate_budgets("capacity", 64, np.array([-20.0, 0.0, 30.0]), 10.0)
    assert not lost.any()


def test_mcs_uses_the_previous_realised_snr_and_loses_below_threshold():
    k = 1000
    realised = np.array([12.0, 5.0, 10.4, 10.2])  # told 10.3 dB at the start
    bits, lost = mcs_budgets(k, realised, told_snr_db=10.3)
    by_cqi = {e.cqi: e for e in CQI_TABLE}
    # send 0: CQI 9 from the told 10.3 dB, meets 12 dB: fine
    # send 1: CQI 10 from 12 dB (threshold 11.7), meets 5 dB: lost
    # send 2: CQI 6 from 5 dB (threshold 4.3), meets 10.4 dB: fine
    # send 3: CQI 9 from 10.4 dB (threshold 10.3), meets 10.2 dB: lost
    expected = [by_cqi[c].efficiency_bits for c in (9, 10, 6, 9)]
    assert bits.tolist() == [math.floor(k * e) for e in expected]
    assert lost.tolist() == [False, True, False, True]


def test_below_the_lowest_entry_nothing_is_sent():
    bits, lost = mcs_budgets(100, np.array([0.0, 0.0]), told_snr_db=-10.0)
    assert bits[0] == 0 and not lost[0]  # CQI 0: out of range
    assert bits[1] == math.floor(100 * 0.3770)  # CQI 3 (-2.3 dB) from the 0 dB it met; CQI 4 needs 0.2 dB


def test_every_send_below_its_entrys_threshold_is_lost():
    # the SNR alternates 20 dB / 0 dB: each send's entry comes from the other state, so every
    # send that meets 0 dB was sent with CQI 13 (threshold 18.7 dB) and is lost, none of the others
    realised = np.array([0.0, 20.0] * 4)
    bits, lost = mcs_budgets(256, realised, told_snr_db=20.0)
    assert lost.tolist() == [True, False] * 4
    assert bits.tolist() == [math.floor(256 * 4.5234), math.floor(256 * 0.3770)] * 4  # CQI 13, CQI 3


@given(st.lists(st.floats(-15, 35), min_size=1, max_size=30), st.floats(-15, 35), st.floats(0, 5))
def test_mcs_agrees_with_a_direct_reading_of_the_table(realised, told, margin):
    bits, lost = mcs_budgets(300, np.array(realised), told, margin)
    known = [told, *realised[:-1]]
    for m, snr in enumerate(known):
        usable = [e for e in CQI_TABLE if snr - margin >= e.threshold_snr_db]
        if not usable:
            assert bits[m] == 0 and not lost[m]
            continue
        entry = max(usable, key=lambda e: e.efficiency_bits)
        assert bits[m] == math.floor(300 * entry.efficiency_bits)
        assert lost[m] == (realised[m] < entry.threshold_snr_db)
