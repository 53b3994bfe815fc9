"""The outcomes every reader shows (:mod:`semnet.outcomes`), checked on a real run with
live images and energy against its own per-image records and the energy's closed form;
then that the text after a run, the sweep table and the frames show those numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from semnet.analysis.frames import phases_frame, runs_frame
from semnet.cli.report import format_summary
from semnet.cli.sweep import format_table
from semnet.outcomes import branch_outcomes, phase_outcomes
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.summary import load_summary
from semnet.sweep.driver import PointResult
from tests.fl.conftest import tiny_scenario_dict

JOULES_PER_SAMPLE = 0.001
TX_W, RX_W = 0.3, 0.05


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    raw = tiny_scenario_dict()
    raw["simulation"]["workers"] = 1
    raw["simulation"]["energy"] = {"tx_power_w": TX_W, "rx_power_w": RX_W}
    raw["simulation"]["compute"]["joules_per_sample"] = JOULES_PER_SAMPLE
    # a tight deadline so that some images are lost
    raw["traffic"] = {"images_per_s": 30.0, "deadline_s": 0.006, "window_s": 0.25}
    out = tmp_path_factory.mktemp("outcomes") / "run"
    run_scenario(validate(raw), out_dir=out)
    return out


def _images(run_dir, phase=None):
    rows = [json.loads(line) for line in (run_dir / "images.jsonl").read_text().splitlines()]
    return [r for r in rows if r["branch"] == "main" and (phase is None or r["phase"] == phase)]


def _expected(images):
    delivered = [r["psnr_db"] for r in images if not r["lost"]]
    latency = [r["latency_s"] for r in images]
    return {"images": len(images), "image_loss_share": sum(r["lost"] for r in images) / len(images),
            "delivered_psnr_db": float(np.mean(delivered)), "delivered_psnr_p5_db": float(np.percentile(delivered, 5)),
            "latency_p50_s": float(np.median(latency)), "latency_p99_s": float(np.percentile(latency, 99))}


def test_image_outcomes_match_the_per_image_records(run_dir):
    summary = load_summary(run_dir)
    got = branch_outcomes(summary)
    want = _expected(_images(run_dir))
    assert 0 < want["image_loss_share"] < 1  # the check is not vacuous: some lost, some delivered
    for key, value in want.items():
        # the summary rounds PSNR to 4 decimals and latency to 7, over images rounded to 4
        assert got[key] == pytest.approx(value, abs=2e-4), key
    for phase in (p.name for p in summary.phases):
        got, want = phase_outcomes(summary, phase), _expected(_images(run_dir, phase))
        assert got["images"] == want["images"] and got["image_loss_share"] == pytest.approx(want["image_loss_share"])


def test_energy_per_node_class_is_the_closed_form_of_airtime_and_samples(run_dir):
    summary = load_summary(run_dir)
    got = branch_outcomes(summary)
    nodes = summary.energy.nodes
    users = [n for n in nodes if n.isdigit()]
    assert len(users) == 3 and len(nodes) == 4  # three users and the aggregator
    # P_tx * t_tx + P_rx * t_rx + J_sample * samples, idle power 0, from the seconds the ledger counted
    closed = {n: TX_W * p.tx_s + RX_W * p.rx_s + JOULES_PER_SAMPLE * p.samples for n, p in nodes.items()}
    assert got["users_energy_j"] == pytest.approx(sum(closed[n] for n in users), rel=1e-6)
    assert got["aggregator_energy_j"] == pytest.approx(sum(v for n, v in closed.items() if n not in users), rel=1e-5)
    assert got["energy_j"] == pytest.approx(got["users_energy_j"] + got["aggregator_energy_j"])
    samples = sum(p.samples for p in nodes.values())
    assert got["energy_j"] - got["radio_energy_j"] == pytest.approx(JOULES_PER_SAMPLE * samples)


def test_the_text_after_a_run_shows_images_and_energy_per_phase(run_dir):
    summary = load_summary(run_dir)
    text = format_summary(summary, str(run_dir)).splitlines()
    for phase in summary.phases:
        row = next(line for line in text if line.startswith(phase.name + " "))
        assert row.split()[-1] == f"{summary.energy.phases[phase.name].total_j:.3f}"
        images = next(line for line in text if line.startswith("  " + phase.name))
        want = _expected(_images(run_dir, phase.name))
        assert images.split()[1:3] == [str(want["images"]), f"{100 * want['image_loss_share']:.1f}"]
    energy = next(line for line in text if line.startswith("energy by the method"))
    outcomes = branch_outcomes(summary)
    assert f"users {outcomes['users_energy_j']:.3f} J, aggregator {outcomes['aggregator_energy_j']:.3f} J" in energy


def test_the_sweep_table_and_the_frames_carry_the_outcomes(run_dir):
    raw = json.loads((run_dir / "summary.json").read_text())
    outcomes = branch_outcomes(load_summary(run_dir))
    done = PointResult(0, "p", {}, run_dir, status="complete", summary=raw, label="links.snr_offset_db=0")
    pending = PointResult(1, "q", {}, run_dir, label="links.snr_offset_db=3")
    header, first, second = format_table([done, pending]).splitlines()[:3]
    assert header.split() == ["point", "status", "psnr_db", "bytes_total", "sim_time_s", "energy_j", "users_j",
                              "lost_%", "delivered_db", "p99_ms"]
    assert first.split()[-5:] == [f"{outcomes['energy_j']:.3f}", f"{outcomes['users_energy_j']:.3f}",
                                  f"{100 * outcomes['image_loss_share']:.1f}", f"{outcomes['delivered_psnr_db']:.2f}",
                                  f"{1e3 * outcomes['latency_p99_s']:.1f}"]
    assert second.split()[-5:] == ["-"] * 5
    assert done.as_record()["image_loss_share"] == outcomes["image_loss_share"]
    row = runs_frame(run_dir).iloc[0]
    assert all(row[k] == pytest.approx(v) for k, v in outcomes.items())
    phases = phases_frame(run_dir)
    summary = load_summary(run_dir)
    assert list(phases.images) == [phase_outcomes(summary, p.name)["images"] for p in summary.phases]
    assert not math.isnan(phases.users_energy_j.iloc[0])


def test_the_links_frame_carries_each_links_live_images_per_phase(run_dir):
    from semnet.analysis.frames import links_frame

    frame = links_frame(run_dir, phases=True)
    images = _images(run_dir)
    for _, row in frame.iterrows():
        mine = [r for r in images if (r["src"], r["dst"], r["phase"]) == (row.src, row.dst, row.phase)]
        assert row.live_images == len(mine)
        assert row.image_loss_share == pytest.approx(sum(r["lost"] for r in mine) / len(mine))
    assert frame.live_images.sum() == len(images)  # every phase's every link, once
