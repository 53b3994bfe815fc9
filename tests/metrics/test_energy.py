"""Energy in summary.json against closed forms: FedAvg with two users over fixed-rate
aggregator links, on dedicated links and on a cell (broadcast down, OFDMA up)."""

from __future__ import annotations

import json

import pytest

from semnet.metrics.energy import node_energy
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.sim.ledger import UsageLedger

ROUNDS, STEPS, BATCH = 2, 2, 8
RATE_BPS, LAT_S, SPEED = 1e7, 0.01, 100.0
J_SAMPLE, J_SAMPLE_1 = 0.01, 0.03
TX_W, RX_W, IDLE_W = 0.5, 0.2, 0.05
AGG_TX_W, AGG_RX_W = 2.0, 1.0


def two_users(links: dict | None = None) -> dict:
    return {
        "name": "energy",
        "seed": 1,
        "topology": {"kind": "complete", "num_users": 2},
        "links": {"snr_db": 10.0, **(links or {}),
                  "aggregator": {"snr_db": 10.0, "latency_s": LAT_S, "rate": {"mode": "fixed", "rate_bps": RATE_BPS}}},
        "data": {"source": "embedded", "partition": {"kind": "iid"}, "train_per_user": 32, "test_per_user": 4,
                 "validation_per_user": 0},
        "model": {"name": "deep_jscc", "latent_channels": 4, "width": 0.25},
        "method": {"name": "fedavg", "federated": {"rounds": ROUNDS, "local": {"steps": STEPS, "batch_size": BATCH}}},
        "simulation": {"device": "cpu", "compute": {"samples_per_s": SPEED, "joules_per_sample": J_SAMPLE,
                                                    "per_node_joules_per_sample": {1: J_SAMPLE_1}},
                       "energy": {"tx_power_w": TX_W, "rx_power_w": RX_W, "idle_power_w": IDLE_W,
                                  "aggregator": {"tx_power_w": AGG_TX_W, "rx_power_w": AGG_RX_W}}},
        "output": {"progress": False, "checkpoints": False},
    }


def run(tmp_path, links=None) -> dict:
    result = run_scenario(validate(two_users(links)), out_dir=tmp_path / "run")
    return json.loads((result.path / "summary.json").read_text())


def model_bits(summary) -> int:
    return 8 * (summary["model"]["encoder_bytes"] + summary["model"]["decoder_bytes"])  # float32 both ways


def test_fedavg_energy_on_dedicated_links(tmp_path):
    s = run(tmp_path)
    b = model_bits(s)
    airtime = b / RATE_BPS
    samples = STEPS * BATCH
    # a round: download, local training, upload (links in parallel, FIFO per link); then
    # the closing broadcast of the final global model (one more download each)
    round_s = airtime + LAT_S + samples / SPEED + airtime + LAT_S
    span = ROUNDS * round_s + airtime + LAT_S
    assert s["sim_time_s"] == pytest.approx(span, rel=1e-12)
    energy = s["energy"]
    for user, jps in ((0, J_SAMPLE), (1, J_SAMPLE_1)):
        node = energy["nodes"][str(user)]
        assert node["samples"] == ROUNDS * samples
        assert node["compute_j"] == pytest.approx(ROUNDS * samples * jps, rel=1e-9)
        assert node["tx_j"] == pytest.approx(ROUNDS * airtime * TX_W, rel=1e-9)
        assert node["rx_j"] == pytest.approx((ROUNDS + 1) * airtime * RX_W, rel=1e-9)
        assert node["idle_j"] == pytest.approx((span - (2 * ROUNDS + 1) * airtime) * IDLE_W, rel=1e-9)
    server = energy["nodes"]["server"]
    assert server["tx_j"] == pytest.approx(2 * (ROUNDS + 1) * airtime * AGG_TX_W, rel=1e-9)
    assert server["rx_j"] == pytest.approx(2 * ROUNDS * airtime * AGG_RX_W, rel=1e-9)
    assert server["idle_j"] == 0.0 and server["compute_j"] == 0.0
    users = sum(energy["nodes"][u]["total_j"] for u in ("0", "1"))
    assert energy["users_j"] == pytest.approx(users, rel=1e-9)
    assert energy["total_j"] == pytest.approx(users + server["total_j"], rel=1e-9)
    [phase] = s["phases"]
    assert energy["phases"][phase["name"]]["total_j"] == pytest.approx(energy["total_j"], rel=1e-9)
    assert energy["branches"]["main"]["total_j"] == energy["total_j"]


def test_fedavg_energy_on_a_cell_broadcast_down_ofdma_up(tmp_path):
    s = run(tmp_path, {"medium": "cell", "scheduler": "ofdma", "downlink": "broadcast"})
    b = model_bits(s)
    airtime = b / RATE_BPS
    samples = STEPS * BATCH
    # one broadcast to both, then both uploads share the band: each ends at 2 b / R; the
    # final model's closing broadcast, once
    round_s = airtime + LAT_S + samples / SPEED + 2 * airtime + LAT_S
    assert s["sim_time_s"] == pytest.approx(ROUNDS * round_s + airtime + LAT_S, rel=1e-12)
    energy = s["energy"]
    for user in ("0", "1"):
        node = energy["nodes"][user]
        assert node["tx_s"] == pytest.approx(ROUNDS * 2 * airtime, rel=1e-9)  # on half the band for twice as long
        assert node["rx_s"] == pytest.approx((ROUNDS + 1) * airtime, rel=1e-9)
    server = energy["nodes"]["server"]
    assert server["tx_s"] == pytest.approx((ROUNDS + 1) * airtime, rel=1e-9)  # each broadcast is sent once
    assert server["rx_s"] == pytest.approx(ROUNDS * 4 * airtime, rel=1e-9)  # two receptions of 2 b / R at once
    assert s["network"]["medium"]["kind"] == "cell"


def test_no_energy_section_unless_configured(tmp_path):
    raw = two_users()
    del raw["simulation"]["energy"]
    raw["simulation"]["compute"] = {"samples_per_s": SPEED}
    result = run_scenario(validate(raw), out_dir=tmp_path / "run")
    summary = json.loads((result.path / "summary.json").read_text())
    assert "energy" not in summary and "medium" not in summary["network"]


def test_node_energy_idle_is_what_the_radio_does_not_use():
    e = node_energy(1.0, 2.0, 10, 5.0, joules_per_sample=0.1, tx_power_w=1.0, rx_power_w=0.5, idle_power_w=0.2)
    assert e.as_dict() == pytest.approx({"total_j": 1.0 + 1.0 + 1.0 + 0.4, "compute_j": 1.0, "tx_j": 1.0,
                                         "rx_j": 1.0, "idle_j": 0.4})
    # receptions at once may exceed the phase: no negative idle time
    assert node_energy(0.0, 9.0, 0, 5.0, joules_per_sample=0, tx_power_w=0, rx_power_w=0,
                       idle_power_w=1.0).as_dict()["idle_j"] == 0.0


def test_ledger_keys_by_branch_and_phase():
    ledger = UsageLedger()
    ledger.radio({"branch": "main", "phase": "a"}, 0, 1, 1.0, 1.0)
    ledger.compute({"branch": "control_x", "phase": "x"}, 0, 5)
    assert ledger.rows == {("main", "a"): {0: [1.0, 0.0, 0], 1: [0.0, 1.0, 0]}, ("control_x", "x"): {0: [0.0, 0.0, 5]}}


def test_the_terminal_report_shows_medium_and_energy(tmp_path):
    from semnet.cli.report import format_summary

    text = format_summary(run(tmp_path, {"medium": "cell", "scheduler": "tdma"}))
    assert "medium: cell (scheduler tdma, downlink broadcast)" in text
    line = next(x for x in text.splitlines() if x.startswith("energy by the method:"))
    assert "users" in line and "compute" in line and "idle" in line
