"""The interference book's pair gains computed as arrays (``CrossGains.linear_many``)
equal the scalar path (``CrossGains.linear``) to the bit, on every path-loss law, for
pairs that are links and pairs that are not, on static and moving networks."""

from __future__ import annotations

import numpy as np
import pytest

from semnet.net.network import AGGREGATOR, build_network
from semnet.scenario.links import CellsSpec, InterferenceSpec, PathLossSpec
from semnet.scenario.schema import ChannelSpec, LinksSpec, RateSpec
from semnet.scenario.topology import MobilitySpec, topology_spec


STATIONS = ((50.0, 50.0), (350.0, 350.0), (50.0, 350.0))


def network(model: str, moving: bool, variant: str = ""):
    mobility = MobilitySpec(model="random_waypoint", speed_mps=(1.0, 3.0)) if moving else MobilitySpec()
    topology = topology_spec(kind="random_geometric", num_users=30, area_m=400.0, radius_m=120.0, mobility=mobility)
    extra = {}
    if variant == "fixed_snr":  # every user pair at links.snr_db (plus the sender's offset)
        extra = {"snr_db": 12.0}
    elif variant == "cells":  # base stations: fixed nodes whose pairs take the aggregator side of the law
        extra = {"medium": "cell", "scheduler": "tdma", "cells": CellsSpec(positions_m=STATIONS, reuse=1)}
    links = LinksSpec(fading="rayleigh", rate=RateSpec(mode="shannon"), interference=InterferenceSpec(model="sinr"),
                      path_loss=PathLossSpec(model=model, exponent=3.5),
                      channel=ChannelSpec(time_correlation="gauss_markov", carrier_hz=2.4e9) if moving else ChannelSpec(),
                      node_tx_power_dbm={3: 26.0, 7: 11.0}, **extra)
    return build_network(topology, links, 0)


@pytest.mark.parametrize("model, moving, variant", [
    ("log_distance", False, ""), ("log_distance", True, ""), ("umi_street_canyon", False, ""),
    ("umi_street_canyon", True, ""), ("log_distance", False, "fixed_snr"), ("log_distance", False, "cells"),
])
def test_linear_many_gives_the_scalar_paths_bits(model, moving, variant):
    net = network(model, moving, variant)
    nodes = [*net.users, AGGREGATOR, *sorted(net.cross_gains.fixed_nodes - {AGGREGATOR}, key=str)]
    rng = np.random.default_rng(1)
    a = [nodes[i] for i in rng.integers(0, len(nodes), 600)]
    b = [nodes[i] for i in rng.integers(0, len(nodes), 600)]
    times = rng.uniform(0.0, 30.0, 600).tolist()
    keep = [i for i in range(600) if a[i] != b[i]]
    a, b, times = [a[i] for i in keep], [b[i] for i in keep], [times[i] for i in keep]
    many = net.cross_gains.linear_many(a, b, times)
    scalar_net = network(model, moving, variant)
    scalar = [scalar_net.cross_gains.linear(x, y, t) for x, y, t in zip(a, b, times)]
    assert many == scalar  # exact float equality, element by element
    assert any((x, y) in net.links for x, y in zip(a, b))  # links and non-links both met
    assert any((x, y) not in net.links for x, y in zip(a, b))
    if variant == "fixed_snr":  # 12 dB, moved by the senders' own powers (+6 dB for 3, -9 dB for 7)
        assert {round(10 * np.log10(v), 9) for v in many} >= {12.0, 18.0, 3.0}
    else:
        assert len(set(many)) > 100  # distinct pairs, distinct values (not one constant)
