"""simulation.trainer names a registered trainer: a plugin's trains the run, an
unknown name or a one-process trainer spread over workers is one line."""

import pytest

from semnet.errors import ScenarioError
from semnet.fl.execution.trainer import Trainer
from semnet.registry import trainers
from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.fl.conftest import tiny_scenario_dict


class CountingTrainer(Trainer):
    """The sequential trainer, counting the jobs it runs."""

    jobs = 0

    def run(self, jobs):
        CountingTrainer.jobs += len(jobs)
        return super().run(jobs)


@pytest.fixture
def counting():
    trainers.add("counting", CountingTrainer, "counts its jobs")
    CountingTrainer.jobs = 0
    yield
    trainers.remove("counting")


def test_a_registered_trainer_trains_the_run(tmp_path, counting):
    raw = tiny_scenario_dict(name="fedavg")
    raw["simulation"]["trainer"] = "counting"
    summary = run_scenario(validate(raw), out_dir=tmp_path).summary
    assert CountingTrainer.jobs == 2 * 3  # two rounds of three clients
    assert summary["local_steps"] == 2 * 3 * 2


def test_an_unknown_trainer_is_one_line():
    raw = tiny_scenario_dict()
    raw["simulation"]["trainer"] = "fast"
    with pytest.raises(ScenarioError) as info:
        validate(raw)
    message = str(info.value)
    assert "simulation.trainer = 'fast': unknown trainer" in message and "sequential, batched" in message
    assert "\n" not in message


def test_only_the_sequential_trainer_spreads_over_workers(counting):
    raw = tiny_scenario_dict()
    raw["simulation"].update(trainer="counting", workers=2)
    with pytest.raises(ScenarioError, match="the counting trainer runs in one process; allowed: 1, auto or null"):
        validate(raw)
