"""Path loss: a link's mean SNR from its length, and the log-distance law.

A path-loss model is a :class:`PathLoss` registered in
:data:`semnet.registry.path_losses` under the name ``links.path_loss.model`` gives;
:func:`make_path_loss` builds one from that section. Built in: ``log_distance``
(:class:`LogDistance`, here) and ``umi_street_canyon`` (:mod:`semnet.net.umi`). A
plugin registers its own::

    from semnet.net.pathloss import PathLoss
    from semnet.registry import path_losses

    @path_losses.register("free_space", "Friis: 20 log10(d)")
    class FreeSpace(PathLoss):
        def __init__(self, tx_power_dbm: float = 20.0, noise_power_dbm: float = -90.0): ...
        def snr_db(self, distance_m, *, los, to_aggregator): ...

Its constructor's keyword arguments are read from ``links.path_loss`` by name (and
``carrier_hz`` from ``links.channel``).

Log-distance law:

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

from typing import ClassVar

import numpy as np

from semnet.net._checks import check_real
from semnet.registry import path_losses, signature_of

__all__ = ["LogDistance", "PathLoss", "make_path_loss", "snr_db_from_distance"]


class PathLoss:
    """A path-loss law: the mean SNR in dB of links from their lengths.

    Attributes
    ----------
    static_network : bool
        The law needs no channel over time: a network without mobility, shadowing or
        time correlation computes its SNRs once (log-distance). False makes every
        network that uses it a channel over time (a large-scale table; the default).
    shadowing : str
        The shadowing process (a name of :data:`semnet.registry.shadowings`).
    """

    static_network: ClassVar[bool] = False
    shadowing: ClassVar[str] = "gudmundson"

    def line_of_sight(self, distance_m: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Whether each link is in line of sight, from its length and a uniform draw ``u``
        (fixed per link); every link by default."""
        return np.ones(np.shape(distance_m), dtype=bool)

    def snr_db(self, distance_m, *, los, to_aggregator):
        """Mean SNR in dB of links of length ``distance_m`` (element-wise); ``los`` and
        ``to_aggregator`` (same shape, bool) say which are in line of sight and which
        have the aggregator at one end."""
        raise NotImplementedError(f"path loss {type(self).__qualname__} does not implement snr_db")

    def shadowing_std_db(self, los: np.ndarray) -> np.ndarray:
        """Standard deviation in dB of each link's shadowing when ``links.channel``
        gives none (0 by default)."""
        return np.full(np.shape(los), 0.0)


def make_path_loss(spec, carrier_hz: float) -> PathLoss:
    """The path-loss model ``spec.model`` names (``spec``: a ``links.path_loss``
    section), its constructor's arguments read from ``spec`` by name; ``carrier_hz``
    goes to one that takes it."""
    cls = path_losses.get(spec.model)
    kwargs = {name: getattr(spec, name) for name in signature_of(cls).accepted if hasattr(spec, name)}
    if "carrier_hz" in signature_of(cls).accepted:
        kwargs["carrier_hz"] = carrier_hz
    return cls(**kwargs)


@path_losses.register("log_distance", "log-distance (Rappaport): PL(d) = PL(d0) + 10 n log10(d / d0)")
class LogDistance(PathLoss):
    """Log-distance path loss (:func:`snr_db_from_distance`)."""

    static_network = True

    def __init__(self, tx_power_dbm: float = 20.0, exponent: float = 3.0, reference_distance_m: float = 1.0,
                 reference_loss_db: float = 40.0, noise_power_dbm: float = -90.0):
        self.tx_power_dbm = tx_power_dbm
        self.exponent = exponent
        self.reference_distance_m = reference_distance_m
        self.reference_loss_db = reference_loss_db
        self.noise_power_dbm = noise_power_dbm

    def snr_db(self, distance_m, *, los=None, to_aggregator=None):
        return snr_db_from_distance(
            distance_m, tx_power_dbm=self.tx_power_dbm, exponent=self.exponent,
            reference_distance_m=self.reference_distance_m, reference_loss_db=self.reference_loss_db,
            noise_power_dbm=self.noise_power_dbm)


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
