"""The CQI table against its definition and against Shannon's bound."""

import math

import pytest

from semnet.net.cqi_table import CQI_TABLE, select_cqi

BITS_PER_SYMBOL = {"QPSK": 2, "16QAM": 4, "64QAM": 6}


def test_efficiency_is_modulation_order_times_code_rate():
    # TS 38.214 Table 5.2.2.1-2 prints the efficiency rounded to 4 decimals
    for e in CQI_TABLE:
        assert e.efficiency_bits == pytest.approx(BITS_PER_SYMBOL[e.modulation] * e.code_rate_x1024 / 1024, abs=6e-5)


def test_thresholds_lie_above_the_shannon_snr_and_rise_with_the_rate():
    previous = -math.inf
    for e in CQI_TABLE:
        shannon_db = 10 * math.log10(2 ** e.efficiency_bits - 1)  # SNR where log2(1 + SNR) = efficiency
        assert 2.5 < e.threshold_snr_db - shannon_db < 6.5, e
        assert e.threshold_snr_db > previous
        previous = e.threshold_snr_db
    assert [e.cqi for e in CQI_TABLE] == list(range(1, 16))


@pytest.mark.parametrize("snr_db, margin_db, cqi", [
    (-6.8, 0.0, None), (-6.7, 0.0, 1), (10.29, 0.0, 8), (10.3, 0.0, 9), (30.0, 0.0, 15),
    (22.7, 0.0, 15), (22.69, 0.0, 14), (12.0, 2.0, 8), (float("-inf"), 0.0, None)])
def test_select_cqi_takes_the_fastest_entry_at_or_below_the_known_snr(snr_db, margin_db, cqi):
    entry = select_cqi(snr_db, margin_db)
    assert (entry.cqi if entry else None) == cqi
