"""The emulated network: users, the aggregator, and every directed link's parameters.

``build_network`` turns the topology and links sections of a scenario into a
``Network``. Physical links exist in both directions of every graph edge and of
every transmit relation (radios talk both ways; model messages may flow against
the image direction), plus an uplink and a downlink between each user and the
aggregator node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import networkx as nx
import numpy as np

from semnet.errors import ScenarioError
from semnet.net.cells import CellLayout, attach_strongest
from semnet.net.pathloss import PathLoss, make_path_loss
from semnet.net.interference_gains import CrossGains, InterferenceSettings, assign_bands, pair_of
from semnet.net.largescale import LargeScale
from semnet.net.link_kinds import ChannelKind, channel_kinds
from semnet.net.link_params import CsmaSettings, LinkParams, MediumSettings  # noqa: F401 - CsmaSettings, LinkParams: their old home
from semnet.net.mobility import make_mobility
from semnet.net.power_control import controlled_powers_dbm
from semnet.channels.processes.timevarying import ChannelProcess
from semnet.net.topology import build_graph, distance_m, transmit_graph
from semnet.registry import mobilities, path_losses, time_correlations
from semnet.seeding import numpy_rng

AGGREGATOR = "server"


@dataclass
class Network:
    """Users (ints ``0..n-1``), the aggregator (``"server"``) and all directed links."""

    graph: nx.Graph
    transmit: nx.DiGraph
    links: dict[tuple, LinkParams]
    aggregator: str = AGGREGATOR
    users: list[int] = field(default_factory=list)
    # the channel over time (mobility, path loss and shadowing at t, time-correlated
    # fading); None when none of that is configured: every link keeps today's fixed SNR
    # and independent blocks
    channel: ChannelProcess | None = None
    medium: MediumSettings = MediumSettings()
    # every link's fading model and CSI: the default (links.fading, links.csi) and the
    # user-to-user links whose links.overrides give them another; None: AWGN with CSI
    default_kind: ChannelKind | None = None
    link_kinds: dict[tuple, ChannelKind] = field(default_factory=dict)
    # concurrent transmissions in one band (links.interference); model none: noise only
    interference: InterferenceSettings = InterferenceSettings()
    cross_gains: CrossGains | None = None  # P_rx / N between any two nodes (interference on only)
    # links.cells: the base stations of a cell medium and each user's serving one; None: one
    # cell at the aggregator (semnet.net.cells)
    cells: CellLayout | None = None
    # links.power_control: each user's derived transmit power (dBm); None without it
    controlled_tx_power_dbm: dict | None = None

    def channel_kind(self, src, dst) -> ChannelKind | None:
        """The fading model and CSI of link ``src -> dst`` (images and model packets)."""
        return self.link_kinds.get((src, dst), self.default_kind)

    def receivers(self, user: int) -> list[int]:
        """out(i): the users that ``user`` sends images to."""
        return sorted(self.transmit.successors(user))

    def transmitters(self, user: int) -> list[int]:
        """in(j): the users that send images to ``user``."""
        return sorted(self.transmit.predecessors(user))

    def image_links(self) -> list[tuple[int, int]]:
        """Every transmit relation i -> j, sorted."""
        return sorted(self.transmit.edges())

    def link(self, src, dst) -> LinkParams:
        try:
            return self.links[(src, dst)]
        except KeyError:
            raise KeyError(f"no link {src} -> {dst} in the network") from None

    def traffic_weight(self, src: int, dst: int) -> float:
        return float(self.transmit.edges[src, dst].get("weight", 1.0))

    def snr_samples_db(self, src, dst) -> list[float]:
        """The large-scale SNRs (dB) link ``src -> dst`` meets: on a channel whose users
        move, its SNR at each comparison state (the times every method is scored at),
        so that training covers the spread of a moving link; otherwise its one SNR."""
        params = self.link(src, dst)
        process = self.channel
        if process is None or process.large.static:
            return [params.snr_db]
        return [round(float(v), 6) for v in process.comparison_snr_db((src, dst))]


def build_network(topology, links, seed: int) -> Network:
    """Build a ``Network`` from a scenario's ``topology`` and ``links`` sections."""
    graph_seed = topology.seed if topology.seed is not None else seed
    graph = build_graph(topology, seed=graph_seed)  # the builder registered for topology.kind
    tx = transmit_graph(
        graph,
        directed_edges=topology.transmit_edges if topology.transmit == "explicit" else None,
        traffic=topology.traffic if topology.transmit == "traffic" else None,
    )
    if tx.number_of_edges() == 0:
        if topology.transmit == "traffic":
            raise ScenarioError("topology.traffic: every weight is 0, so no user sends images; give some i->j a weight > 0")
        if topology.kind == "random_geometric":
            detail = f"radius_m = {topology.radius_m} in area_m = {topology.area_m}"
        elif topology.kind == "erdos_renyi":
            detail = f"p = {topology.p}"
        else:
            detail = f"num_users = {topology.num_users}"
        raise ScenarioError(
            f"topology: the '{topology.kind}' graph with {topology.num_users} users has no links ({detail}); "
            "raise num_users, radius_m or p, or list edges"
        )
    overrides = {(o.src, o.dst): o.snr_db + links.snr_offset_db for o in links.overrides if o.snr_db is not None}
    for (src, dst) in {(o.src, o.dst) for o in links.overrides}:
        if not (graph.has_edge(src, dst) or tx.has_edge(src, dst)):
            raise ScenarioError(f"links.overrides: {src} -> {dst} is not a link of the topology")

    if links.channel.doppler_speed == "trajectory" and time_correlations.get(links.channel.time_correlation).memoryless:
        raise ScenarioError(
            f"links.channel.doppler_speed = 'trajectory': applies to a time correlation with memory, but "
            f"links.channel.time_correlation = {links.channel.time_correlation!r} draws every block afresh; "
            "allowed here: doppler_speed mean, or time_correlation gauss_markov, jakes or a plugin's"
        )
    pairs = set()
    for u, v in list(graph.edges()) + list(tx.edges()):
        pairs.add((u, v))
        pairs.add((v, u))
    table: dict[tuple, LinkParams] = {}
    default, kinds = channel_kinds(links)  # one model per fading name, shared by its links
    law = make_path_loss(links.path_loss, links.channel.carrier_hz)
    area = topology.area_m
    center = topology.aggregator_position_m or _centroid(graph, area)
    cells = _cell_layout(topology, links, graph, law)
    uplink_m = _uplink_distances_m(graph, center, cells)
    controlled = None
    if links.power_control is not None:  # the derived powers take node_tx_power_dbm's place everywhere below
        controlled = controlled_powers_dbm(links, uplink_m, _path_snr_db(law))
        links = links.model_copy(update={"node_tx_power_dbm": controlled})
    for src, dst in sorted(pairs):
        dist = distance_m(graph, src, dst)
        snr = overrides.get((src, dst))
        if snr is None:
            snr = _snr_db(links, dist, law) + power_offset_db(links, src)
        kind = kinds.get((src, dst), default)
        table[(src, dst)] = _link(src, dst, snr, dist, links.bandwidth_hz, links.latency_s, links.rate, links, kind)

    agg = links.aggregator
    for user in graph.nodes:
        latency = agg.latency_s if cells is None else agg.latency_s + cells.backhaul_latency_s
        dist = uplink_m[user]
        for src, dst in ((user, AGGREGATOR), (AGGREGATOR, user)):
            snr = agg.snr_db if agg.snr_db is not None else _snr_db(links, dist, law) + power_offset_db(links, src)
            table[(src, dst)] = _link(src, dst, snr, dist, agg.bandwidth_hz, latency, agg.rate, links, default)
    graph.graph["aggregator_pos_m"] = tuple(center)
    channel = None
    if time_varying(topology, links):
        station = center if cells is None else cells.positions_m[0]  # (several cells are refused here)
        channel = _channel_process(topology, links, graph, table, station, default, kinds, seed)
        # a link's SNR as the methods know it: its mean large-scale SNR over the comparison grid
        table = {key: replace(p, snr_db=round(channel.mean_snr_db(key), 6)) for key, p in table.items()}
    medium = MediumSettings.of(links)
    if (medium.kind == "cell" and medium.downlink == "broadcast" and channel is not None
            and agg.rate.mode == "shannon"):
        raise ScenarioError(
            "links.downlink = 'broadcast': a broadcast of Shannon-rate packets on a channel over time is not "
            f"modelled (links.aggregator.rate.mode = 'shannon'; the channel changes over time: "
            f"{time_varying_cause(topology, links)}); allowed here: links.downlink unicast, or a fixed aggregator rate"
        )
    network = Network(graph=graph, transmit=tx, links=table, users=sorted(graph.nodes), channel=channel,
                      medium=medium, default_kind=default, link_kinds=kinds, cells=cells,
                      controlled_tx_power_dbm=controlled)
    if links.interference.model != "none":
        network.interference = interference_settings(network, links, law)
    return network


def _uplink_distances_m(graph, center, cells: CellLayout | None) -> dict:
    """user -> distance (m) to its base station: the aggregator, or with links.cells its serving station."""
    out = {}
    for user in graph.nodes:
        x, y = graph.nodes[user]["pos_m"]
        bs = center if cells is None else cells.positions_m[cells.cell_of(user)]
        out[user] = ((x - bs[0]) ** 2 + (y - bs[1]) ** 2) ** 0.5
    return out


def power_offset_db(links, node) -> float:
    """How much stronger than ``links.path_loss.tx_power_dbm`` node ``node`` transmits (dB)."""
    power = links.node_tx_power_dbm.get(node) if isinstance(node, int) else None
    return 0.0 if power is None else power - links.path_loss.tx_power_dbm


def _path_snr_db(law: PathLoss):
    """``(distance_m, to_aggregator) -> SNR in dB`` of ``law`` without the clip; a pair that
    is no link takes its law's LOS state at a median draw."""
    los_u = np.array([0.5])

    def path_snr_db(dist_m: float, to_aggregator: bool) -> float:
        d = np.array([dist_m])
        return float(np.asarray(law.snr_db(d, los=law.line_of_sight(d, los_u), to_aggregator=np.array([to_aggregator])
                                           )).reshape(-1)[0])

    def many(dist_m: np.ndarray, to_aggregator: np.ndarray) -> np.ndarray:
        """The same for arrays: numpy's element-wise arithmetic gives each element the bits
        of a one-element call (tests/net/test_interference_gains_many.py)."""
        los = law.line_of_sight(dist_m, np.full(dist_m.shape, 0.5))
        return np.asarray(law.snr_db(dist_m, los=los, to_aggregator=to_aggregator), dtype=float).reshape(-1)

    path_snr_db.many = many
    return path_snr_db


def _cell_layout(topology, links, graph, law: PathLoss) -> CellLayout | None:
    """``links.cells`` as a :class:`~semnet.net.cells.CellLayout`, users attached (None without it)."""
    spec = links.cells
    if spec is None or links.medium != "cell":
        return None
    if len(spec.positions_m) > 1 and time_varying(topology, links):
        raise ScenarioError(
            f"links.cells: several base stations on a channel over time are not modelled (no handover; the "
            f"channel changes over time: {time_varying_cause(topology, links)}); allowed here: one position, "
            "or a static channel")
    path_snr_db = _path_snr_db(law)
    positions = {u: tuple(graph.nodes[u]["pos_m"]) for u in graph.nodes}
    serving = attach_strongest(positions, spec.positions_m, lambda d: path_snr_db(d, True))
    bands = spec.bands if spec.bands is not None else tuple(c % spec.reuse for c in range(len(spec.positions_m)))
    return CellLayout(positions_m=tuple(tuple(p) for p in spec.positions_m), bands=tuple(bands), reuse=spec.reuse,
                      serving=serving, backhaul_latency_s=spec.backhaul_latency_s)


def interference_settings(network: Network, links, law: PathLoss) -> InterferenceSettings:
    """``links.interference`` and the bands of ``network``'s node pairs (:mod:`semnet.net.interference_gains`);
    on a cell the user <-> aggregator links transmit between the users and their stations, in the cells'
    own bands (:meth:`~semnet.net.cells.CellLayout.air`)."""
    graph = network.graph
    positions = {u: tuple(graph.nodes[u]["pos_m"]) for u in graph.nodes}
    positions[AGGREGATOR] = tuple(graph.graph["aggregator_pos_m"])
    cells = None
    if network.medium.kind == "cell":
        cells = network.cells or CellLayout.single(graph.graph["aggregator_pos_m"])
        positions.update(cells.stations())
    fixed = None if links.snr_db is None else links.snr_db + links.snr_offset_db
    offsets = {node: power_offset_db(links, node) for node in links.node_tx_power_dbm}
    gains = CrossGains(network.links, positions, _path_snr_db(law), offsets, channel=network.channel,
                       fixed_snr_db=fixed, aggregator=AGGREGATOR,
                       stations=() if cells is None else tuple(cells.stations()))
    spec = links.interference
    pairs = [pair_of(s, d) for s, d in network.links if cells is None or AGGREGATOR not in (s, d)]
    bands = assign_bands(pairs, links.bands, links.band_assignment, gains)
    air = {} if cells is None else cells.air(network.users, AGGREGATOR, links.bands)
    settings = InterferenceSettings(model=spec.model, cutoff_db=spec.cutoff_db, bands=links.bands,
                                    band_assignment=links.band_assignment, band_of=bands, air_of=air)
    network.cross_gains = gains
    return settings


def time_varying(topology, links) -> bool:
    """Whether the scenario asks for the channel over time: moving users, a time-correlated
    fading process, shadowing, or a path loss that needs one (UMi). Otherwise the network is today's."""
    return time_varying_cause(topology, links) is not None


def time_varying_cause(topology, links) -> str | None:
    """The first setting that turns the channel over time on, as ``key = value``; None: none does."""
    ch = links.channel
    if not mobilities.get(topology.mobility.model).static:
        return f"topology.mobility.model = {topology.mobility.model!r}"
    if not time_correlations.get(ch.time_correlation).memoryless:
        return f"links.channel.time_correlation = {ch.time_correlation!r}"
    if ch.shadowing_std_db is not None and ch.shadowing_std_db > 0:
        return f"links.channel.shadowing_std_db = {ch.shadowing_std_db!r}"
    if not path_losses.get(links.path_loss.model).static_network:
        return f"links.path_loss.model = {links.path_loss.model!r}"
    return None


def _channel_process(topology, links, graph, table, center, default: ChannelKind, kinds: dict,
                     seed: int) -> ChannelProcess:
    ch = links.channel
    for fading in [default.model] + [kind.model for kind in kinds.values()]:
        if not time_correlations.get(ch.time_correlation).memoryless and fading.random and not fading.time_correlatable:
            raise ScenarioError(
                f"links.channel.time_correlation = {ch.time_correlation!r}: channel {fading.name!r} has no "
                "from_gaussian(g), so it cannot be correlated in time; allowed with it: independent"
            )
    users = sorted(graph.nodes)
    initial = np.array([graph.nodes[u]["pos_m"] for u in users], dtype=float).reshape(-1, 2)
    mobility = make_mobility(topology.mobility, initial, area_m=topology.area_m, rng=numpy_rng(seed, "mobility"))
    large = LargeScale(sorted(table, key=str), mobility=mobility, aggregator=AGGREGATOR, aggregator_pos_m=center,
                       links=links, carrier_hz=ch.carrier_hz, rng=numpy_rng(seed, "shadowing"))
    link_fading = {link: kind.model for link, kind in kinds.items() if kind.model is not default.model}
    return ChannelProcess.from_spec(large, default.model, ch, mobility.mean_speed_mps, link_fading=link_fading)


def _snr_db(links, dist_m: float, law: PathLoss) -> float:
    if links.snr_db is not None:
        snr = links.snr_db
    elif not law.static_network:
        return math.nan  # a channel over time: the link's SNR is its mean large-scale SNR, set later
    else:
        snr = float(law.snr_db(dist_m, los=True, to_aggregator=False))
        snr = min(max(snr, links.snr_min_db), links.snr_max_db)
    return float(snr + links.snr_offset_db)


def _link(src, dst, snr_db, dist_m, bandwidth_hz, latency_s, rate, links, kind: ChannelKind) -> LinkParams:
    return LinkParams(
        src=src,
        dst=dst,
        snr_db=round(float(snr_db), 6),
        distance_m=float(dist_m),
        bandwidth_hz=float(bandwidth_hz),
        latency_s=float(latency_s),
        fading=kind.fading,
        k_factor=float(links.k_factor),
        rate_mode=rate.mode,
        rate_bps=float(rate.rate_bps * rate.mac_efficiency),  # the payload's rate (links.rate.mac_efficiency)
        backoff=float(rate.backoff),
        packet_bits=int(rate.packet_bits),
        max_retries=int(rate.max_retries),
        fading_model=kind.model,
        mcs_margin_db=float(rate.mcs_margin_db),
        rate_floor_snr_db=-math.inf if rate.min_sinr_db is None else float(rate.min_sinr_db),
    )


def _centroid(graph: nx.Graph, area_m: float) -> tuple[float, float]:
    xs = [graph.nodes[n]["pos_m"][0] for n in graph.nodes]
    ys = [graph.nodes[n]["pos_m"][1] for n in graph.nodes]
    if not xs:
        return (area_m / 2, area_m / 2)
    return (sum(xs) / len(xs), sum(ys) / len(ys))
