"""simulation.workers: a round's jobs on worker processes give exactly the numbers of
one process (events, summaries, trained weights), whatever the number of workers."""

import json
import re

import pytest
import torch

from semnet.data import BatchStream
from semnet.errors import ScenarioError
from semnet.fl.execution.parallel import ParallelTrainer, job_chains
from semnet.fl.execution.trainer import LossTask, Trainer, TrainJob
from semnet.models import Channel
from semnet.models.deep_jscc import DeepJSCC
from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.fl.conftest import tiny_scenario_dict


def _model(seed=0):
    return DeepJSCC(latent_channels=4, width=0.25).init_weights(torch.Generator().manual_seed(seed))


def _images(n=16, seed=0):
    return torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _job(key, encoder, decoders, stream, train=("encoder", "decoders"), seed=0):
    return TrainJob(key=key, encoder=encoder, tasks=[LossTask(d, [5.0, 10.0]) for d in decoders], data=stream,
                    steps=3, train=train, generator=torch.Generator().manual_seed(seed))


def test_batch_stream_state_moves_without_changing_the_batches():
    images = _images()
    a = BatchStream(images, 5, seed=1, augment=True)
    b = BatchStream(images, 5, seed=1, augment=True)
    for _ in range(4):
        a.next()
        b.next()
    moved = BatchStream.from_state(images, b.state())
    for _ in range(7):  # across epochs
        assert torch.equal(a.next(), moved.next())
    b.load_state(moved.state())
    assert torch.equal(a.next(), b.next()) and a.steps == b.steps and a.epoch == b.epoch


def test_chains_join_jobs_that_share_what_changes():
    m = [_model(s) for s in range(4)]
    s = [BatchStream(_images(), 4, seed=k) for k in range(4)]
    frozen = m[3].decoder
    jobs = [
        _job(0, m[0].encoder, [frozen], s[0], train=("encoder",)),  # frozen decoder shared: no link
        _job(1, m[1].encoder, [frozen], s[1], train=("encoder",)),
        _job(2, m[2].encoder, [m[2].decoder], s[2]),
        _job(3, m[0].encoder, [m[1].decoder], s[3], train=("decoders",)),  # reads E_0 (trained by job 0)
        _job(4, m[2].encoder, [m[2].decoder], s[2]),  # same stream and modules as job 2
    ]
    assert job_chains(jobs) == [[0, 3], [1], [2, 4]]


def test_parallel_trainer_equals_the_sequential_one_on_shared_objects():
    def setup():
        models = [_model(s) for s in range(3)]
        streams = [BatchStream(_images(seed=k), 4, seed=k) for k in range(3)]
        shared = models[2].decoder
        jobs = [_job(k, models[k].encoder, [shared, models[k].decoder], streams[k], seed=k) for k in range(2)]
        for job in jobs:  # the shared decoder stays frozen: the two users are independent
            job.train = ("encoder",)
        jobs.append(_job(2, models[1].encoder, [models[1].decoder], streams[1], seed=5))  # continues user 1
        return models, streams, jobs

    channel = Channel("rayleigh")
    m1, s1, j1 = setup()
    r1 = Trainer(channel, torch.device("cpu")).run(j1)
    m2, s2, j2 = setup()
    trainer = ParallelTrainer(channel, torch.device("cpu"), workers=2)
    r2 = trainer.run(j2)
    assert trainer.stats["shipped_jobs"] == 3
    assert [r.loss for r in r1] == [r.loss for r in r2]
    for a, b in zip(m1, m2):
        for (ka, ta), (kb, tb) in zip(a.state_dict().items(), b.state_dict().items()):
            assert ka == kb and torch.equal(ta, tb), ka
    for a, b in zip(s1, s2):
        assert torch.equal(a.next(), b.next())
    for a, b in zip(j1, j2):
        assert torch.equal(a.generator.get_state(), b.generator.get_state())


def _numbers(summary: dict) -> str:
    """Every number of the summary but wall times and the execution record (which names the workers)."""
    summary = {k: v for k, v in summary.items() if k != "execution"}
    return re.sub(r'"wall_time_s": [0-9.eE+-]+', "", json.dumps(summary, sort_keys=True))


def _run(raw, workers, out):
    raw = json.loads(json.dumps(raw))
    raw["simulation"].update(workers=workers, threads=1)  # at equal threads, whatever the workers
    result = run_scenario(validate(raw), out_dir=out)
    assert result.summary["execution"] == {"threads": 1, "workers": workers, "worker_threads": 1}
    weights = {p.name: torch.load(p) for p in sorted((result.path / "checkpoints").glob("*.pt"))}
    return (result.path / "events.jsonl").read_bytes(), _numbers(result.summary), weights


def _same_weights(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_weights(a[k], b[k]) for k in a)
    return torch.equal(a, b)


@pytest.mark.parametrize("name,controls", [
    ("finefed", ["compute_matched", "local_finetune", "fedper", "ditto"]),
    ("scaffold", []),
])
def test_runs_are_identical_for_one_and_two_workers(name, controls, tmp_path):
    raw = tiny_scenario_dict(name=name, controls=controls)
    raw["method"]["personal"] = {"rounds": 1, "local": {"steps": 2, "batch_size": 8}}
    one = _run(raw, 1, tmp_path / "w1")
    two = _run(raw, 2, tmp_path / "w2")
    assert one[0] == two[0]  # events.jsonl, byte for byte
    assert one[1] == two[1]  # every summary number
    assert _same_weights(one[2], two[2])


def test_batched_trainer_runs_in_one_process():
    raw = tiny_scenario_dict()
    raw["simulation"].update(trainer="batched", workers=2)
    with pytest.raises(ScenarioError, match="simulation.workers"):
        validate(raw)
