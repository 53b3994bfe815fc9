"""3GPP TR 38.901 UMi street canyon path loss and line-of-sight probability.

From 3GPP TR 38.901 V16.1.0 (2019-12), Table 7.4.1-1 (path loss, "UMi - Street
Canyon") and Table 7.4.2-1 (LOS probability); distances in metres, ``f_c`` in GHz:

- breakpoint ``d'_BP = 4 h'_BS h'_UT f_c / c`` with effective heights ``h' = h - 1 m``;
- LOS: ``PL1 = 32.4 + 21 log10(d_3D) + 20 log10(f_c)`` up to ``d'_BP``, then
  ``PL2 = 32.4 + 40 log10(d_3D) + 20 log10(f_c) - 9.5 log10(d'_BP^2 + (h_BS - h_UT)^2)``;
  shadow fading std 4 dB;
- NLOS: ``PL = max(PL_LOS, 35.3 log10(d_3D) + 22.4 + 21.3 log10(f_c) - 0.3 (h_UT - 1.5))``;
  shadow fading std 7.82 dB;
- ``Pr_LOS = 1`` for ``d_2D <= 18 m``, else ``18 / d_2D + exp(-d_2D / 36) (1 - 18 / d_2D)``.

The model is specified for ``10 m <= d_2D <= 5 km`` between a base station
(``h_BS = 10 m``) and a user (``1.5 m <= h_UT <= 22.5 m``): shorter distances are
clipped to 10 m. semnet also applies it to user-to-user links with both ends at the
user height, an extrapolation beyond the standard's validity.
"""

from __future__ import annotations

import numpy as np

from semnet.channels.processes.doppler import SPEED_OF_LIGHT_MPS
from semnet.net.pathloss import PathLoss
from semnet.registry import path_losses

__all__ = ["LOS_SHADOWING_STD_DB", "NLOS_SHADOWING_STD_DB", "UmiStreetCanyon", "umi_los_probability",
           "umi_path_loss_db"]

LOS_SHADOWING_STD_DB = 4.0
NLOS_SHADOWING_STD_DB = 7.82
_MIN_DISTANCE_M = 10.0


def umi_los_probability(distance_2d_m):
    """``Pr_LOS(d_2D)`` of UMi street canyon (Table 7.4.2-1), element-wise."""
    d = np.maximum(np.asarray(distance_2d_m, dtype=float), 1e-9)
    far = 18.0 / d + np.exp(-d / 36.0) * (1.0 - 18.0 / d)
    return np.where(d <= 18.0, 1.0, far)[()]


def umi_path_loss_db(distance_2d_m, *, carrier_hz: float, los, tx_height_m: float, rx_height_m: float):
    """Path loss in dB of UMi street canyon, element-wise over distances and ``los``.

    Parameters
    ----------
    distance_2d_m : float or array_like
        Ground distance in metres (clipped below at 10 m).
    carrier_hz : float
        Carrier frequency in Hz (the standard covers 0.5-100 GHz).
    los : bool or array_like of bool
        Line of sight (else NLOS, which is never below the LOS loss).
    tx_height_m, rx_height_m : float
        Antenna heights; the higher one plays the base station.
    """
    fc_ghz = carrier_hz / 1e9
    h_bs, h_ut = max(tx_height_m, rx_height_m), min(tx_height_m, rx_height_m)
    d2 = np.maximum(np.asarray(distance_2d_m, dtype=float), _MIN_DISTANCE_M)
    d3 = np.sqrt(d2 * d2 + (h_bs - h_ut) ** 2)
    d_bp = 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * carrier_hz / SPEED_OF_LIGHT_MPS
    log_fc = np.log10(fc_ghz)
    pl1 = 32.4 + 21.0 * np.log10(d3) + 20.0 * log_fc
    pl2 = 32.4 + 40.0 * np.log10(d3) + 20.0 * log_fc - 9.5 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2)
    pl_los = np.where(d2 <= d_bp, pl1, pl2)
    pl_nlos = np.maximum(pl_los, 35.3 * np.log10(d3) + 22.4 + 21.3 * log_fc - 0.3 * (h_ut - 1.5))
    return np.where(np.asarray(los, dtype=bool), pl_los, pl_nlos)[()]


@path_losses.register("umi_street_canyon", "3GPP TR 38.901 V16.1.0 UMi street canyon (Table 7.4.1-1), LOS drawn or fixed")
class UmiStreetCanyon(PathLoss):
    """UMi street canyon (module docstring): a link to the aggregator has the base station's
    height at one end, a user-to-user link the user height at both; ``los`` is ``auto``
    (drawn from ``Pr_LOS(d)``), ``los`` or ``nlos``; shadowing 4 dB LOS, 7.82 dB NLOS."""

    def __init__(self, carrier_hz: float, tx_power_dbm: float = 20.0, noise_power_dbm: float = -90.0,
                 los: str = "auto", bs_height_m: float = 10.0, ut_height_m: float = 1.5):
        self.carrier_hz = float(carrier_hz)
        self.tx_power_dbm = tx_power_dbm
        self.noise_power_dbm = noise_power_dbm
        self.los = los
        self.bs_height_m = bs_height_m
        self.ut_height_m = ut_height_m

    def line_of_sight(self, distance_m, u):
        if self.los == "auto":
            return u < umi_los_probability(distance_m)
        los = np.ones(np.shape(distance_m), dtype=bool)
        los[:] = self.los == "los"
        return los

    def snr_db(self, distance_m, *, los, to_aggregator):
        loss = np.empty(np.shape(distance_m))
        for agg in (False, True):
            sel = to_aggregator == agg
            if sel.any():
                tx_h = self.bs_height_m if agg else self.ut_height_m
                loss[sel] = umi_path_loss_db(distance_m[sel], carrier_hz=self.carrier_hz, los=los[sel],
                                             tx_height_m=tx_h, rx_height_m=self.ut_height_m)
        return self.tx_power_dbm - loss - self.noise_power_dbm

    def shadowing_std_db(self, los):
        return np.where(los, LOS_SHADOWING_STD_DB, NLOS_SHADOWING_STD_DB)
