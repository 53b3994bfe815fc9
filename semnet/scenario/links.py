"""``links:`` — per-link channel, rate and latency parameters."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from semnet.scenario.base import SpecValueError, _Spec


class PathLossSpec(_Spec):
    """Path loss: SNR from transmit power, distance and noise power."""

    model: str = Field(
        "log_distance", description="log_distance (Rappaport) | umi_street_canyon (3GPP TR 38.901 V16.1.0 Table 7.4.1-1), "
        "or a plugin's path loss model (semnet list path_losses)"
    )
    tx_power_dbm: float = 20.0
    exponent: float = Field(3.0, gt=0, le=8, description="log_distance: path-loss exponent")
    reference_distance_m: float = Field(1.0, gt=0, description="log_distance: d0")
    reference_loss_db: float = Field(40.0, description="log_distance: loss at d0")
    noise_power_dbm: float = -90.0
    los: Literal["auto", "los", "nlos"] = Field("auto", description="umi_street_canyon: LOS state; auto draws it from Pr_LOS(d)")
    bs_height_m: float = Field(10.0, gt=1, le=100, description="umi_street_canyon: aggregator (base station) antenna height")
    ut_height_m: float = Field(1.5, ge=1.5, le=22.5, description="umi_street_canyon: user antenna height")


class ChannelSpec(_Spec):
    """The channel over time: Doppler, time correlation, shadowing, comparison states."""

    time_correlation: str = Field(
        "independent", description="small-scale fading across blocks: independent (today) | gauss_markov | jakes, "
        "or a plugin's (semnet list time_correlations)"
    )
    carrier_hz: float = Field(2.4e9, gt=0, le=300e9, description="carrier frequency (Doppler, UMi path loss)")
    speed_mps: float | None = Field(None, ge=0, le=500, description="Doppler speed; None: the mobility's mean speed")
    doppler_speed: Literal["mean", "trajectory"] = Field(
        "mean", description="mean: every user fades at one speed (speed_mps or the mobility's mean); "
        "trajectory: each user at its current speed on its trajectory, per mobility step"
    )
    gauss_markov_step_s: float = Field(1e-3, gt=0, description="gauss_markov: lag T of rho = J0(2 pi f_D T)")
    jakes_sinusoids: int = Field(16, ge=1, le=4096, description="jakes: number of sinusoids")
    shadowing_std_db: float | None = Field(None, ge=0, le=30, description="None: the path-loss model's (0; UMi 4/7.82)")
    shadowing_decorrelation_m: float = Field(20.0, gt=0, description="Gudmundson decorrelation distance")
    comparison_states: int = Field(64, ge=1, le=100_000, description="channel states every method is scored on")
    comparison_step_s: float = Field(1.0, gt=0, description="their spacing in time")

    @model_validator(mode="after")
    def _check_doppler(self) -> "ChannelSpec":
        if self.doppler_speed == "trajectory" and self.speed_mps is not None:
            raise SpecValueError(
                "speed_mps", self.speed_mps,
                "is one Doppler speed for every user, while doppler_speed = 'trajectory' takes each user's own "
                "speed from its trajectory; set speed_mps: null, or doppler_speed: mean",
            )
        return self


class RateSpec(_Spec):
    """Bit rate of model-exchange messages."""

    mode: Literal["fixed", "shannon", "mcs"] = Field(
        "fixed", description="fixed | shannon: backoff x Shannon rate at the SINR now | mcs: a 5G NR CQI entry "
        "picked from the link's last known SINR (docs/features/interference.md)")
    rate_bps: float = Field(10e6, gt=0, description="fixed: link bit rate")
    backoff: float = Field(0.5, gt=0, le=1, description="shannon: target rate / capacity at mean SNR")
    packet_bits: int = Field(12_000, ge=1, le=10**9, description="shannon: bits per fading block")
    max_retries: int = Field(4, ge=0, le=1000, description="shannon: retransmissions per packet before a message fails")
    # link adaptation (rate.mode mcs; packet_bits and max_retries as shannon's)
    mcs_margin_db: float = Field(0.0, ge=-10, le=30, description="mcs: the entry's threshold must lie this far below "
                                 "the last known SINR")
    min_sinr_db: float | None = Field(
        -10.0, ge=-100, le=60, description="shannon under interference: the rate is picked from an SINR of at least "
        "this (or the link's own SNR where lower), as an MCS table keeps its lowest entry; null: no floor (a sender "
        "drowned in interference picks a rate whose messages may last hours)")
    # The share of a fixed PHY rate a MAC leaves to payload (headers, ACKs, inter-frame spaces,
    # backoff): 802.11a at 24 Mbit/s with 1,472-byte datagrams leaves about 0.72 (docs/features/ns3-crosscheck.md).
    mac_efficiency: float = Field(
        1.0, gt=0, le=1, description="fixed: payload bit rate / rate_bps (MAC and PHY overhead); 1: none")

    @model_validator(mode="after")
    def _check_mac_efficiency(self) -> "RateSpec":
        if self.mac_efficiency != 1.0 and self.mode != "fixed":
            raise SpecValueError("mac_efficiency", self.mac_efficiency,
                                 "applies to mode fixed only (shannon's overhead is its backoff, mcs's its table); "
                                 f"allowed with mode {self.mode}: 1.0")
        return self


class LinkOverride(_Spec):
    """One directed link's own settings (``links.overrides``): its SNR, fading model or
    CSI; what an override leaves out the link takes from ``links``. User-to-user links
    only: the aggregator's links keep ``links.fading`` and ``links.csi``."""

    src: int = Field(ge=0)
    dst: int = Field(ge=0)
    snr_db: float | None = Field(
        None, description="the link's average SNR before snr_offset_db (no clipping, no shadowing); null: links.snr_db "
        "or path loss")
    fading: str | None = Field(
        None, description="the link's fading model, any name links.fading accepts (images and model packets); "
        "null: links.fading")
    csi: bool | None = Field(None, description="whether the link's receiver knows h and equalises; null: links.csi")
    channel_options: dict[str, Any] | None = Field(
        None, description="with fading: options of its constructor (a plugin's); null: links.channel_options where "
        "fading names links.fading's channel, else none")

    def changes(self) -> bool:
        """Whether the override sets anything (an entry with src and dst only is a mistake)."""
        return self.snr_db is not None or self.fading is not None or self.csi is not None


SnrOverride = LinkOverride  # its name while overrides could set the SNR only


class AggregatorLinkSpec(_Spec):
    """Links between users and the aggregator (base station) node."""

    snr_db: float | None = Field(None, description="None: from path loss to aggregator_position_m")
    bandwidth_hz: float = Field(1e6, gt=0)
    latency_s: float = Field(0.005, ge=0)
    rate: RateSpec = RateSpec()


class InterferenceSpec(_Spec):
    """``links.interference``: whether concurrent transmissions in one band meet each
    other (SINR), and below what received power an interferer is ignored."""

    model: Literal["none", "sinr"] = Field(
        "none", description="none: every transmission meets noise only (today) | sinr: S / (N + sum I) over the "
        "transmitters active in the same band (dedicated, node_radio, and cell with scheduler tdma)")
    cutoff_db: float = Field(
        -20.0, ge=-100, le=0, description="sinr: an interferer whose large-scale received power is this far below "
        "the noise (I/N in dB) is ignored")


class CsmaSpec(_Spec):
    """``links.csma``: carrier sensing with binary exponential backoff on ``node_radio``
    (:mod:`semnet.sim.csma`); needs ``interference.model: sinr``."""

    enabled: bool = Field(False, description="off: radios take turns by an oracle (today); on: a sender defers "
                          "while it senses transmissions above sense_threshold_dbm, then backs off (CSMA/CA)")
    sense_threshold_dbm: float = Field(
        -82.0, ge=-150, le=30, description="a node defers while the power it senses from transmissions on the air "
        "in its band is above this (802.11 CCA preamble detection: -82 dBm)")
    slot_s: float = Field(9.0e-6, gt=0, le=1.0, description="backoff slot (802.11a/g/n OFDM: 9 us)")
    difs_s: float = Field(34.0e-6, ge=0, le=1.0, description="idle time sensed before counting down (802.11 OFDM: 34 us)")
    cw_min: int = Field(15, ge=0, le=65535, description="contention window after a success: backoff uniform in [0, cw] slots")
    cw_max: int = Field(1023, ge=0, le=65535, description="the window doubles (2 (cw + 1) - 1) after a failed message, up to this")

    @model_validator(mode="after")
    def _check_window(self) -> "CsmaSpec":
        if self.cw_max < self.cw_min:
            raise SpecValueError("cw_max", self.cw_max, f"must be >= cw_min = {self.cw_min}")
        return self


class CellsSpec(_Spec):
    """``links.cells``: several base stations (medium cell). Each user attaches to the one
    with the largest large-scale gain; cell ``c`` transmits in band ``bands[c]`` (default
    ``c mod reuse``), and with ``interference.model: sinr`` cells of one band interfere."""

    positions_m: tuple[tuple[float, float], ...] = Field(
        description="the base stations' positions (x, y) in metres, in the topology's coordinates")
    reuse: int = Field(1, ge=1, le=64, description="frequency reuse factor: orthogonal bands the cells are spread over")
    bands: tuple[int, ...] | None = Field(
        None, description="each cell's band in [0, reuse), one per position; null: cell c uses band c mod reuse")
    attach: Literal["strongest"] = Field(
        "strongest", description="strongest: each user is served by the base station it receives most strongly "
        "(path loss at its position at rest)")
    backhaul_latency_s: float = Field(
        0.0, ge=0, le=10, description="added to the latency of every user <-> aggregator link (base station to "
        "aggregator); 0: ideal backhaul")

    @model_validator(mode="after")
    def _check(self) -> "CellsSpec":
        if not self.positions_m:
            raise SpecValueError("positions_m", self.positions_m, "needs at least one [x, y] position")
        if len(set(self.positions_m)) != len(self.positions_m):
            raise SpecValueError("positions_m", [list(p) for p in self.positions_m],
                                 "has two base stations at one position; give distinct positions")
        if self.reuse > len(self.positions_m):
            raise SpecValueError("reuse", self.reuse,
                                 f"exceeds the number of cells ({len(self.positions_m)}); allowed: 1 to "
                                 f"{len(self.positions_m)}")
        if self.bands is not None:
            if len(self.bands) != len(self.positions_m):
                raise SpecValueError("bands", list(self.bands), f"needs one band per cell "
                                     f"({len(self.positions_m)} positions)")
            bad = [b for b in self.bands if not 0 <= b < self.reuse]
            if bad:
                raise SpecValueError("bands", list(self.bands), f"needs bands in [0, reuse = {self.reuse})")
        return self


class PowerControlSpec(_Spec):
    """``links.power_control``: open-loop fractional path-loss compensation of the users'
    transmit powers, as the LTE/NR uplink's (3GPP TS 36.213 5.1.1); :mod:`semnet.net.power_control`."""

    target_snr_db: float = Field(10.0, ge=-30, le=60, description="the uplink SNR at the serving receiver "
                                 "(aggregator or base station) that alpha 1 gives every uncapped user")
    alpha: float = Field(1.0, ge=0, le=1, description="fractional compensation of the path loss: 1 full, 0 none "
                         "(every user at path_loss.tx_power_dbm)")
    max_tx_power_dbm: float | None = Field(None, ge=-50, le=60, description="no user transmits above this; "
                                           "null: path_loss.tx_power_dbm")


class LinksSpec(_Spec):
    """Per-directed-link channel parameters shared by all links unless overridden."""

    snr_db: float | None = Field(None, description="one SNR for every link; None: path loss")
    snr_offset_db: float = Field(0.0, description="added to every user-to-user link SNR, overrides included (not the aggregator's)")
    snr_min_db: float = Field(-10.0, description="path-loss SNRs are clipped to [snr_min_db, snr_max_db]")
    snr_max_db: float = Field(30.0)
    path_loss: PathLossSpec = PathLossSpec()
    overrides: tuple[LinkOverride, ...] = ()
    fading: str = Field(
        "none",
        description="fading model: none (alias awgn) | rayleigh | rician, or a plugin's registered channel",
    )
    channel_options: dict[str, Any] = Field(
        default_factory=dict,
        description="options passed to a plugin channel's constructor (rician's K factor is k_factor)",
    )
    k_factor: float = Field(3.0, ge=0, description="rician: LOS/scatter power ratio (linear)")
    channel: ChannelSpec = ChannelSpec()
    csi: bool = Field(True, description="receiver knows h and equalises")
    bandwidth_hz: float = Field(1e6, gt=0, description="complex symbols per second")
    latency_s: float = Field(0.005, ge=0)
    rate: RateSpec = RateSpec()
    aggregator: AggregatorLinkSpec = AggregatorLinkSpec()
    medium: str = Field(
        "dedicated", description="who shares airtime: dedicated (every directed link its own pipe) | node_radio "
        "(one half-duplex radio per node) | cell (the aggregator's band shared by a scheduler; users' radios for D2D), "
        "or a plugin's (semnet list media)"
    )
    scheduler: str | None = Field(
        None, description="cell: how the band is shared: tdma | ofdma | proportional_fair, or a plugin's "
        "(semnet list schedulers); null: ofdma"
    )
    downlink: Literal["broadcast", "unicast"] | None = Field(
        None, description="cell: the aggregator's identical downloads as one broadcast or as unicasts; null: broadcast"
    )
    interference: InterferenceSpec = InterferenceSpec()
    csma: CsmaSpec = CsmaSpec()
    bands: int = Field(1, ge=1, le=64, description="orthogonal channels the links are spread over (interference "
                       "meets only transmissions in the same band); more than 1 needs interference.model sinr")
    band_assignment: Literal["fixed", "greedy"] = Field(
        "fixed", description="fixed: node pairs in sorted order take bands round-robin | greedy: each pair, strongest "
        "first, takes the band where the pairs already there reach it most weakly")
    node_tx_power_dbm: dict[int, float] = Field(
        default_factory=dict, description="a user's own transmit power (dBm); its links' SNRs move by its difference "
        "to path_loss.tx_power_dbm; users not listed transmit at path_loss.tx_power_dbm")
    power_control: PowerControlSpec | None = Field(
        None, description="derive every user's transmit power from its uplink path loss (open-loop fractional "
        "compensation); null: node_tx_power_dbm or path_loss.tx_power_dbm")
    cells: CellsSpec | None = Field(
        None, description="cell: several base stations (positions, reuse, attach); null: one cell at the aggregator")
    slot_s: float | None = Field(None, gt=0, le=10, description="proportional_fair: scheduling slot; null: 0.001")
    pf_window_s: float | None = Field(
        None, gt=0, le=1e6, description="proportional_fair: averaging window of the users' throughputs; null: 0.1"
    )

    @model_validator(mode="after")
    def _check(self) -> "LinksSpec":
        for i, override in enumerate(self.overrides):
            if not override.changes():
                raise SpecValueError(f"overrides[{i}]", override.model_dump(exclude_none=True),
                                     "changes nothing; give at least one of snr_db, fading, csi")
            if override.channel_options is not None and override.fading is None:
                raise SpecValueError(f"overrides[{i}].channel_options", override.channel_options,
                                     "needs the override's own fading (links.channel_options serve links.fading)")
        if self.snr_min_db > self.snr_max_db:
            raise SpecValueError("snr_min_db", self.snr_min_db, f"must be <= snr_max_db = {self.snr_max_db}")
        if self.interference.model == "none" and self.bands > 1:
            raise SpecValueError("bands", self.bands, "separates interfering transmissions: it needs "
                                 "interference.model sinr; allowed with interference none: 1")
        if self.interference.model != "none" and self.medium not in ("dedicated", "node_radio", "cell"):
            raise SpecValueError("interference.model", self.interference.model,
                                 f"is modelled on media dedicated, node_radio and cell, not {self.medium}; "
                                 "allowed here: none")
        if self.csma.enabled and (self.medium != "node_radio" or self.interference.model != "sinr"):
            raise SpecValueError("csma.enabled", True, "senses the transmissions of the interference book: it needs "
                                 f"medium node_radio (is {self.medium}) and interference.model sinr (is "
                                 f"{self.interference.model}); allowed otherwise: false")
        self._check_cells()
        for node, power in self.node_tx_power_dbm.items():
            if node < 0 or not -50.0 <= power <= 60.0:
                raise SpecValueError(f"node_tx_power_dbm.{node}", power,
                                     "needs a user number >= 0 and a power in [-50, 60] dBm")
        self._check_power_control()
        if self.medium != "cell":
            for key in ("scheduler", "downlink", "cells"):
                if getattr(self, key) is not None:
                    value = getattr(self, key)
                    raise SpecValueError(key, value.model_dump() if key == "cells" else value,
                                         f"applies to medium cell only (medium is {self.medium}); allowed: null")
        if self.scheduler != "proportional_fair":
            for key in ("slot_s", "pf_window_s"):
                if getattr(self, key) is not None:
                    raise SpecValueError(key, getattr(self, key),
                                         "applies to scheduler proportional_fair only; allowed: null")
        elif self.slot_s is not None and self.pf_window_s is not None and self.pf_window_s < self.slot_s:
            raise SpecValueError("pf_window_s", self.pf_window_s, f"must be >= slot_s = {self.slot_s}")
        return self

    @model_validator(mode="after")
    def _check_mcs(self) -> "LinksSpec":
        """Link adaptation (rate.mode mcs) books through the links' packet planners: not the cell's scheduler."""
        for where, rate in (("rate", self.rate), ("aggregator.rate", self.aggregator.rate)):
            if rate.mode == "mcs" and self.medium == "cell":
                raise SpecValueError(f"{where}.mode", rate.mode, "is modelled on media dedicated and node_radio, "
                                     "not cell; allowed here: fixed, shannon")
            if rate.mode != "mcs" and rate.mcs_margin_db != 0.0:
                raise SpecValueError(f"{where}.mcs_margin_db", rate.mcs_margin_db,
                                     f"applies to mode mcs only (mode is {rate.mode}); allowed: 0")
        return self

    def _check_power_control(self) -> None:
        """Power control sets every user's power from its path loss: nothing else may set it."""
        if self.power_control is None:
            return
        given = self.power_control.model_dump()
        if self.node_tx_power_dbm:
            raise SpecValueError("power_control", given, "sets every user's transmit power, but node_tx_power_dbm "
                                 f"also sets users {sorted(self.node_tx_power_dbm)}; allowed: one of the two")
        for key, snr in (("snr_db", self.snr_db), ("aggregator.snr_db", self.aggregator.snr_db)):
            if snr is not None:
                raise SpecValueError("power_control", given, f"compensates path loss, but {key} = {snr} fixes the "
                                     "SNRs; allowed: power_control null, or snr_db null (path loss)")

    def _check_cells(self) -> None:
        """A cell under interference (``interference.model: sinr``), and several cells: what is modelled."""
        if self.medium == "cell" and self.interference.model != "none":
            if (self.scheduler or "ofdma") != "tdma":
                raise SpecValueError("scheduler", self.scheduler, "shares the band in sub-bands or slots whose "
                                     f"interference is not modelled ({self.scheduler or 'ofdma, the default'}); "
                                     "allowed with interference.model sinr on a cell: tdma")
        if self.cells is not None and self.medium == "cell":
            for key in ("snr_db",):
                if getattr(self, key) is not None:
                    raise SpecValueError(key, getattr(self, key), "fixes every SNR, but links.cells attaches users "
                                         "by path loss; allowed with cells: null")
            if self.aggregator.snr_db is not None:
                raise SpecValueError("aggregator.snr_db", self.aggregator.snr_db, "fixes every SNR, but "
                                     "links.cells attaches users by path loss; allowed with cells: null")
