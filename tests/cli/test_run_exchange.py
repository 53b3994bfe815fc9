"""``semnet run`` end to end on the exchange-only protocol (no learning, fast), and ``semnet list``."""

import json

import pytest
import yaml

from semnet.cli.main import main

from .conftest import exchange_scenario

ROUNDS = 2
MESSAGE_BYTES = 1000
RATE_BPS = 10e6  # RateSpec default
LATENCY_S = 0.005  # LinksSpec default


@pytest.fixture
def scenario_file(write_scenario):
    raw = exchange_scenario()
    raw["method"]["exchange"] = {"rounds": ROUNDS, "message_bytes": MESSAGE_BYTES}
    return write_scenario(raw)


def run(scenario_file, out, capsys, *extra) -> dict:
    rc = main(["run", scenario_file, "--out", str(out), "--quiet", *extra])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert captured.out.strip() == str(out)  # --quiet prints only the run directory
    return json.loads((out / "summary.json").read_text())


def test_run_writes_a_complete_run_directory(tmp_path, scenario_file, capsys):
    out = tmp_path / "run"
    summary = run(scenario_file, out, capsys)

    for name in ("scenario.yaml", "events.jsonl", "metrics.jsonl", "summary.json"):
        assert (out / name).is_file(), name
    assert not list(out.rglob("*.part")) and not list(out.rglob("*.tmp"))

    assert summary["status"] == "complete"
    assert summary["method"] == "exchange"
    assert summary["psnr_db"] is None and summary["ssim"] is None  # nothing learnt, no quality
    # ring of 4: 8 directed image links, one message each per round
    assert summary["bytes_total"] == ROUNDS * 8 * MESSAGE_BYTES
    # DESIGN: a message takes bits / rate of airtime plus the latency; rounds run one after another
    assert summary["sim_time_s"] == pytest.approx(ROUNDS * (8 * MESSAGE_BYTES / RATE_BPS + LATENCY_S))
    assert summary["wall_time_s"] >= 0
    assert isinstance(summary["links"], list)
    assert [p["name"] for p in summary["phases"]] == ["exchange"]
    phase = summary["phases"][0]
    assert phase["psnr_db"] is None
    assert phase["bytes"] == summary["bytes_total"]
    assert phase["sim_time_s"] == pytest.approx(summary["sim_time_s"])

    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert len(events) == ROUNDS * 8
    assert {e["outcome"] for e in events} == {"delivered"}
    assert sum(e["bits"] for e in events) == 8 * summary["bytes_total"]

    resolved = yaml.safe_load((out / "scenario.yaml").read_text())
    assert resolved["method"]["exchange"]["rounds"] == ROUNDS
    assert resolved["topology"]["area_m"] == 100.0  # defaults are written out


def test_same_seed_gives_identical_events(tmp_path, scenario_file, capsys):
    run(scenario_file, tmp_path / "a", capsys)
    run(scenario_file, tmp_path / "b", capsys)
    first = (tmp_path / "a" / "events.jsonl").read_bytes()
    assert first
    assert first == (tmp_path / "b" / "events.jsonl").read_bytes()


def test_run_refuses_to_overwrite_a_finished_run(tmp_path, scenario_file, capsys):
    out = tmp_path / "run"
    run(scenario_file, out, capsys)
    rc = main(["run", scenario_file, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.splitlines()) == 1 and "already holds a finished run" in err


BUILT_IN = {
    "methods": ["exchange", "centralized", "fedavg", "fedprox", "scaffold", "federated", "local_finetune", "fedper", "ditto",
                "finefed", "finefed_joint", "finefed_encoder_only", "finefed_decoder_only"],
    "controls": ["compute_matched", "bytes_matched", "fedper", "ditto", "local_finetune", "oracle", "ifca", "fedrep",
                 "snr_conditioned"],
    "algorithms": ["fedavg", "fedprox", "scaffold", "fedavgm", "feddyn", "fedadagrad", "fedadam", "fedyogi"],
    "models": ["adjscc", "deep_jscc"],
    "channels": ["none", "rayleigh", "rician"],
    "topologies": ["complete", "ring", "star", "grid", "erdos_renyi", "random_geometric", "small_world", "edges"],
    "partitioners": ["iid", "dirichlet", "classes", "source"],
    "trainers": ["sequential", "batched"],
    "image_codecs": ["jpeg", "webp", "jpeg2000"],
}


@pytest.mark.parametrize("what, names", BUILT_IN.items())
def test_list_prints_one_line_per_entry(capsys, what, names):
    assert main(["list", what]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == names
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)  # every entry has a description
