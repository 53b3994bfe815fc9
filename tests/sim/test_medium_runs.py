"""Media in whole runs: ``medium: dedicated`` is today's run byte for byte; node radios
and a cell change when messages arrive, never which messages travel or what is learnt
(without a deadline, timing does not touch training)."""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest

from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.fl.conftest import tiny_scenario_dict


def _lossy() -> dict:
    """Faded Shannon-rate links, a deadline and a control: random draws, losses, late messages."""
    raw = tiny_scenario_dict(controls=["compute_matched"])
    raw["links"].update({"fading": "rayleigh", "rate": {"mode": "shannon"}})
    raw["simulation"]["round_deadline_s"] = 0.5
    raw["output"]["checkpoints"] = False
    return raw


def _run(raw: dict, path) -> tuple[bytes, dict]:
    result = run_scenario(validate(raw), out_dir=path)
    return (result.path / "events.jsonl").read_bytes(), json.loads((result.path / "summary.json").read_text())


def _without_wall_time(value):
    if isinstance(value, dict):
        return {k: _without_wall_time(v) for k, v in value.items() if k != "wall_time_s"}
    if isinstance(value, list):
        return [_without_wall_time(v) for v in value]
    return value


def test_dedicated_medium_reproduces_the_run_without_the_key(tmp_path):
    raw = _lossy()
    events, summary = _run(raw, tmp_path / "default")
    explicit = copy.deepcopy(raw)
    explicit["links"]["medium"] = "dedicated"
    events_dedicated, summary_dedicated = _run(explicit, tmp_path / "dedicated")
    assert events_dedicated == events
    assert _without_wall_time(summary_dedicated) == _without_wall_time(summary)
    assert summary["delivery"]["all_branches"]["messages_outage"] > 0  # the draws mattered


@pytest.fixture(scope="module")
def dedicated_run(tmp_path_factory):
    raw = tiny_scenario_dict()
    raw["output"]["checkpoints"] = False
    return _run(raw, tmp_path_factory.mktemp("dedicated") / "run")


def _messages(events: bytes) -> Counter:
    return Counter((e["src"], e["dst"], e["kind"], e["bits"], e["phase"], e["round"])
                   for e in map(json.loads, events.decode().splitlines()))


@pytest.mark.parametrize("links", [
    {"medium": "node_radio"},
    {"medium": "cell", "scheduler": "tdma", "downlink": "broadcast"},
    {"medium": "cell", "scheduler": "ofdma", "downlink": "unicast"},
    {"medium": "cell", "scheduler": "proportional_fair", "downlink": "broadcast"},
], ids=lambda links: "-".join(links.values()))
def test_shared_airtime_delays_the_same_messages_and_learns_the_same(dedicated_run, links, tmp_path):
    events, summary = dedicated_run
    raw = tiny_scenario_dict()
    raw["output"]["checkpoints"] = False
    raw["links"].update(links)
    shared_events, shared = _run(raw, tmp_path / "run")
    assert _messages(shared_events) == _messages(events)
    assert shared["psnr_db"] == summary["psnr_db"] and shared["links"] == summary["links"]
    assert shared["bytes_total"] == summary["bytes_total"]
    # sharing airtime can only take longer: every message waits for a radio or a share
    assert shared["sim_time_s"] > summary["sim_time_s"]
    for record in map(json.loads, shared_events.decode().splitlines()):
        assert record["outcome"] == "delivered"
        assert record["t_submit_s"] <= record["t_start_s"] < record["t_end_s"]


@pytest.mark.parametrize("scheduler", ["tdma", "ofdma"])
def test_every_message_of_a_lossy_cell_run_has_its_record(scheduler, tmp_path):
    """Late and lost messages on a shared band are recorded when the band ends them, or
    when the run ends (still on the air): the records add up to what was sent."""
    raw = _lossy()
    raw["links"].update({"medium": "cell", "scheduler": scheduler})
    events, summary = _run(raw, tmp_path / "run")
    records = [json.loads(line) for line in events.decode().splitlines()]
    main = summary["delivery"]["branches"]["main"]
    assert main["messages"] == summary["messages_total"] and main["bytes"] == summary["bytes_total"]
    assert main["messages_late"] > 0 and main["tasks_deadline_missed"] > 0
    outcomes = Counter(r["outcome"] for r in records)
    assert outcomes["late"] == summary["delivery"]["all_branches"]["messages_late"] > 0
