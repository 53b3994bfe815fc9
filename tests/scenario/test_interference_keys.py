"""``links.interference``, ``links.bands`` and ``links.node_tx_power_dbm``: bad input is one
line naming the key and what is allowed; good keys reach the network (a user's power moves
its links' SNRs by the difference, bands are assigned, interference is off by default)."""

from __future__ import annotations

import pytest

from semnet.net.network import build_network
from semnet.scenario import validate
from tests.scenario.test_medium_keys import _with, refused_in_one_line


SINR = {"model": "sinr"}


@pytest.mark.parametrize("keys, expected", [
    ({"links__bands": 3}, "links.bands = 3: separates interfering transmissions: it needs interference.model sinr"),
    ({"links__interference": {"model": "sic"}}, "links.interference.model = 'sic'"),
    ({"links__interference": SINR, "links__medium": "cell"},
     "links.scheduler = None: shares the band in sub-bands or slots whose interference is not modelled (ofdma, the "
     "default); allowed with interference.model sinr on a cell: tdma"),
    ({"links__interference": SINR, "links__band_assignment": "random"}, "links.band_assignment = 'random'"),
    ({"links__interference": {"model": "sinr", "cutoff_db": 5}}, "links.interference.cutoff_db = 5"),
    ({"links__node_tx_power_dbm": {9: 20.0}}, "links.node_tx_power_dbm = 9: not a node; allowed 0..3"),
    ({"links__node_tx_power_dbm": {1: 99.0}},
     "links.node_tx_power_dbm[1] = 99.0: needs a user number >= 0 and a power in [-50, 60] dBm"),
    ({"links__interference": SINR, "traffic": {"images_per_s": 1.0, "queue": "images_first"}},
     "traffic.queue = 'images_first': moves model messages after they are booked"),
])
def test_bad_interference_keys_are_one_line(keys, expected, tmp_path, capsys):
    refused_in_one_line(_with(**keys), expected, tmp_path, capsys)


def _network(**keys):
    scenario = validate(_with(**keys))
    return build_network(scenario.topology, scenario.links, scenario.seed)


def test_interference_is_off_by_default_and_bands_reach_the_network():
    plain = _network()
    assert not plain.interference.enabled and plain.cross_gains is None
    net = _network(links__interference=SINR, links__bands=2)
    assert net.interference.enabled and net.interference.cutoff_db == -20.0
    pairs = sorted(net.interference.band_of, key=str)
    assert {net.interference.band(*p) for p in pairs} == {0, 1}
    assert all(net.interference.band(a, b) == net.interference.band(b, a) for a, b in net.links)


@pytest.mark.parametrize("moving", [False, True])
def test_a_users_transmit_power_moves_its_links_snr_by_the_difference(moving):
    extra = {"topology__mobility": {"model": "random_waypoint", "speed_mps": [1.0, 1.0]}} if moving else {}
    base = _network(links__snr_db=None, **extra)
    loud = _network(links__snr_db=None, links__node_tx_power_dbm={1: 26.0}, **extra)  # the law's 20 dBm + 6 dB
    for (src, dst), params in base.links.items():
        delta = 6.0 if src == 1 else 0.0
        assert loud.links[(src, dst)].snr_db == pytest.approx(params.snr_db + delta, abs=1e-5), (src, dst)
