"""``semnet analyse interference-map``: on a real tiny run with interference (node radios,
one band, model packets at an MCS picked by link adaptation) the map is drawn and the
per-link values it draws are the summary's; a run without an interference section is
refused in one line. The run's events also check the MCS mode end to end: every model
message that needed no retry took exactly bits / (efficiency x B) of airtime."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from semnet.analysis.__main__ import main
from semnet.analysis.interference_map import (
    interference_costs,
    node_positions,
    write_interference_map,
)
from semnet.analysis.runs import load_run
from tests.net.test_mcs import EFFICIENCY

BANDWIDTH_HZ = 1e6


@pytest.fixture(scope="module")
def sinr_run(tmp_path_factory) -> Path:
    from semnet.runner import run_scenario
    from semnet.scenario import validate
    from tests.fl.conftest import tiny_scenario_dict

    # FineFed: its fine-tuning exchanges go user to user, pairs at once on their radios
    raw = tiny_scenario_dict(federated={"rounds": 1, "local": {"steps": 1, "batch_size": 8}})
    raw["topology"] = {"kind": "complete", "num_users": 4, "area_m": 60.0}
    raw["links"] = {"medium": "node_radio", "interference": {"model": "sinr"}, "fading": "rayleigh",
                    "bandwidth_hz": BANDWIDTH_HZ,
                    "rate": {"mode": "mcs", "mcs_margin_db": 1.0, "packet_bits": 20_000, "max_retries": 3},
                    "aggregator": {"bandwidth_hz": BANDWIDTH_HZ,
                                   "rate": {"mode": "mcs", "packet_bits": 20_000, "max_retries": 3}}}
    raw["output"].update({"checkpoints": False})
    raw["simulation"]["threads"] = 1
    out = tmp_path_factory.mktemp("sinr_run") / "run"
    run_scenario(validate(raw), out_dir=out)
    return out


def _events(run_dir: Path) -> list[dict]:
    plain, packed = run_dir / "events.jsonl", run_dir / "events.jsonl.gz"
    text = plain.read_text(encoding="utf-8") if plain.exists() else gzip.decompress(packed.read_bytes()).decode()
    return [json.loads(line) for line in text.splitlines()]


def test_the_map_draws_the_summarys_per_link_costs(sinr_run, tmp_path):
    summary = json.loads((sinr_run / "summary.json").read_text())
    links = summary["interference"]["links"]
    assert len(links) >= 4 and any(link["interfered_share"] > 0 for link in links)  # the run met interference
    paths, costs = write_interference_map(sinr_run, tmp_path / "map.png")
    assert paths == [tmp_path / "map.png"] and (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(costs) == len(links)
    for cost, link in zip(costs, links):
        assert (cost["src"], cost["dst"]) == (link["src"], link["dst"])
        assert cost["cost_db"] == pytest.approx(link["snr_db"] - link["sinr_db_mean"], abs=1e-12)
        assert cost["interfered_share"] == link["interfered_share"]
    assert any(c["cost_db"] > 0.1 for c in costs)
    # what is drawn: one arrow per link, its width from the interfered share, its colour from the cost
    from matplotlib.patches import FancyArrowPatch

    from semnet.analysis.interference_map import (
        CMAP,
        WIDTH_MIN,
        WIDTH_SPAN,
        plot_interference_map,
    )

    fig, _ = plot_interference_map(load_run(sinr_run))
    arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert [a.get_linewidth() for a in arrows] == pytest.approx(
        [WIDTH_MIN + WIDTH_SPAN * link["interfered_share"] for link in links])
    worst = max(range(len(links)), key=lambda i: links[i]["snr_db"] - links[i]["sinr_db_mean"])
    assert arrows[worst].get_edgecolor() == pytest.approx(CMAP(1.0))
    # nodes at their initial positions, the aggregator at their centroid (no position given)
    positions = node_positions(load_run(sinr_run))
    users = summary["network"]["positions_m"]
    assert positions["1"] == tuple(users["1"])
    assert positions["server"] == pytest.approx((sum(p[0] for p in users.values()) / 4,
                                                 sum(p[1] for p in users.values()) / 4))
    # the command line writes the file it names
    assert main(["interference-map", str(sinr_run), "--out", str(tmp_path / "cli.svg")]) == 0
    assert "<svg" in (tmp_path / "cli.svg").read_text()[:400]


def test_model_messages_go_at_the_rate_of_the_entry_link_adaptation_picked(sinr_run):
    models = [e for e in _events(sinr_run) if e.get("bits") and not e.get("symbols") and "cqi" in e]
    assert len(models) > 10
    assert all(1 <= e["cqi"] <= 15 for e in models)
    clean = [e for e in models if e["attempts"] == math.ceil(e["bits"] / 20_000) and e["outcome"] != "outage"]
    assert clean
    for e in clean:  # airtime = t_end - latency - t_start (latency 5 ms, both link kinds)
        air = e["t_end_s"] - 0.005 - e["t_start_s"]
        assert air == pytest.approx(e["bits"] / (EFFICIENCY[e["cqi"] - 1] * BANDWIDTH_HZ), rel=1e-9)


def test_a_run_without_interference_is_refused_in_one_line(make_run, tmp_path, capsys):
    plain = make_run(tmp_path / "plain")
    with pytest.raises(Exception, match="no interference section"):
        interference_costs(load_run(plain))
    assert main(["interference-map", str(plain), "--out", str(tmp_path / "m.png")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "no interference section" in line and "links.interference.model: sinr" in line
    assert not (tmp_path / "m.png").exists()
