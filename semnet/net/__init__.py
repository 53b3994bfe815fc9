"""Network layer: topologies, the transmit relation, path loss, shadowing, mobility and rates.

The fading laws and the channel over time live in :mod:`semnet.channels`.

Conventions: SI units inside (metres, seconds, hertz, bit/s, linear power
ratios); dB only in names ending ``_db``/``_dbm``. SNR is ``P / sigma^2`` with
unit mean symbol power and ``E|h|^2 = 1``. Nothing here imports torch.
"""

from semnet.net.pathloss import snr_db_from_distance
from semnet.net.rate import TransmissionOutcome, plan_transmission, shannon_rate_bps, symbol_airtime_s
from semnet.net.topology import (
    TOPOLOGY_KINDS,
    build_topology,
    complete,
    distance_m,
    erdos_renyi,
    from_edges,
    grid,
    random_geometric,
    ring,
    small_world,
    star,
    transmit_graph,
)

__all__ = [
    "TOPOLOGY_KINDS",
    "TransmissionOutcome",
    "build_topology",
    "complete",
    "distance_m",
    "erdos_renyi",
    "from_edges",
    "grid",
    "plan_transmission",
    "random_geometric",
    "ring",
    "shannon_rate_bps",
    "small_world",
    "snr_db_from_distance",
    "star",
    "symbol_airtime_s",
    "transmit_graph",
]
