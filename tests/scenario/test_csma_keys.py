"""``links.csma``: bad input is one line naming the key and what is allowed; the keys reach
the network's medium settings (the threshold over the path-loss noise), off by default."""

from __future__ import annotations

import pytest

from semnet.net.network import build_network
from semnet.scenario import validate
from tests.scenario.test_medium_keys import _with, refused_in_one_line

SINR = {"model": "sinr"}
ON = {"enabled": True}


@pytest.mark.parametrize("keys, expected", [
    ({"links__csma": ON, "links__medium": "node_radio"},
     ("links.csma.enabled = True: senses the transmissions of the interference book: it needs medium node_radio "
      "(is node_radio) and interference.model sinr (is none); allowed otherwise: false")),
    ({"links__csma": ON, "links__interference": SINR},
     "needs medium node_radio (is dedicated) and interference.model sinr (is sinr)"),
    ({"links__csma": {"enabled": True, "cw_min": 31, "cw_max": 15}, "links__medium": "node_radio",
      "links__interference": SINR}, "links.csma.cw_max = 15: must be >= cw_min = 31"),
    ({"links__csma": {"slot_s": 0.0}}, "links.csma.slot_s = 0.0"),
    ({"links__csma": {"difs_s": -1e-6}}, "links.csma.difs_s = -1e-06"),
    ({"links__csma": {"cw_min": -1}}, "links.csma.cw_min = -1"),
    ({"links__csma": {"sense_threshold_dbm": "loud"}}, "links.csma.sense_threshold_dbm = 'loud'"),
    ({"links__csma": {"enabled": True, "backoff": "binary"}}, "links.csma.backoff"),
])
def test_bad_csma_keys_are_one_line(keys, expected, tmp_path, capsys):
    refused_in_one_line(_with(**keys), expected, tmp_path, capsys)


def _medium(**keys):
    scenario = validate(_with(**keys))
    return build_network(scenario.topology, scenario.links, scenario.seed).medium


def test_csma_is_off_by_default_and_its_keys_reach_the_medium():
    assert _medium().csma is None
    assert _medium(links__medium="node_radio", links__interference=SINR).csma is None
    csma = _medium(links__medium="node_radio", links__interference=SINR,
                   links__path_loss={"noise_power_dbm": -95.0},
                   links__csma={"enabled": True, "sense_threshold_dbm": -80.0, "cw_min": 7, "cw_max": 255,
                                "slot_s": 20e-6, "difs_s": 50e-6}).csma
    assert csma.sense_threshold_db == pytest.approx(15.0)
    assert (csma.cw_min, csma.cw_max, csma.slot_s, csma.difs_s) == (7, 255, 20e-6, 50e-6)
