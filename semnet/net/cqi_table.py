"""The practical rates of 5G NR: the 4-bit CQI table (the digital baseline's rates, and
the entries of the links' link adaptation, :mod:`semnet.net.mcs`).

Spectral efficiencies (information bits per complex channel use, i.e. per resource
element: modulation order x code rate) are those of **3GPP TS 38.214, Table
5.2.2.1-2** ("4-bit CQI Table", QPSK to 64QAM; the same entries as TS 36.213 Table
7.2.3-1 of LTE). The standard gives no SNR for them: decoding depends on the
receiver. The threshold of each entry is the SNR (dB) at which it reaches 10 % block
error rate on a SISO AWGN link in the link-level simulations of Kawser et al. (2012),
"Downlink SNR to CQI Mapping for Different Multiple Antenna Techniques in LTE",
International Journal of Information and Electronics Engineering 2(5), the mapping
most system-level studies use. semnet treats it as a hard threshold: an image sent
with entry ``c`` is decoded when the SNR it meets is at least ``c``'s threshold and
lost otherwise (a block error rate that steps from 0 to 1), which is the usual
abstraction of a well-designed code, not a link-level simulation.

Each threshold lies 2.8 to 6.1 dB above the SNR at which the Shannon capacity
``log2(1 + SNR)`` equals the entry's efficiency (the gap of practical codes at a
finite block length, largest for the dense constellations);
``tests/digital/test_cqi_table.py`` checks that gap against the closed form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["CQI_TABLE", "CqiEntry", "TABLE_NAME", "select_cqi"]

TABLE_NAME = "3GPP TS 38.214 Table 5.2.2.1-2 (4-bit CQI, up to 64QAM)"


@dataclass(frozen=True)
class CqiEntry:
    cqi: int
    modulation: str
    code_rate_x1024: int
    efficiency_bits: float  # information bits per complex channel use
    threshold_snr_db: float  # SISO AWGN SNR for 10 % BLER (Kawser et al. 2012)


# (CQI, modulation, code rate x 1024, efficiency): TS 38.214 Table 5.2.2.1-2; threshold: Kawser et al. 2012
CQI_TABLE: tuple[CqiEntry, ...] = tuple(CqiEntry(*row) for row in (
    (1, "QPSK", 78, 0.1523, -6.7),
    (2, "QPSK", 120, 0.2344, -4.7),
    (3, "QPSK", 193, 0.3770, -2.3),
    (4, "QPSK", 308, 0.6016, 0.2),
    (5, "QPSK", 449, 0.8770, 2.4),
    (6, "QPSK", 602, 1.1758, 4.3),
    (7, "16QAM", 378, 1.4766, 5.9),
    (8, "16QAM", 490, 1.9141, 8.1),
    (9, "16QAM", 616, 2.4063, 10.3),
    (10, "64QAM", 466, 2.7305, 11.7),
    (11, "64QAM", 567, 3.3223, 14.1),
    (12, "64QAM", 666, 3.9023, 16.3),
    (13, "64QAM", 772, 4.5234, 18.7),
    (14, "64QAM", 873, 5.1152, 21.0),
    (15, "64QAM", 948, 5.5547, 22.7),
))


def select_cqi(known_snr_db: float, margin_db: float = 0.0) -> CqiEntry | None:
    """The fastest entry whose threshold is at most ``known_snr_db - margin_db`` (the
    SNR the transmitter last learnt, less a back-off); None below the lowest entry
    (CQI 0, "out of range": nothing is sent)."""
    if not math.isfinite(known_snr_db):
        return None
    usable = [e for e in CQI_TABLE if e.threshold_snr_db <= known_snr_db - margin_db]
    return usable[-1] if usable else None
