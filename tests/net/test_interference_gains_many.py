"""The interference book's pair gains computed as arrays (``CrossGains.linear_many``)
equal the scalar path (``CrossGains.linear``) to the bit, on every path-loss law, for
pairs that are links and pairs that are not, on static and moving networks."""

from __future__ import annotations

import numpy as np
import pytest

from semnet.net.network import AGGREGATOR, build_network
from semnet.scenario.links import InterferenceSpec, PathLossSpec
from semnet.scenario.schema import ChannelSpec, LinksSpec, RateSpec
from semnet.scenario.topology import MobilitySpec, topology_spec


def network(model: str, moving: bool):
    mobility = MobilitySpec(model="random_waypoint", speed_mps=(1.0, 3.0)) if moving else MobilitySpec()
    topology = topology_spec(kind="random_geometric", num_users=30, area_m=400.0, radius_m=120.0, mobility=mobility)
    links = LinksSpec(fading="rayleigh", rate=RateSpec(mode="shannon"), interference=InterferenceSpec(model="sinr"),
                      path_loss=PathLossSpec(model=model, exponent=3.5),
                      channel=ChannelSpec(time_correlation="gauss_markov", carrier_hz=2.4e9) if moving else ChannelSpec(),
                      node_tx_power_dbm={3: 26.0, 7: 11.0})
    return build_network(topology, links, 0)


@pytest.mark.parametrize("model", ["log_distance", "umi_street_canyon"])
@pytest.mark.parametrize("moving", [False, True])
def test_linear_many_gives_the_scalar_paths_bits(model, moving):
    net = network(model, moving)
    nodes = [*net.users, AGGREGATOR]
    rng = np.random.default_rng(1)
    a = [nodes[i] for i in rng.integers(0, len(nodes), 600)]
    b = [nodes[i] for i in rng.integers(0, len(nodes), 600)]
    times = rng.uniform(0.0, 30.0, 600).tolist()
    keep = [i for i in range(600) if a[i] != b[i]]
    a, b, times = [a[i] for i in keep], [b[i] for i in keep], [times[i] for i in keep]
    many = net.cross_gains.linear_many(a, b, times)
    scalar_net = network(model, moving)
    scalar = [scalar_net.cross_gains.linear(x, y, t) for x, y, t in zip(a, b, times)]
    assert many == scalar  # exact float equality, element by element
    assert any((x, y) in net.links for x, y in zip(a, b))  # links and non-links both met
    assert any((x, y) not in net.links for x, y in zip(a, b))
    assert len(set(many)) > 100  # distinct pairs, distinct values (not one constant)
