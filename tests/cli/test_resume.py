"""``semnet run --resume``: a run killed or interrupted anywhere continues from its last
checkpoint, and its events.jsonl, metrics.jsonl and summary.json equal those of a run
that was never stopped (wall times aside)."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
import yaml

import semnet.fl.loop.strategy as strategy_module
from semnet.cli.main import EXIT_USER_ERROR, main
from semnet.errors import RunInterrupted
from semnet.fl.loop.resume import RESUME_CHECKPOINT
from semnet.resume_run import resume_run
from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.cli.conftest import with_key
from tests.fl.conftest import tiny_scenario_dict

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _raw(**changes) -> dict:
    raw = tiny_scenario_dict(controls=["compute_matched"])
    raw["method"]["federated"]["rounds"] = 4
    raw["method"]["finetune"]["decoder_rounds"] = 3
    raw["output"].update(resume_every_rounds=1, eval_every_rounds=2)
    raw["simulation"]["workers"] = 1
    for dotted, value in changes.items():
        if dotted == "method.name" and value not in ("finefed",):
            raw["method"].pop("controls", None)
        raw = with_key(raw, dotted, value)
    return raw


def _without_wall(obj):
    if isinstance(obj, dict):
        return {k: _without_wall(v) for k, v in obj.items() if k != "wall_time_s"}
    if isinstance(obj, list):
        return [_without_wall(v) for v in obj]
    return obj


def assert_same_run(expected, resumed) -> None:
    """Byte-equal events (and live images); metrics and summary equal but for wall-clock times."""
    assert (resumed / "events.jsonl").read_bytes() == (expected / "events.jsonl").read_bytes()
    assert (expected / "images.jsonl").exists() == (resumed / "images.jsonl").exists()
    if (expected / "images.jsonl").exists():
        assert (resumed / "images.jsonl").read_bytes() == (expected / "images.jsonl").read_bytes()
    for name in ("metrics.jsonl",):
        lines = [[_without_wall(json.loads(line)) for line in (path / name).read_text().splitlines()]
                 for path in (expected, resumed)]
        assert lines[1] == lines[0]
    summaries = [_without_wall(json.loads((path / "summary.json").read_text())) for path in (expected, resumed)]
    assert summaries[1] == summaries[0]
    assert not (resumed / "status.json").exists()
    assert not (resumed / "checkpoints" / RESUME_CHECKPOINT).exists()  # a finished run needs none


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("resume") / "whole"
    run_scenario(validate(_raw()), out_dir=out)
    return out


KILLER = textwrap.dedent("""
    import os, signal, sys
    import semnet.fl.execution.trainer as trainer
    from semnet.cli.main import main

    target, calls, real = int(sys.argv[1]), [], trainer.Trainer.run

    def run(self, jobs):  # the round's messages are played; its local training is under way
        calls.append(1)
        if len(calls) == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, jobs)

    trainer.Trainer.run = run
    sys.exit(main(sys.argv[2:]))
""")


@pytest.mark.parametrize("training_call, where", [
    (3, "pretrain_fedavg"),  # mid-federated-round (round 3 of 4)
    (7, "finefed_1_decoder"),  # inside a FineFed decoder step (its 2nd of 3 rounds)
    (11, "compute_matched"),  # inside the compute-matched control's branch (its 3rd round)
])
def test_a_run_killed_by_sigkill_resumes_to_the_same_outputs(tmp_path, uninterrupted, training_call, where):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(_raw(), sort_keys=False))
    out = tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-c", KILLER, str(training_call), "run", str(scenario), "--out", str(out),
                           "--quiet"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (out / "summary.json").exists() and (out / "events.jsonl.part").exists()
    checkpoint = torch.load(out / "checkpoints" / RESUME_CHECKPOINT, weights_only=True)
    at = checkpoint["partial"]["ctx"]["phase_name"] if checkpoint["partial"] else None
    assert at == where  # the kill came after the phase's first checkpoint: resumed mid-phase
    assert main(["run", "--resume", str(out), "--quiet"]) == 0
    assert_same_run(uninterrupted, out)


def _interrupt_at(monkeypatch, rounds_played: int):
    real, played = strategy_module.play_round, []

    def play(ctx, strategy, rnd):
        played.append(1)
        if len(played) == rounds_played:
            raise KeyboardInterrupt
        return real(ctx, strategy, rnd)

    monkeypatch.setattr(strategy_module, "play_round", play)


VARIANTS = {
    # SCAFFOLD's control variates, lossy codecs with error feedback, faded Shannon-rate links
    "scaffold_codecs_fading": {
        "method.name": "scaffold", "method.federated.rounds": 5,
        "method.codec": {"updates": "topk10", "global_model": "qsgd8", "control_variates": "int8"},
        "links.fading": "rayleigh",
        "links.rate": {"mode": "shannon", "backoff": 0.5, "packet_bits": 12000, "max_retries": 4},
    },
    # users walking through a time-correlated channel; FineFed's decoders and updates coded
    "mobile_channel": {
        "topology.mobility": {"model": "random_waypoint", "speed_mps": [0.5, 2.0], "step_s": 1.0},
        "links.fading": "rayleigh", "links.rate": {"mode": "shannon", "packet_bits": 12000, "max_retries": 4},
        "links.channel": {"time_correlation": "gauss_markov", "carrier_hz": 2.4e9, "gauss_markov_step_s": 0.001},
        "method.codec": {"decoders": "int8", "updates": "topk10"},
    },
    # link adaptation (issue 27): each link's known SINR and last record in the book cross it
    "mcs_sinr_mobile": {
        "topology.num_users": 4, "links.snr_db": None, "links.overrides": [],  # two pairs apart; path loss
        "topology.mobility": {"model": "random_waypoint", "speed_mps": [0.5, 2.0], "step_s": 1.0},
        "links.medium": "node_radio", "links.interference": {"model": "sinr"}, "links.fading": "rayleigh",
        "links.rate": {"mode": "mcs", "mcs_margin_db": 1.0, "packet_bits": 12000, "max_retries": 4},
        "links.channel": {"time_correlation": "gauss_markov", "carrier_hz": 2.4e9, "gauss_markov_step_s": 0.001},
    },
    # a convergence check whose plateau is followed by a cosine decay
    "plateau_then_decay": {
        "method.name": "fedper", "method.personal": {"rounds": 2},
        "method.federated": {"rounds": 30, "local": {"steps": 1, "batch_size": 8, "lr": 1e-9},
                             "converge": {"min_gain_db": 0.1, "window_frac": 0.1, "min_rounds": 4, "eval_every": 1},
                             "lr_schedule": "plateau_then_cosine", "decay_rounds": 4},
    },
    # centralised training: its optimiser, schedule and batch stream persist across chunks
    "centralized": {
        "method.name": "centralized",
        "method.centralized": {"epochs": 3, "eval_every_epochs": 1, "batch_size": 16, "lr_schedule": "cosine"},
    },
    # a cell (OFDMA up, broadcast down) whose deadline leaves messages on the air between
    # rounds, with energy accounted
    "cell_energy_deadline": {
        "links.medium": "cell", "links.scheduler": "ofdma", "links.downlink": "broadcast",
        "links.fading": "rayleigh", "links.rate": {"mode": "shannon", "packet_bits": 12000, "max_retries": 4},
        "simulation.energy": {"tx_power_w": 0.8, "rx_power_w": 0.4, "idle_power_w": 0.05},
        "simulation.compute.joules_per_sample": 0.002, "simulation.round_deadline_s": 1.0,
    },
    # lossy codecs on every model message, so that users train from the copies they hold
    # (semnet.fl.loop.versions) and every control but the oracle starts from them; the oracle
    # keeps each link's best pair on validation images
    "holdings_lossy_oracle": {
        "method.codec": {"global_model": "qsgd8", "decoders": "int8", "updates": "topk10"},
        "method.finetune.iterations": 2, "method.finetune.decoder_rounds": 2,
        "method.controls": ["bytes_matched", "fedper", "local_finetune", "oracle"],
        "method.personal": {"rounds": 1, "local": {"steps": 2, "batch_size": 8}},
        "method.oracle": {"rounds": 3, "local": {"steps": 2, "batch_size": 8}},
        "data.validation_per_user": 8,
    },
    # live images on node radios while FineFed and its control run: arrivals, queues,
    # deployed model versions and images not yet decoded all cross the checkpoint
    "traffic": {
        "links.medium": "node_radio", "links.fading": "rayleigh",
        "traffic": {"images_per_s": 25.0, "arrivals": "poisson", "queue": "images_first", "deadline_s": 0.05,
                    "window_s": 0.2},
    },
    # live images as WebP packets at CQI rates on node radios over a channel in time,
    # placed in idle time: each link's last learnt SNR, packets not yet shown and what
    # each receiver showed last all cross the checkpoint
    "traffic_digital": {
        "topology.mobility": {"model": "random_waypoint", "speed_mps": [0.5, 2.0], "step_s": 1.0},
        "links.channel": {"time_correlation": "gauss_markov", "carrier_hz": 2.4e9, "gauss_markov_step_s": 0.001},
        "links.medium": "node_radio", "links.fading": "rayleigh", "links.snr_db": 25.0,
        "links.rate": {"mode": "shannon", "packet_bits": 400, "max_retries": 2},
        "traffic": {"images_per_s": 25.0, "queue": "images_first", "deadline_s": 0.05, "window_s": 0.2,
                    "digital": {"codec": "webp", "rate": "mcs", "fallback": "previous"}},
    },
    # one link Rayleigh without CSI, another AWGN without CSI: the channels hold no state,
    # so nothing new is saved, and the packets' outages and live images cross the checkpoint
    "link_channels": {
        "links.overrides": [{"src": 0, "dst": 1, "fading": "rayleigh", "csi": False}, {"src": 1, "dst": 2, "csi": False}],
        "links.rate": {"mode": "shannon", "packet_bits": 12000, "max_retries": 4},
        "traffic": {"images_per_s": 25.0, "deadline_s": 0.05, "window_s": 0.2},
    },
    # server state that lives in the algorithm: FedDyn's h and each client's g_i (the
    # compute-matched control continues with FedDyn), FedYogi's moments
    "feddyn": {"method.federated.algorithm": "feddyn", "method.federated.options": {"alpha": 0.05}},
    "fedyogi": {"method.federated.algorithm": "fedyogi", "method.federated.options": {"server_lr": 0.05}},
    # each receiver's own decoder server (Adam moments kept over FineFed's iterations) after
    # a median over its transmitters
    "decoder_fedadam_median": {
        "method.finetune.iterations": 2,
        "method.finetune.decoder_aggregation": {"rule": "median"},
        "method.finetune.decoder_server": {"algorithm": "fedadam", "options": {"server_lr": 0.05}},
    },
    # the issue-29 controls with a rate grid: IFCA's choices and cluster models, FedRep's
    # heads and shared body, the SNR model's own start and its continuation all cross it
    "pfl_controls_grid": {
        "method.controls": ["ifca", "fedrep", "snr_conditioned"], "method.controls_lr_grid": [1e-3, 2e-3],
        "method.fedrep": {"head_steps": 2, "body_steps": 3},
    },
    "exchange": {
        "method.name": "exchange", "method.exchange": {"rounds": 6, "message_bytes": 1000, "semantic_images": 2},
        "links.fading": "rayleigh", "links.rate": {"mode": "shannon", "packet_bits": 12000, "max_retries": 4},
    },
}


@pytest.fixture(scope="module")
def whole_runs(tmp_path_factory):
    """The uninterrupted run of each variant, made once and shared by its stop points
    (a run directory is read only by the comparison)."""
    made: dict = {}

    def whole(variant: str, scenario):
        if variant not in made:
            made[variant] = tmp_path_factory.mktemp(f"whole_{variant}")
            run_scenario(scenario, out_dir=made[variant])
        return made[variant]

    return whole


@pytest.mark.parametrize("variant, stop_at", [
    ("scaffold_codecs_fading", 4), ("mobile_channel", 7), ("plateau_then_decay", 7), ("centralized", 3),
    ("cell_energy_deadline", 3), ("exchange", 5), ("holdings_lossy_oracle", 12), ("holdings_lossy_oracle", 29),
    ("traffic", 7), ("traffic", 10), ("traffic_digital", 7), ("link_channels", 7), ("feddyn", 3), ("feddyn", 12), ("fedyogi", 3),
    ("decoder_fedadam_median", 9), ("decoder_fedadam_median", 12), ("mcs_sinr_mobile", 7),
    ("pfl_controls_grid", 13), ("pfl_controls_grid", 29), ("pfl_controls_grid", 36), ("pfl_controls_grid", 44),
])
def test_an_interrupted_run_resumes_to_the_same_outputs(tmp_path, monkeypatch, whole_runs, variant, stop_at):
    scenario = validate(_raw(**VARIANTS[variant]))
    whole = whole_runs(variant, scenario)
    _interrupt_at(monkeypatch, stop_at)
    with pytest.raises(RunInterrupted):
        run_scenario(scenario, out_dir=tmp_path / "stopped")
    monkeypatch.undo()
    assert json.loads((tmp_path / "stopped" / "status.json").read_text())["status"] == "interrupted"
    resume_run(tmp_path / "stopped")
    assert_same_run(whole, tmp_path / "stopped")


def _one_line_error(capsys, args) -> str:
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == EXIT_USER_ERROR and len(err.splitlines()) == 1, err
    return err


def test_resume_refuses_what_it_cannot_continue_with_one_line(tmp_path, capsys, uninterrupted):
    assert "no run there" in _one_line_error(capsys, ["run", "--resume", str(tmp_path)])
    assert "has finished" in _one_line_error(capsys, ["run", "--resume", str(uninterrupted)])
    assert "give no scenario" in _one_line_error(capsys, ["run", "scenario.yaml", "--resume", str(uninterrupted)])

    scenario = validate(_raw(**{"method.controls": []}))
    stopped = tmp_path / "stopped"
    real, played = strategy_module.play_round, []

    def play(ctx, strategy, rnd):
        played.append(1)
        if len(played) == 7:  # in FineFed's decoder step: the start and the encoder step have ended
            raise KeyboardInterrupt
        return real(ctx, strategy, rnd)

    strategy_module.play_round = play
    try:
        with pytest.raises(RunInterrupted):
            run_scenario(scenario, out_dir=stopped)
    finally:
        strategy_module.play_round = real
    checkpoint_file = stopped / "checkpoints" / RESUME_CHECKPOINT
    good = checkpoint_file.read_bytes()
    events = (stopped / "events.jsonl.part").read_bytes()

    text = (stopped / "scenario.yaml").read_text()
    assert "seed: 3" in text
    (stopped / "scenario.yaml").write_text(text.replace("seed: 3", "seed: 4"))
    assert "not the scenario" in _one_line_error(capsys, ["run", "--resume", str(stopped)])
    (stopped / "scenario.yaml").write_text(text)

    checkpoint = torch.load(checkpoint_file, weights_only=True)
    checkpoint["semnet_version"] = "0.0.1"
    torch.save(checkpoint, checkpoint_file)
    assert "written by semnet 0.0.1" in _one_line_error(capsys, ["run", "--resume", str(stopped)])

    checkpoint_file.write_bytes(good[: len(good) // 2])  # torn
    assert "unreadable" in _one_line_error(capsys, ["run", "--resume", str(stopped)])
    assert (stopped / "events.jsonl.part").read_bytes() == events  # nothing lost by refusing

    checkpoint_file.write_bytes(good)
    assert isinstance(torch.load(checkpoint_file, weights_only=True)["completed"], int)  # calls have their own files
    call = stopped / "checkpoints" / "resume" / "call00000.pt"
    kept = call.read_bytes()
    call.unlink()
    assert "call file" in _one_line_error(capsys, ["run", "--resume", str(stopped)])
    call.write_bytes(kept)
    (stopped / "status.json").write_text(json.dumps({"status": "failed", "error": "run diverged: x"}))
    assert "resuming would repeat it" in _one_line_error(capsys, ["run", "--resume", str(stopped)])
    (stopped / "status.json").write_text(json.dumps({"status": "interrupted"}))
    assert main(["run", "--resume", str(stopped), "--quiet"]) == 0
    capsys.readouterr()
    assert (stopped / "summary.json").is_file()


def test_a_sweep_resumes_its_unfinished_point_from_its_checkpoint(tmp_path, monkeypatch):
    from semnet.sweep.driver import run_sweep
    from semnet.sweep.spec import parse_sweep

    raw = _raw(**{"method.name": "exchange", "method.exchange": {"rounds": 5}})
    spec = parse_sweep({"base": raw, "grid": {"seed": [3]}, "out": str(tmp_path / "sweep")}, base_dir=tmp_path)
    whole = tmp_path / "whole"
    run_scenario(validate(raw), out_dir=whole)
    point_dir = tmp_path / "sweep" / "seed=3"
    _interrupt_at(monkeypatch, 4)
    with pytest.raises(RunInterrupted):
        run_scenario(validate(raw), out_dir=point_dir)
    monkeypatch.undo()
    (point_dir / "note.txt").write_text("a run started afresh would have cleared its directory")
    [result] = run_sweep(spec, backend="local", workers=1)
    assert result.status == "complete"
    assert (point_dir / "note.txt").exists()  # continued in place, not started again
    assert_same_run(whole, point_dir)


def test_a_resumed_runs_wall_time_goes_on_from_its_checkpoint(tmp_path, monkeypatch):
    """The checkpoint keeps the run's wall time so far; the resumed run's summary and the
    metrics it writes count from there (as if the first process had taken 1000 s)."""
    import time

    scenario = validate(_raw())
    _interrupt_at(monkeypatch, 5)
    with pytest.raises(RunInterrupted):
        run_scenario(scenario, out_dir=tmp_path / "run")
    monkeypatch.undo()
    path = tmp_path / "run" / "checkpoints" / RESUME_CHECKPOINT
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["wall_time_s"] > 0
    checkpoint["wall_time_s"] = 1000.0
    torch.save(checkpoint, path)
    before = (tmp_path / "run" / "metrics.jsonl.part").read_text().count("\n")
    t0 = time.perf_counter()
    resume_run(tmp_path / "run")
    took_s = time.perf_counter() - t0
    wall = json.loads((tmp_path / "run" / "summary.json").read_text())["wall_time_s"]
    assert 1000.0 < wall <= 1000.0 + took_s
    resumed = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()][before:]
    assert resumed and all(1000.0 < r["wall_time_s"] <= 1000.0 + took_s for r in resumed)


def test_a_resumed_run_keeps_the_threads_and_workers_it_started_with(tmp_path, monkeypatch):
    """auto decides once, in the first round; the checkpoint records the plan and a resumed
    run trains with it, whatever auto would decide now (here: the record says 2 threads,
    which the tiny model's steps would never get from auto)."""
    raw = _raw()
    raw["simulation"]["workers"] = "auto"
    scenario = validate(raw)
    _interrupt_at(monkeypatch, 5)
    with pytest.raises(RunInterrupted):
        run_scenario(scenario, out_dir=tmp_path / "run")
    monkeypatch.undo()
    path = tmp_path / "run" / "checkpoints" / RESUME_CHECKPOINT
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["execution"] == {"threads": 1, "workers": 1, "worker_threads": 1}  # tiny steps: one thread
    checkpoint["execution"] = {"threads": 2, "workers": 1, "worker_threads": 2}
    torch.save(checkpoint, path)
    resume_run(tmp_path / "run")
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["execution"] == checkpoint["execution"]
