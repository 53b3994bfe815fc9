"""``links.power_control`` (open-loop fractional path-loss compensation, 3GPP TS 36.213 5.1.1)
against the hand formula: users at known distances under log-distance path loss, their
derived powers, their uplink SNRs, the cap, and the interference a user causes at its
derived power; bad input is one line."""

from __future__ import annotations

import json
import math

import pytest

from semnet.net.network import AGGREGATOR, build_network
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.sim import Message
from tests.scenario.test_medium_keys import _with, refused_in_one_line
from tests.sim.test_interference import lin, send, sim_of

# users 0..3 on a line at x = 0, 20, 40, 60 m; the aggregator at x = -30 m: uplinks of 30, 50, 70, 90 m
DIST_M = {0: 30.0, 1: 50.0, 2: 70.0, 3: 90.0}
LINE = {"topology__kind": "grid", "topology__rows": 1, "topology__cols": 4, "topology__spacing_m": 20.0,
        "topology__aggregator_position_m": [-30.0, 0.0], "links__snr_db": None,
        "links__snr_max_db": 60.0}  # no clip: the 20 m links are at 31 dB
P_REF_DBM = 20.0  # path_loss.tx_power_dbm (default)
N_DBM = -90.0  # path_loss.noise_power_dbm (default)


def pl_db(d_m: float) -> float:
    """Log-distance path loss with the defaults: 40 dB at 1 m, exponent 3."""
    return 40.0 + 30.0 * math.log10(d_m)


def snr_ref_db(d_m: float) -> float:
    return P_REF_DBM - pl_db(d_m) - N_DBM


def power_3gpp_dbm(d_m: float, target_db: float, alpha: float, p_max_dbm: float = P_REF_DBM) -> float:
    """TS 36.213's ``min(P_max, P0 + alpha PL)`` with P0 = (1 - alpha) P_ref + alpha (target + N)."""
    p0 = (1.0 - alpha) * P_REF_DBM + alpha * (target_db + N_DBM)
    return min(p_max_dbm, p0 + alpha * pl_db(d_m))


def _network(**keys):
    scenario = validate(_with(**LINE, **keys))
    return build_network(scenario.topology, scenario.links, scenario.seed)


def _uplinks_db(net) -> dict:
    return {u: net.links[(u, AGGREGATOR)].snr_db for u in net.users}


def test_full_compensation_brings_every_uplink_to_the_target():
    plain = _network()
    net = _network(links__power_control={"target_snr_db": 10.0, "alpha": 1.0})
    for u, d in DIST_M.items():
        assert net.controlled_tx_power_dbm[u] == pytest.approx(power_3gpp_dbm(d, 10.0, 1.0), abs=1e-9)
        assert net.controlled_tx_power_dbm[u] == pytest.approx(P_REF_DBM + 10.0 - snr_ref_db(d), abs=1e-9)
        assert net.links[(u, AGGREGATOR)].snr_db == pytest.approx(10.0, abs=1e-6)  # link SNRs hold 6 decimals
        # the downlink is the aggregator's, at the reference power; a user's D2D links move with its power
        assert net.links[(AGGREGATOR, u)].snr_db == pytest.approx(snr_ref_db(d), abs=1e-6)
        for v in net.receivers(u):
            shift = net.controlled_tx_power_dbm[u] - P_REF_DBM
            assert net.links[(u, v)].snr_db == pytest.approx(plain.links[(u, v)].snr_db + shift, abs=1e-6)
    assert plain.controlled_tx_power_dbm is None


def test_half_compensation_halves_the_snr_spread_in_db():
    plain = _uplinks_db(_network())
    half = _uplinks_db(_network(links__power_control={"target_snr_db": 10.0, "alpha": 0.5}))
    for u, d in DIST_M.items():
        assert half[u] == pytest.approx(snr_ref_db(d) + 0.5 * (10.0 - snr_ref_db(d)), abs=1e-6)
    def spread(snrs: dict) -> float:
        return max(snrs.values()) - min(snrs.values())

    assert spread(half) == pytest.approx(0.5 * spread(plain), abs=1e-5)
    assert spread(plain) == pytest.approx(snr_ref_db(30.0) - snr_ref_db(90.0), abs=1e-5)


def test_far_users_are_capped_at_the_maximum_power():
    net = _network(links__power_control={"target_snr_db": 20.0, "alpha": 1.0, "max_tx_power_dbm": 23.0})
    for u, d in DIST_M.items():
        wanted = P_REF_DBM + 20.0 - snr_ref_db(d)
        assert net.controlled_tx_power_dbm[u] == pytest.approx(min(23.0, wanted), abs=1e-9)
        uplink = net.links[(u, AGGREGATOR)].snr_db
        assert uplink == pytest.approx(20.0 if wanted <= 23.0 else snr_ref_db(d) + 3.0, abs=1e-6)
    assert [u for u, d in DIST_M.items() if P_REF_DBM + 20.0 - snr_ref_db(d) > 23.0] == [2, 3]  # 0 and 1 reach the target
    # alpha 0: no compensation, every user at the reference power: the network of no power control
    flat = _network(links__power_control={"target_snr_db": 20.0, "alpha": 0.0})
    assert set(flat.controlled_tx_power_dbm.values()) == {P_REF_DBM}
    assert {k: p.snr_db for k, p in flat.links.items()} == {k: p.snr_db for k, p in _network().links.items()}


def test_the_interference_a_user_causes_is_at_its_derived_power():
    # user 0 uploads to the aggregator while user 3 sends to user 2: 3 is 90 m from the aggregator
    net = _network(links__power_control={"target_snr_db": 10.0, "alpha": 0.5},
                   links__interference={"model": "sinr"})
    records: list[dict] = []
    sim = sim_of(net, records)
    send(sim, Message(3, 2, "m", 1_000_000), Message(0, AGGREGATOR, "m", 1_000_000))
    sim.finish()
    p0, p3 = power_3gpp_dbm(30.0, 10.0, 0.5), power_3gpp_dbm(90.0, 10.0, 0.5)
    signal_db = p0 - pl_db(30.0) - N_DBM
    interference_db = p3 - pl_db(90.0) - N_DBM
    closed = 10 * math.log10(lin(signal_db) / (1 + lin(interference_db)))
    [(sinr_db, _, interfered_s, _)] = sim.sinr_log[(0, AGGREGATOR)]
    assert interfered_s > 0
    assert sinr_db == pytest.approx(closed, abs=1e-5)
    # at the reference power the interferer would be 0.69 dB louder: the check tells the two apart
    at_ref = 10 * math.log10(lin(signal_db) / (1 + lin(snr_ref_db(90.0))))
    assert abs(closed - at_ref) > 0.3
    # user 1 hears user 0 (20 m) while 3 sends to 2: 3 -> 1 (40 m) is no link, its gain is the law's at 3's power
    records.clear()
    sim = sim_of(net, records)
    send(sim, Message(3, 2, "m", 1_000_000), Message(0, 1, "m", 1_000_000))
    sim.finish()
    signal_db = p0 - pl_db(20.0) - N_DBM
    interference_db = p3 - pl_db(40.0) - N_DBM
    [(sinr_db, _, interfered_s, _)] = sim.sinr_log[(0, 1)]
    assert interfered_s > 0
    assert sinr_db == pytest.approx(10 * math.log10(lin(signal_db) / (1 + lin(interference_db))), abs=1e-5)


def test_on_a_cell_each_user_compensates_the_path_to_its_serving_station():
    # stations at x = -30 and 90 m: users 0, 1 (30, 50 m) to the first, 2, 3 (50, 30 m) to the second
    stations = {"positions_m": [[-30.0, 0.0], [90.0, 0.0]]}
    net = _network(links__medium="cell", links__cells=stations,
                   links__power_control={"target_snr_db": 10.0, "alpha": 1.0})
    assert [net.cells.cell_of(u) for u in net.users] == [0, 0, 1, 1]
    for u, d in {0: 30.0, 1: 50.0, 2: 50.0, 3: 30.0}.items():
        assert net.controlled_tx_power_dbm[u] == pytest.approx(power_3gpp_dbm(d, 10.0, 1.0), abs=1e-9)
        assert net.links[(u, AGGREGATOR)].snr_db == pytest.approx(10.0, abs=1e-6)


def test_on_a_channel_over_time_the_derived_power_moves_every_link_it_sends_on():
    moving = {"topology__mobility": {"model": "random_waypoint", "speed_mps": [1.0, 1.0]}}
    base = _network(**moving)
    net = _network(links__power_control={"target_snr_db": 10.0, "alpha": 0.7}, **moving)
    assert net.channel is not None
    for (src, dst), params in base.links.items():
        shift = power_3gpp_dbm(DIST_M[src], 10.0, 0.7) - P_REF_DBM if src != AGGREGATOR else 0.0
        assert net.links[(src, dst)].snr_db == pytest.approx(params.snr_db + shift, abs=1e-5), (src, dst)


def test_the_summary_records_each_users_derived_power(tmp_path):
    control = {"target_snr_db": 10.0, "alpha": 0.5, "max_tx_power_dbm": 19.0}
    result = run_scenario(validate(_with(**LINE, links__power_control=control)), out_dir=tmp_path / "on")
    network = json.loads((result.path / "summary.json").read_text())["network"]
    recorded = network["power_control"]["tx_power_dbm"]
    assert recorded.keys() == {"0", "1", "2", "3"}
    for u, d in DIST_M.items():
        assert recorded[str(u)] == pytest.approx(power_3gpp_dbm(d, 10.0, 0.5, 19.0), abs=1e-4)
    assert recorded["3"] == 19.0  # 90 m: 19.31 dBm wanted, capped
    result = run_scenario(validate(_with(**LINE)), out_dir=tmp_path / "off")
    assert "power_control" not in json.loads((result.path / "summary.json").read_text())["network"]


@pytest.mark.parametrize("keys, expected", [
    ({"links__power_control": {"alpha": 1.5}}, "links.power_control.alpha = 1.5"),
    ({"links__power_control": {"max_tx_power_dbm": 99.0}}, "links.power_control.max_tx_power_dbm = 99.0"),
    ({"links__power_control": {"target_snr_db": 200.0}}, "links.power_control.target_snr_db = 200.0"),
    ({"links__power_control": {"alpha": 0.5, "p0": 1}}, "links.power_control.p0"),
    ({"links__power_control": {}, "links__node_tx_power_dbm": {1: 23.0}},
     "also sets users [1]; allowed: one of the two"),
    ({"links__power_control": {}, "links__snr_db": 10.0}, "but snr_db = 10.0 fixes the SNRs"),
    ({"links__power_control": {}, "links__aggregator": {"snr_db": 15.0}}, "but aggregator.snr_db = 15.0 fixes"),
])
def test_bad_power_control_is_one_line(keys, expected, tmp_path, capsys):
    raw = _with(**{**LINE, **keys})
    refused_in_one_line(raw, expected, tmp_path, capsys)
