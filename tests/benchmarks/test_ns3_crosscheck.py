"""benchmarks/ns3_crosscheck.py in its CI-sized form, where ns-3 imports (``pip install
semnet[ns3]``); skipped otherwise.

ns-3 is checked against 802.11a's timing in closed form (the calibrated MAC efficiency),
then semnet against ns-3: uncontended messages of 20 packets or more within 5% once
calibrated (and more than 20% off without the calibration, so the tolerance can fail);
the staggered contended messages complete in the same order in both, and with carrier
sensing (``links.csma``) their makespan is ns-3's within 10% (without it, 18% short).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("ns", reason="ns-3's Python bindings (pip install semnet[ns3])")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import ns3_crosscheck as cc

UNCONTENDED_TOLERANCE = 0.05  # first datagram without backoff, last ACK uncounted: ~3% at 20 packets
MAKESPAN_TOLERANCE = 0.10  # CSMA a message at a time vs 802.11 a datagram at a time: 3.6% measured
DCF_802_11A_24M = (8 * 1472 / 24e6) / (34e-6 + 7.5 * 9e-6 + 536e-6 + 16e-6 + 28e-6)
# payload airtime over DIFS + mean backoff (CWmin 15) + data frame (20 us + 129 symbols of 4 us for
# 1,536 bytes at 96 bits/symbol) + SIFS + ACK (20 us + 2 symbols): 490.67 us / 681.5 us = 0.720


@pytest.fixture(scope="module")
def result():
    return cc.crosscheck(cc.CI_CASES, cc.Radio(), seed=1)


def test_the_calibrated_mac_efficiency_is_802_11a_dcf_in_closed_form(result):
    assert result["mac_efficiency"] == pytest.approx(DCF_802_11A_24M, rel=0.015)
    assert cc.dcf_efficiency(24e6) == pytest.approx(DCF_802_11A_24M, rel=1e-12)


def _uncontended(result):
    rows = [row for row in result["rows"] if not row["case"].contended and row["send"].packets >= 20]
    assert len(rows) == 2  # 20 and 60 packets
    return rows


def test_uncontended_completion_times_agree_once_calibrated(result):
    for row in _uncontended(result):
        assert row["semnet_s"] / row["ns3_s"] == pytest.approx(1.0, abs=UNCONTENDED_TOLERANCE), row


def test_without_the_calibration_the_tolerance_fails():
    raw = cc.crosscheck(cc.CI_CASES[:1], cc.Radio(), seed=1, mac_efficiency=1.0)
    for row in _uncontended(raw):
        assert row["semnet_s"] / row["ns3_s"] < 1.0 - 4 * UNCONTENDED_TOLERANCE


def test_both_simulators_complete_the_staggered_contended_messages_in_one_order(result, capsys):
    (case,) = [case for case in cc.CI_CASES if case.contended]
    ns3 = cc.completion_order(result["rows"], case.name, "ns3_s")
    assert ns3 == [(0, 3), (1, 4), (2, 5)]
    assert cc.completion_order(result["rows"], case.name, "semnet_s") == ns3
    cc.print_table(result, cc.Radio())
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith(case.name) for line in lines) == len(case.sends)


def _makespan(case, ends_s):
    return max(send.t_s + end for send, end in zip(case.sends, ends_s)) - min(send.t_s for send in case.sends)


def test_with_carrier_sensing_the_contended_makespan_is_ns3s(result):
    (case,) = [case for case in cc.CI_CASES if case.contended]
    rows = [row for row in result["rows"] if row["case"] is case]
    assert result["csma"]
    ns3 = _makespan(case, [row["ns3_s"] for row in rows])
    assert _makespan(case, [row["semnet_s"] for row in rows]) / ns3 == pytest.approx(1.0, abs=MAKESPAN_TOLERANCE)
    deaf = cc.semnet_network(cc.Radio(), result["mac_efficiency"], csma=False, seed=1)
    ends = [end - send.t_s for send, end in zip(case.sends, cc.run_semnet(deaf, case.sends, 1))]
    assert _makespan(case, ends) / ns3 < 1.0 - MAKESPAN_TOLERANCE  # all three pairs on the air at once
