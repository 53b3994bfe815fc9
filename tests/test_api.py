"""The documented Python API: `import semnet` then load, run and read results."""

import pytest

import semnet
from tests.fl.conftest import tiny_scenario_dict


def test_the_api_names_are_exported():
    for name in ("load_scenario", "scenario_from_dict", "validate_scenario", "run", "resume", "runs_frame", "phases_frame",
                 "links_frame", "registry", "Scenario", "ScenarioError"):
        assert name in semnet.__all__ and getattr(semnet, name) is not None
    with pytest.raises(AttributeError):
        semnet.no_such_name


def test_load_scenario_applies_overrides_like_set():
    scenario = semnet.load_scenario("scenarios/quickstart.yaml", overrides=["seed=4", "links.snr_offset_db=-3"])
    assert (scenario.seed, scenario.links.snr_offset_db, scenario.name) == (4, -3.0, "quickstart")


def test_a_mistake_in_a_mapping_is_one_line_naming_the_key():
    with pytest.raises(semnet.ScenarioError) as info:
        semnet.scenario_from_dict({"links": {"snr_db": "loud"}}, source="mine")
    assert str(info.value).startswith("mine: links.snr_db = 'loud'")
    with pytest.raises(semnet.ScenarioError) as info:
        semnet.validate_scenario({"topology": {"kind": "ring"}}, overrides=["method.name=fedfoo"])
    assert "method.name = 'fedfoo'" in str(info.value) and "(from --set method.name=fedfoo)" in str(info.value)


def test_run_returns_the_run_directory_and_its_summary_and_the_frames_read_it(tmp_path):
    raw = tiny_scenario_dict(name="fedavg", federated={"rounds": 1, "local": {"steps": 1, "batch_size": 8}})
    result = semnet.run(raw, out_dir=tmp_path / "r", overrides=["seed=5"])
    assert result.path == tmp_path / "r" and (result.path / "summary.json").is_file()
    assert result.summary["seed"] == 5 and result.summary["method"] == "fedavg"
    runs = semnet.runs_frame(tmp_path)
    assert len(runs) == 1 and runs.loc[0, "psnr_db"] == pytest.approx(result.summary["psnr_db"])
    links = semnet.links_frame(result.path)
    assert len(links) == len(result.summary["links"]) == 6  # 3 users, complete graph, both directions
    phases = semnet.phases_frame(result.path)
    assert list(phases["phase"]) == ["pretrain_fedavg"]


def test_resume_continues_an_interrupted_run_and_refuses_a_finished_one(tmp_path, monkeypatch):
    import semnet.fl.loop.strategy as strategy_module
    from semnet.errors import RunInterrupted, SemnetError

    raw = tiny_scenario_dict(name="fedavg")
    raw["method"]["federated"]["rounds"] = 4
    raw["output"]["resume_every_rounds"] = 1
    whole = semnet.run(raw, out_dir=tmp_path / "whole")
    real, played = strategy_module.play_round, []

    def play(ctx, strategy, rnd):
        played.append(1)
        if len(played) == 3:
            raise KeyboardInterrupt
        return real(ctx, strategy, rnd)

    monkeypatch.setattr(strategy_module, "play_round", play)
    with pytest.raises(RunInterrupted):
        semnet.run(raw, out_dir=tmp_path / "cut")
    monkeypatch.undo()
    resumed = semnet.resume(tmp_path / "cut")
    assert resumed.summary["psnr_db"] == whole.summary["psnr_db"]
    assert (tmp_path / "cut" / "events.jsonl").read_bytes() == (whole.path / "events.jsonl").read_bytes()
    with pytest.raises(SemnetError, match="has finished"):
        semnet.resume(tmp_path / "cut")
