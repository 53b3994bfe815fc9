"""Open-loop fractional path-loss compensation of the users' transmit powers (``links.power_control``).

The LTE/NR uplink sets a user's power from the path loss ``PL`` it measures to its serving
receiver (3GPP TS 36.213 5.1.1, PUSCH): ``P = min(P_max, P0 + alpha * PL)``. Here ``P0`` is
given as the SNR wanted at that receiver: with the reference power ``P_ref``
(``path_loss.tx_power_dbm``), noise power ``N`` and ``SNR_ref = P_ref - PL - N`` (the law's
SNR at ``P_ref``, no clip, median LOS draw, no shadowing), a user transmits at

    P = min(P_max, P_ref + alpha * (target - SNR_ref))
      = min(P_max, P0 + alpha * PL)   with   P0 = (1 - alpha) * P_ref + alpha * (target + N).

With ``alpha = 1`` every uncapped user's uplink SNR is ``target``; with ``alpha < 1`` the
users' SNR spread in dB shrinks to ``(1 - alpha)`` of the spread at ``P_ref``. The powers
are derived once, from the starting positions, and reach the links as
``links.node_tx_power_dbm`` does (their SNRs and the interference they cause).
"""

from __future__ import annotations


def fractional_tx_power_dbm(snr_ref_db: float, target_snr_db: float, alpha: float, ref_power_dbm: float,
                            max_power_dbm: float) -> float:
    """One user's transmit power (dBm) from its uplink SNR at ``ref_power_dbm``."""
    return min(max_power_dbm, ref_power_dbm + alpha * (target_snr_db - snr_ref_db))


def controlled_powers_dbm(links, uplink_distance_m: dict, path_snr_db) -> dict[int, float]:
    """Every user's transmit power (dBm) under ``links.power_control``; ``uplink_distance_m``:
    user -> distance to its serving receiver; ``path_snr_db(distance_m, to_aggregator)``: the
    law's SNR at ``path_loss.tx_power_dbm`` without the clip."""
    spec = links.power_control
    ref = links.path_loss.tx_power_dbm
    cap = ref if spec.max_tx_power_dbm is None else spec.max_tx_power_dbm
    return {user: float(fractional_tx_power_dbm(path_snr_db(dist, True), spec.target_snr_db, spec.alpha, ref, cap))
            for user, dist in sorted(uplink_distance_m.items())}
