"""Link adaptation with the CQI table (``links.rate.mode: mcs``).

A model message on an ``mcs`` link is sent with one entry of the 4-bit CQI table of
5G NR (:mod:`semnet.net.cqi_table`: TS 38.214 spectral efficiencies, a 10 % BLER
SNR threshold per entry): the fastest entry whose threshold is at most the link's
*last known SINR* less ``mcs_margin_db``. The last known SINR is the large-scale SINR
realised on the link's previous message (its SNR over the noise plus the time-averaged
interference it met; the large-scale SNR for the link's first message), so link
adaptation lags a change of the channel by one message and does not track small-scale
fading. Below the lowest threshold the lowest entry (CQI 1) is still used: the message
goes out and its attempts fail as the channel decides, so the link learns again.

The message is cut into packets sent at ``R = efficiency * B``; an attempt fails when
the SINR it realises (its fading, and the interference over the intervals it overlaps,
taken as the SINR of equal mean capacity) is below the entry's threshold. Failed
packets are resent as in the Shannon mode (:mod:`semnet.net.rate`, :mod:`semnet.net.arq`,
:meth:`semnet.sim.interference.InterferenceBook.plan_packets`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from semnet.net.cqi_table import CQI_TABLE, select_cqi

__all__ = ["McsChoice", "choose_mcs"]


@dataclass(frozen=True, slots=True)
class McsChoice:
    """The CQI entry a message is sent with: its rate and the SINR an attempt needs."""

    cqi: int
    target_bps: float  # efficiency x bandwidth
    spectral: float  # bit/s/Hz (the entry's efficiency)
    threshold_linear: float  # SINR an attempt needs (linear)
    known_sinr_db: float  # what it was picked from

    @property
    def need_nats(self) -> float:
        """Mean capacity (nats per channel use) an attempt must reach: ``ln(1 + threshold)``."""
        return math.log1p(self.threshold_linear)


def choose_mcs(known_sinr_db: float, margin_db: float, bandwidth_hz: float) -> McsChoice:
    """The entry for a link whose last known SINR is ``known_sinr_db`` (module docstring)."""
    entry = select_cqi(known_sinr_db, margin_db) or CQI_TABLE[0]
    return McsChoice(entry.cqi, entry.efficiency_bits * bandwidth_hz, entry.efficiency_bits,
                     10.0 ** (entry.threshold_snr_db / 10.0), known_sinr_db)
