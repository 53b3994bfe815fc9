"""``links.rate.mode: mcs`` and ``mcs_margin_db``: bad input is one line naming the key and
what is allowed; good keys reach every link (the default stays fixed, margin 0)."""

from __future__ import annotations

import pytest

from semnet.net.network import build_network
from semnet.scenario import validate
from tests.scenario.test_interference_keys import (
    test_bad_interference_keys_are_one_line as one_line_error,
)
from tests.scenario.test_medium_keys import _with

MCS = {"mode": "mcs"}


@pytest.mark.parametrize("keys, expected", [
    ({"links__rate": MCS, "links__medium": "cell"},
     "links.rate.mode = 'mcs': is modelled on media dedicated and node_radio, not cell; allowed here: fixed, shannon"),
    ({"links__aggregator": {"rate": MCS}, "links__medium": "cell"}, "links.aggregator.rate.mode = 'mcs': is modelled"),
    ({"links__rate": {"mode": "shannon", "mcs_margin_db": 2.0}},
     "links.rate.mcs_margin_db = 2.0: applies to mode mcs only (mode is shannon); allowed: 0"),
    ({"links__rate": {"mode": "mcs", "mcs_margin_db": 40.0}}, "links.rate.mcs_margin_db = 40.0"),
    ({"links__rate": {"mode": "cqi"}}, "links.rate.mode = 'cqi': Input should be 'fixed', 'shannon' or 'mcs'"),
])
def test_bad_mcs_keys_are_one_line(keys, expected, tmp_path, capsys):
    one_line_error(keys, expected, tmp_path, capsys)  # the error, and `semnet validate` prints it on one line


def test_mcs_reaches_every_link_and_is_off_by_default():
    plain = validate(_with())
    assert {p.rate_mode for p in build_network(plain.topology, plain.links, plain.seed).links.values()} == {"fixed"}
    scenario = validate(_with(links__rate={"mode": "mcs", "mcs_margin_db": 1.5}, links__medium="node_radio"))
    links = build_network(scenario.topology, scenario.links, scenario.seed).links
    users = [p for p in links.values() if "server" not in (p.src, p.dst)]
    assert users and all(p.rate_mode == "mcs" and p.mcs_margin_db == 1.5 for p in users)
    assert all(p.rate_mode == "fixed" for p in links.values() if "server" in (p.src, p.dst))  # its own rate section
