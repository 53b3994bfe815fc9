"""Whole runs of every method on a 3-user network: they finish, they are deterministic,
and their summaries are consistent with their events."""

import json

import pytest
import torch

from semnet import registry
from semnet.fl.loop.views import Phases
from semnet.metrics.rundir import RunDirectory
from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.fl.conftest import tiny_scenario_dict


def test_three_user_two_round_finefed_is_deterministic(tiny, tmp_path):
    scenario = tiny()
    first = run_scenario(scenario, out_dir=tmp_path / "a")
    second = run_scenario(scenario, out_dir=tmp_path / "b")
    a = (tmp_path / "a" / "events.jsonl").read_bytes()
    assert a == (tmp_path / "b" / "events.jsonl").read_bytes()
    for key in ("psnr_db", "ssim", "bytes_total", "sim_time_s", "local_steps"):
        assert first.summary[key] == second.summary[key]
    names = [p["name"] for p in first.summary["phases"]]
    assert names == ["pretrain_fedavg", "finefed_1_encoder", "finefed_1_decoder"]


def test_summary_bytes_match_events(tiny, tmp_path):
    result = run_scenario(tiny(), out_dir=tmp_path / "r")
    events = [json.loads(line) for line in (tmp_path / "r" / "events.jsonl").read_text().splitlines()]
    main = [e for e in events if e["branch"] == "main"]
    assert sum(e["bits"] for e in main) // 8 == result.summary["bytes_total"]
    assert max(e["t_end_s"] for e in main) <= result.summary["sim_time_s"] + 1e-9
    phase_bytes = sum(p["bytes"] for p in result.summary["phases"])
    assert phase_bytes == result.summary["bytes_total"]


@pytest.mark.parametrize("name", [m for m in registry.methods.names() if m != "exchange"])
def test_every_method_runs(name, tmp_path):
    raw = tiny_scenario_dict(name=name)
    raw["method"]["personal"] = {"rounds": 1, "local": {"steps": 2, "batch_size": 8}}
    raw["method"]["centralized"] = {"epochs": 0.2, "batch_size": 16, "test_snrs_db": [0, 10]}
    result = run_scenario(validate(raw), out_dir=tmp_path / name)
    summary = result.summary
    assert summary["method"] == name
    assert summary["psnr_db"] > 5
    assert len(summary["links"]) == 6
    assert (result.path / "summary.json").exists()


def test_controls_use_matched_budgets(tiny, tmp_path):
    scenario = tiny(controls=["compute_matched", "bytes_matched", "local_finetune"])
    summary = run_scenario(scenario, out_dir=tmp_path / "c").summary
    budget = summary["finetune_budget"]
    controls = {c["name"]: c for c in summary["controls"]}
    assert set(controls) == {"compute_matched", "bytes_matched", "local_finetune"}
    # budgets are in passes (steps x tasks): FineFed's encoder step over 2 receivers costs 2 per step
    assert budget["local_passes"] > budget["local_steps"]
    # FedAvg rounds of 3 users x 2 steps: the compute-matched control spends at least FineFed's passes
    assert budget["local_passes"] <= controls["compute_matched"]["local_passes"] < budget["local_passes"] + 6
    assert controls["bytes_matched"]["bytes"] >= budget["bytes"]
    assert controls["local_finetune"]["bytes"] == 0
    assert budget["local_passes"] <= controls["local_finetune"]["local_passes"] < budget["local_passes"] + 6


def test_outage_during_round_neither_deadlocks_nor_crashes(tiny, tmp_path):
    raw = tiny_scenario_dict(name="fedavg")
    # every packet to/from the aggregator fails: backoff > 1 on an unfaded link is certain outage
    raw["links"]["aggregator"] = {"snr_db": 5.0, "rate": {"mode": "shannon", "backoff": 1.0, "max_retries": 0}}
    raw["links"]["fading"] = "rayleigh"
    result = run_scenario(validate(raw), out_dir=tmp_path / "o")
    events = [json.loads(line) for line in (tmp_path / "o" / "events.jsonl").read_text().splitlines()]
    assert any(e["outcome"] == "outage" for e in events)
    assert result.summary["status"] == "complete"


def test_round_deadline_drops_slow_clients(tiny, tmp_path):
    raw = tiny_scenario_dict(name="fedavg")
    raw["simulation"]["compute"] = {"samples_per_s": 100.0, "per_node": {2: 0.5}}
    raw["simulation"]["round_deadline_s"] = 2.0
    result = run_scenario(validate(raw), out_dir=tmp_path / "d")
    # node 2 needs 16 samples / 0.5 samples/s = 32 s of compute: it misses every round
    assert result.summary["local_steps"] == 2 * 2 * 2


def test_personalised_controls_run_from_the_same_start(tiny, tmp_path):
    raw = tiny_scenario_dict(controls=["fedper", "ditto"])
    raw["method"]["personal"] = {"local": {"steps": 2, "batch_size": 8}}
    summary = run_scenario(validate(raw), out_dir=tmp_path / "p").summary
    controls = {c["name"]: c for c in summary["controls"]}
    assert set(controls) == {"fedper", "ditto"}
    budget = summary["finetune_budget"]["local_passes"]
    # rounds are chosen so each control spends at least FineFed's fine-tuning passes
    for control in controls.values():
        assert budget <= control["local_passes"] < budget + 12
        assert control["bytes"] > 0


def test_convergence_stops_a_flat_federation_early(tiny, tmp_path):
    raw = tiny_scenario_dict(name="fedavg")
    raw["method"]["federated"] = {
        "rounds": 50,
        "local": {"steps": 1, "batch_size": 8, "lr": 1e-9},  # nothing moves: the curve is flat
        "converge": {"min_gain_db": 0.1, "window_frac": 0.1, "min_rounds": 4, "eval_every": 1},
    }
    summary = run_scenario(validate(raw), out_dir=tmp_path / "flat").summary
    assert summary["phases"][0]["rounds"] < 10
    assert summary["phases"][0]["converged"] is True
    decision = summary["phases"][0]["convergence"]  # the grounds of the verdict, in the summary
    assert decision["lr_at_decision"] == 1e-9 and decision["rule"]["min_lr_frac"] == 0.25
    assert decision["decision_round"] == summary["phases"][0]["rounds"]
    assert abs(decision["validation_gain_db"]) < 0.1
    raw["method"]["federated"].update(lr_schedule="plateau_then_cosine", decay_rounds=2)
    summary = run_scenario(validate(raw), out_dir=tmp_path / "decayed").summary
    start = summary["phases"][0]
    assert start["converged"] is True and start["convergence"]["decay"]["rounds"] == 2
    assert start["rounds"] == start["convergence"]["decision_round"] + 2
    del raw["method"]["federated"]["lr_schedule"], raw["method"]["federated"]["decay_rounds"]
    raw["method"]["federated"]["rounds"] = 3  # stops at the budget, before min_rounds
    summary = run_scenario(validate(raw), out_dir=tmp_path / "short").summary
    assert summary["phases"][0]["rounds"] == 3 and summary["phases"][0]["converged"] is False
    assert summary["phases"][0]["convergence"]["reason"] == "no plateau within 3 rounds"


def test_finefed_from_a_checkpoint_starts_where_the_checkpoint_left(tiny, tmp_path):
    """rounds: 0 + model.checkpoint: the start phase is the checkpoint's model, named so."""
    first = run_scenario(tiny(), out_dir=tmp_path / "a")
    raw = tiny_scenario_dict()
    raw["model"]["checkpoint"] = str(first.path / "checkpoints" / "global.pt")
    raw["method"]["federated"]["rounds"] = 0
    raw["method"]["federated"].pop("converge", None)
    second = run_scenario(validate(raw), out_dir=tmp_path / "b").summary
    start = second["phases"][0]
    assert start["name"] == "checkpoint_start"
    assert start["psnr_db"] == pytest.approx(first.summary["phases"][0]["psnr_db"], abs=1e-6)


def test_loss_choice_reaches_the_trainer(tmp_path):
    """method.loss changes the training (same seed, different models), and both train."""
    results = {}
    for loss in ("mse", "log_mse"):
        raw = tiny_scenario_dict()
        raw["method"]["loss"] = loss
        results[loss] = run_scenario(validate(raw), out_dir=tmp_path / loss).summary
    assert results["mse"]["psnr_db"] != results["log_mse"]["psnr_db"]
    for summary in results.values():
        start, final = summary["phases"][0]["psnr_db"], summary["psnr_db"]
        assert final > 5 and start > 5


def test_centralized_leaves_its_latest_weights_when_stopped_and_none_when_finished(tmp_path, monkeypatch):
    """A long centralised run stopped early (here: killed in its second evaluation)
    leaves the weights of its last chunk, loadable as model.checkpoint; a finished
    run keeps only its final checkpoint."""
    raw = tiny_scenario_dict(name="centralized")
    raw["method"]["centralized"] = {"epochs": 0.6, "eval_every_epochs": 0.2, "batch_size": 16, "test_snrs_db": [10]}
    finished = run_scenario(validate(raw), out_dir=tmp_path / "done")
    assert sorted(p.name for p in (finished.path / "checkpoints").iterdir()) == ["centralized.pt"]

    saved = []
    real_save = RunDirectory.save_checkpoint
    monkeypatch.setattr(RunDirectory, "save_checkpoint",
                        lambda self, name, state: (name == "centralized_latest.pt" and saved.append(
                            (name, {k: v.clone() for k, v in state.items()}))) or real_save(self, name, state))
    real_evaluate = Phases.evaluate
    calls = []

    def evaluate_then_die(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_evaluate(self, *args, **kwargs)

    monkeypatch.setattr(Phases, "evaluate", evaluate_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(validate(raw), out_dir=tmp_path / "killed")
    monkeypatch.undo()
    assert [name for name, _ in saved] == ["centralized_latest.pt"] * 2
    first, second = (state for _, state in saved)
    assert any(not torch.equal(first[k], second[k]) for k in first)  # overwritten with newer weights
    killed = tmp_path / "killed"
    on_disk = torch.load(killed / "checkpoints" / "centralized_latest.pt")
    assert all(torch.equal(on_disk[k], second[k]) for k in second)
    assert (killed / "metrics.jsonl.part").exists() and not (killed / "summary.json").exists()

    raw["model"]["checkpoint"] = str(killed / "checkpoints" / "centralized_latest.pt")
    assert run_scenario(validate(raw), out_dir=tmp_path / "continued").summary["psnr_db"] > 5

    raw = tiny_scenario_dict(name="centralized")
    raw["method"]["centralized"] = {"epochs": 0.4, "eval_every_epochs": 0.2, "batch_size": 16, "test_snrs_db": [10]}
    raw["output"]["checkpoints"] = False
    quiet = run_scenario(validate(raw), out_dir=tmp_path / "quiet")
    assert not (quiet.path / "checkpoints").exists()
