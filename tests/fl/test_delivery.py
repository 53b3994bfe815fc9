"""Failures users can see: outages, late messages and deadline misses per branch and
phase in summary.json and the terminal report, counted from the same records as
events.jsonl; the old totals keep their values and say which branch they cover."""

import json
from collections import Counter

from semnet.cli.report import format_summary
from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.fl.conftest import tiny_scenario_dict


def _lossy() -> dict:
    """Faded Shannon-rate links and a tight deadline: some messages are lost, some late."""
    raw = tiny_scenario_dict(controls=["compute_matched"])
    raw["links"].update({"fading": "rayleigh", "rate": {"mode": "shannon"}})
    raw["simulation"]["round_deadline_s"] = 0.5
    # two iterations: FineFed's decoders travel (in iteration 1 every user holds them)
    raw["method"]["finetune"].update(iterations=2, decoder_rounds=2)
    return raw


def test_traffic_counts_match_the_events(tmp_path):
    result = run_scenario(validate(_lossy()), out_dir=tmp_path / "r")
    summary = json.loads((result.path / "summary.json").read_text())
    events = [json.loads(line) for line in (result.path / "events.jsonl").read_text().splitlines()]
    traffic = summary["delivery"]

    seen = Counter((e["branch"], e["phase"], e["outcome"]) for e in events)
    for branch, row in traffic["branches"].items():
        for phase, counts in row["phases"].items():
            assert counts["messages_outage"] == seen[(branch, phase, "outage")]
            assert counts["messages_late"] == seen[(branch, phase, "late")]
            assert counts["messages_delivered"] == seen[(branch, phase, "delivered")]
            assert counts["tasks"] == counts["tasks_ok"] + counts["tasks_outage"] + counts["tasks_deadline_missed"]
    assert set(traffic["branches"]) == {"main", "control_compute_matched"}
    main = traffic["branches"]["main"]
    # the old keys keep their meaning (the main branch) and now say so
    assert summary["totals_branches"] == ["main"]
    assert main["messages"] == summary["messages_total"] and main["bytes"] == summary["bytes_total"]
    control = next(c for c in summary["controls"] if c["name"] == "compute_matched")
    assert traffic["branches"]["control_compute_matched"]["bytes"] == control["bytes"]
    everything = traffic["all_branches"]
    assert everything["messages"] == len(events) and everything["bytes"] == sum(e["bits"] for e in events) // 8
    # this network does lose messages and miss deadlines, and the summary shows it
    assert main["messages_outage"] > 0 and main["messages_late"] > 0 and main["tasks_deadline_missed"] > 0
    assert main["tasks_outage"] > 0

    text = format_summary(summary)
    assert "by the method (all 2 branches:" in text
    row = next(line for line in text.splitlines() if line.startswith("main "))
    assert row.split()[1:] == [str(main["messages"]), f"{main['bytes'] / 1e6:.3f}", str(main["messages_outage"]),
                               str(main["messages_late"]), str(main["tasks"]), str(main["tasks_outage"]),
                               str(main["tasks_deadline_missed"])]
    assert any(line.startswith("  finefed_1_decoder") for line in text.splitlines())  # phases of a lossy branch


def test_an_old_summary_still_reports():
    """Summaries written before the traffic section print as before."""
    network = {"users": 2, "image_links": 2, "topology": "complete", "snr_db_mean": 10.0, "snr_db_min": 10.0,
               "snr_db_max": 10.0, "fading": "none"}
    summary = {"status": "complete", "name": "x", "method": "fedavg", "seed": 0, "network": network,
               "psnr_db": 10.0, "ssim": 0.5,
               "worst_link_psnr_db": 9.0, "bytes_total": 1000, "sim_time_s": 1.0, "local_steps": 2,
               "wall_time_s": 0.1, "phases": []}
    text = format_summary(summary)
    assert "delivery" not in text and "0.001 MB exchanged, " in text
