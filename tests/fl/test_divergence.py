"""A run that diverges stops in the round it diverged: one line naming the phase,
round and user, exit status 1, the run directory marked failed with its records
kept; so does a collapse of validation quality, and Ctrl-C (exit 130)."""

import json
import math

import pytest
import torch
import yaml

from semnet.cli.main import EXIT_INTERRUPTED, EXIT_RUN_FAILED, main
from semnet.errors import RunDiverged, RunInterrupted
from semnet.fl.execution.trainer import Trainer
from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.fl.conftest import tiny_scenario_dict


def _scenario(tmp_path, **changes) -> str:
    raw = tiny_scenario_dict()
    raw["method"]["federated"]["rounds"] = 3
    for dotted, value in changes.items():
        node = raw
        *sections, last = dotted.split("__")
        for part in sections:
            node = node.setdefault(part, {})
        node[last] = value
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


def _poison(monkeypatch, *, user: int, call: int, what: str):
    """Make the trainer's ``call``-th batch of jobs leave ``user``'s update non-finite:
    its first trained weight (``what='weights'``, the loss stays finite) or its loss."""
    real = Trainer.run
    calls = []

    def run(self, jobs):
        results = real(self, jobs)
        calls.append(1)
        if len(calls) == call:
            for job, result in zip(jobs, results):
                if job.key == user or (isinstance(job.key, tuple) and job.key[0] == user):
                    if what == "weights":
                        with torch.no_grad():
                            job.trainable()[0].view(-1)[0] = float("nan")
                    else:
                        result.loss = float("inf")
        return results

    monkeypatch.setattr(Trainer, "run", run)


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("what", ["weights", "loss"])
def test_a_nan_update_stops_the_run_at_once(tmp_path, monkeypatch, capsys, what):
    path = _scenario(tmp_path)
    _poison(monkeypatch, user=1, call=2, what=what)
    out = tmp_path / "run"
    rc = main(["run", path, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == EXIT_RUN_FAILED
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    line = err.splitlines()[0]
    assert line.startswith(f"semnet: error: {path}: run diverged: non-finite")
    assert "user 1" in line and "phase 'pretrain_fedavg'" in line and "round 2" in line
    assert str(out) in line

    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "failed"
    assert (status["phase"], status["round"], status["user"], status["branch"]) == ("pretrain_fedavg", 2, 1, "main")
    assert not (out / "summary.json").exists()
    # records kept: the streams up to the failure, strict JSON (NaN written as null)
    events = _lines(out / "events.jsonl.part")
    metrics_text = (out / "metrics.jsonl.part").read_text()
    assert "NaN" not in metrics_text and "Infinity" not in metrics_text
    metrics = _lines(out / "metrics.jsonl.part")
    assert events and {e["round"] for e in events} == {1, 2}
    # later phases never ran: nothing past the federated start's second round
    assert {m["phase"] for m in metrics} <= {"pretrain_fedavg"}
    assert {e["phase"] for e in events} == {"pretrain_fedavg"}
    assert (out / "scenario.yaml").is_file()
    assert not (out / "checkpoints" / "last_phase.pt").exists()  # no phase ended before it diverged


def test_a_divergence_leaves_the_last_good_models(tmp_path, monkeypatch):
    """Diverging in the decoder step leaves the models of the encoder step that ended
    well before it, loadable; a finished run keeps no interim file."""
    raw = tiny_scenario_dict()
    done = run_scenario(validate(raw), out_dir=tmp_path / "done")
    assert sorted(p.name for p in (done.path / "checkpoints").iterdir()) == ["global.pt", "personal.pt"]

    _poison(monkeypatch, user=0, call=4, what="weights")  # rounds 1-2 start, 3 encoder step, 4 decoder step
    with pytest.raises(RunDiverged, match="phase 'finefed_1_decoder'"):
        run_scenario(validate(raw), out_dir=tmp_path / "r")
    saved = torch.load(tmp_path / "r" / "checkpoints" / "last_phase.pt")
    assert saved["phase"] == "finefed_1_encoder"
    assert set(saved["encoders"]) == set(saved["decoders"]) == {0, 1, 2}
    assert all(torch.isfinite(t).all() for state in saved["encoders"].values() for t in state.values())
    model = validate(raw).model
    from semnet.workload import model_factory

    fresh = model_factory(model, (32, 32), 0, torch.device("cpu"))()
    fresh.encoder.load_state_dict(saved["encoders"][0])
    fresh.decoder.load_state_dict(saved["decoders"][1])


def test_the_api_raises_with_where_it_happened(tmp_path, monkeypatch):
    _poison(monkeypatch, user=2, call=1, what="weights")
    with pytest.raises(RunDiverged) as info:
        run_scenario(validate(tiny_scenario_dict()), out_dir=tmp_path / "r")
    assert info.value.where == {"branch": "main", "phase": "pretrain_fedavg", "round": 1, "user": 2}
    assert info.value.run_dir == tmp_path / "r"


def test_a_collapse_is_flagged_and_the_threshold_is_a_setting(tmp_path, capsys):
    """A learning rate of 10 ruins the model without any NaN: validation PSNR falls
    about 4 dB below the start; a 1 dB limit stops the run, no limit lets it finish."""
    path = _scenario(tmp_path, method__federated__local__lr=10.0, simulation__collapse_drop_db=1.0)
    rc = main(["run", path, "--out", str(tmp_path / "a"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == EXIT_RUN_FAILED and len(err.splitlines()) == 1
    assert "run collapsed: validation PSNR" in err and "below the phase's start" in err
    assert "simulation.collapse_drop_db = 1" in err and "phase 'pretrain_fedavg'" in err and "of user" in err
    assert json.loads((tmp_path / "a" / "status.json").read_text())["status"] == "failed"

    path = _scenario(tmp_path, method__federated__local__lr=10.0, simulation__collapse_drop_db=None)
    assert main(["run", path, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    start = summary["phases"][0]["validation_psnr_db"]
    assert summary["status"] == "complete" and start < 8  # it did collapse; only the check was off


def test_ctrl_c_marks_the_directory_interrupted(tmp_path, monkeypatch, capsys):
    real = Trainer.run
    calls = []

    def run(self, jobs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, jobs)

    monkeypatch.setattr(Trainer, "run", run)
    out = tmp_path / "run"
    rc = main(["run", _scenario(tmp_path), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == EXIT_INTERRUPTED
    assert err.splitlines() == [err.strip()] and "interrupted in phase 'pretrain_fedavg', round 2" in err
    status = json.loads((out / "status.json").read_text())
    assert (status["status"], status["phase"], status["round"]) == ("interrupted", "pretrain_fedavg", 2)
    assert (out / "events.jsonl.part").is_file() and not (out / "summary.json").exists()
    with pytest.raises(KeyboardInterrupt):  # still a KeyboardInterrupt for API callers
        raise RunInterrupted("x")


def test_a_healthy_run_has_no_nan_anywhere(tmp_path):
    """Validation records have no SSIM: written as null, never as bare NaN."""
    result = run_scenario(validate(tiny_scenario_dict()), out_dir=tmp_path / "ok")
    text = (result.path / "metrics.jsonl").read_text()
    assert "NaN" not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert any(r["split"] == "validation" and r["ssim"] is None for r in records)
    assert all(math.isfinite(r["psnr_db"]) for r in records)
