"""What a directed link is and how the medium is shared: the parameters that
:func:`semnet.net.network.build_network` derives from a scenario's ``links`` section and
the simulator reads (:mod:`semnet.sim.link`, :mod:`semnet.sim.medium`, :mod:`semnet.sim.csma`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

from semnet.channels import FadingModel, make_fading

__all__ = ["CsmaSettings", "LinkParams", "MediumSettings", "csma_settings"]


@dataclass(frozen=True)
class LinkParams:
    """Parameters of one directed link ``src -> dst``.

    ``snr_db`` is the average SNR P/sigma^2 (unit mean symbol power); ``bandwidth_hz``
    is in complex symbols per second; ``rate_mode``/``rate_bps`` give the bit rate of
    model-exchange messages (fixed: the payload's, ``links.rate.rate_bps * mac_efficiency``).
    """

    src: int | str
    dst: int | str
    snr_db: float
    distance_m: float
    bandwidth_hz: float
    latency_s: float
    fading: str
    k_factor: float
    rate_mode: str
    rate_bps: float
    backoff: float
    packet_bits: int
    max_retries: int
    fading_model: FadingModel | None = None  # built from ``fading`` and the links' channel options
    mcs_margin_db: float = 0.0  # rate_mode "mcs": back-off of the known SINR (semnet.net.mcs)
    # shannon under interference: the rate is picked from an SINR of at least this (or the link's own
    # SNR where lower; links.rate.min_sinr_db): a sender drowned in interference keeps a usable
    # rate, as an MCS table keeps its lowest entry, instead of one whose messages last hours.
    # A link made by hand (tests, the API) has no floor unless given one
    rate_floor_snr_db: float = -math.inf

    def __post_init__(self):
        if self.fading_model is None:  # a link made by hand: its law from its name and K factor
            spec = SimpleNamespace(fading=self.fading, channel_options={}, k_factor=self.k_factor)
            object.__setattr__(self, "fading_model", make_fading(spec))


@dataclass(frozen=True)
class CsmaSettings:
    """``links.csma`` on ``node_radio`` (:mod:`semnet.sim.csma`); ``sense_threshold_db`` is
    ``sense_threshold_dbm`` over the noise power (the unit of the interference book)."""

    sense_threshold_db: float = 8.0
    slot_s: float = 9.0e-6
    difs_s: float = 34.0e-6
    cw_min: int = 15
    cw_max: int = 1023


@dataclass(frozen=True)
class MediumSettings:
    """Who shares airtime (``links.medium`` and its options; :mod:`semnet.sim.medium`).

    ``dedicated``: every directed link is its own pipe (the ideal reference);
    ``node_radio``: one half-duplex radio per node; ``cell``: the aggregator is a base
    station whose bands are shared by ``scheduler``, its identical downloads sent as one
    ``broadcast`` or as unicasts, users' device-to-device messages on their radios.
    ``slot_s`` and ``pf_window_s`` tune the proportional-fair scheduler.
    """

    kind: str = "dedicated"
    scheduler: str = "ofdma"
    downlink: str = "broadcast"
    slot_s: float = 1e-3
    pf_window_s: float = 0.1
    csma: CsmaSettings | None = None  # node_radio: carrier sensing (None: off)

    @classmethod
    def of(cls, links) -> "MediumSettings":
        """The settings of a ``links`` section, its nulls replaced by the defaults."""
        default = cls()
        return cls(
            kind=links.medium,
            scheduler=links.scheduler or default.scheduler,
            downlink=links.downlink or default.downlink,
            slot_s=links.slot_s or default.slot_s,
            pf_window_s=links.pf_window_s or default.pf_window_s,
            csma=csma_settings(links),
        )


def csma_settings(links) -> CsmaSettings | None:
    """``links.csma`` as settings, its threshold over the noise power (None: carrier sensing off)."""
    csma = getattr(links, "csma", None)
    if csma is None or not csma.enabled:
        return None
    return CsmaSettings(sense_threshold_db=csma.sense_threshold_dbm - links.path_loss.noise_power_dbm,
                        slot_s=csma.slot_s, difs_s=csma.difs_s, cw_min=csma.cw_min, cw_max=csma.cw_max)
