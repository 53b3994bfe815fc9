"""Network layer: topologies, the transmit relation, fading, path loss and rates.

Conventions: SI units inside (metres, seconds, hertz, bit/s, linear power
ratios); dB only in names ending ``_db``/``_dbm``. SNR is ``P / sigma^2`` with
unit mean symbol power and ``E|h|^2 = 1``. Nothing here imports torch.
"""

from semnet.net.fading import (
    FADING_KINDS,
    db_to_linear,
    ergodic_capacity_bps_hz,
    linear_to_db,
    outage_probability,
    rate_outage_probability,
    sample_gain,
    sample_power_gain,
)
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
    "FADING_KINDS",
    "TOPOLOGY_KINDS",
    "TransmissionOutcome",
    "build_topology",
    "complete",
    "db_to_linear",
    "distance_m",
    "erdos_renyi",
    "ergodic_capacity_bps_hz",
    "from_edges",
    "grid",
    "linear_to_db",
    "outage_probability",
    "plan_transmission",
    "random_geometric",
    "rate_outage_probability",
    "ring",
    "sample_gain",
    "sample_power_gain",
    "shannon_rate_bps",
    "small_world",
    "snr_db_from_distance",
    "star",
    "symbol_airtime_s",
    "transmit_graph",
]
