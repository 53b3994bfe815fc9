"""Log-distance path loss: average link SNR from the distance between two users.

``snr_db = tx_power_dbm - PL(d) - noise_power_dbm`` with
``PL(d) = reference_loss_db + 10 * exponent * log10(max(d, d0) / d0)``.
Distances below the reference distance ``d0`` are clipped to ``d0`` (the model
is not valid in the near field), so the SNR saturates there.

References
----------
.. [1] T. S. Rappaport, *Wireless Communications: Principles and Practice*,
   2nd ed., Prentice Hall, 2002, sec. 4.9.
"""

from __future__ import annotations

import numpy as np

from semnet.net._checks import check_real

__all__ = ["snr_db_from_distance"]


def snr_db_from_distance(
    distance_m,
    *,
    tx_power_dbm: float = 20.0,
    exponent: float = 3.0,
    reference_distance_m: float = 1.0,
    reference_loss_db: float = 40.0,
    noise_power_dbm: float = -90.0,
):
    """Average SNR in dB of a link of length ``distance_m`` under log-distance path loss.

    Parameters
    ----------
    distance_m : float or array_like
        Link length(s) in metres, ``>= 0``.
    tx_power_dbm : float, optional
        Transmit power in dBm (default 20 dBm = 100 mW).
    exponent : float, optional
        Path-loss exponent, ``> 0`` (2 free space, 3-4 urban).
    reference_distance_m : float, optional
        Reference distance ``d0`` in metres, ``> 0``.
    reference_loss_db : float, optional
        Path loss at ``d0`` in dB.
    noise_power_dbm : float, optional
        Noise power over the band in dBm.

    Returns
    -------
    float or numpy.ndarray
        SNR in dB, same shape as ``distance_m``; non-increasing in distance.

    Raises
    ------
    ScenarioError
        A model parameter is out of range.
    ValueError
        A distance is negative or not finite.

    Examples
    --------
    >>> float(snr_db_from_distance(1.0))  # 20 - 40 - (-90)
    70.0
    """
    tx_power_dbm = check_real("tx_power_dbm", tx_power_dbm)
    exponent = check_real("exponent", exponent, low=0.0, low_open=True)
    reference_distance_m = check_real("reference_distance_m", reference_distance_m, low=0.0, low_open=True)
    reference_loss_db = check_real("reference_loss_db", reference_loss_db)
    noise_power_dbm = check_real("noise_power_dbm", noise_power_dbm)
    distance = np.asarray(distance_m, dtype=float)
    if np.any(~np.isfinite(distance) | (distance < 0)):
        raise ValueError(f"distance_m must be finite and >= 0, got {distance_m!r}")
    ratio = np.maximum(distance, reference_distance_m) / reference_distance_m
    loss_db = reference_loss_db + 10.0 * exponent * np.log10(ratio)
    return (tx_power_dbm - loss_db - noise_power_dbm)[()]
