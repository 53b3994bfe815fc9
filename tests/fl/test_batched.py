"""simulation.trainer: batched trains same-shaped jobs as one stacked model and agrees
with the sequential trainer within float tolerance."""

import copy

import pytest
import torch

from semnet.data import BatchStream
from semnet.fl.execution.batched import BatchedTrainer
from semnet.fl.algorithms.client_terms import GradientCorrection, GradientMean, ProximalTerm
from semnet.fl.execution.trainer import LossTask, Trainer, TrainJob
from semnet.models import Channel
from semnet.models import create_model
from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.fl.conftest import tiny_scenario_dict


def _images(seed):
    return torch.randint(0, 256, (24, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _like(params, seed, scale):
    gen = torch.Generator().manual_seed(seed)
    return [scale * torch.randn(p.shape, generator=gen) for p in params]


def _setup(model_name, kind):
    models = [create_model(model_name, latent_channels=4, width=0.25) for _ in range(4)]
    for s, m in enumerate(models):
        m.init_weights(torch.Generator().manual_seed(s))
    streams = [BatchStream(_images(s), 6, seed=s, augment=True) for s in range(4)]
    gens = [torch.Generator().manual_seed(10 + s) for s in range(4)]
    frozen = models[3].decoder
    jobs = []
    for u in range(3):
        m = models[u]
        if kind == "fedavg":
            ref = [p.detach().clone() for p in list(m.encoder.parameters()) + list(m.decoder.parameters())]
            jobs.append(TrainJob(key=u, encoder=m.encoder, tasks=[LossTask(m.decoder, [0.0, 10.0])],
                                 data=streams[u], steps=4, generator=gens[u],
                                 terms=(ProximalTerm(0.1, ref), GradientMean(),
                                        GradientCorrection(_like(ref, 50 + u, 0.01)))))
        elif kind == "encoder_step":  # multi-task against frozen decoders, one of them shared
            tasks = [LossTask(frozen, [5.0], 0.5), LossTask(models[(u + 1) % 3].decoder, [15.0], 0.5)]
            jobs.append(TrainJob(key=u, encoder=m.encoder, tasks=tasks, data=streams[u], steps=4,
                                 train=("encoder",), weighting="uncertainty", generator=gens[u]))
        else:  # decoder copies through frozen encoders; user 0 trains two of them from one stream
            for j in ([1, 2] if u == 0 else [0]):
                jobs.append(TrainJob(key=(u, j), encoder=m.encoder,
                                     tasks=[LossTask(copy.deepcopy(models[j].decoder), [float(3 * j)])],
                                     data=streams[u], steps=3, train=("decoders",), generator=gens[u], lr=3e-3))
    return models, jobs


@pytest.mark.parametrize("model_name", ["deep_jscc", "adjscc"])
@pytest.mark.parametrize("kind", ["fedavg", "encoder_step", "decoder_step"])
def test_batched_equals_sequential_within_float_tolerance(model_name, kind):
    channel = Channel("rayleigh")
    m1, j1 = _setup(model_name, kind)
    r1 = Trainer(channel, torch.device("cpu")).run(j1)
    m2, j2 = _setup(model_name, kind)
    r2 = BatchedTrainer(channel, torch.device("cpu")).run(j2)
    for a, b in zip(r1, r2):
        assert a.key == b.key and a.steps == b.steps and a.passes == b.passes
        assert a.loss == pytest.approx(b.loss, rel=1e-4)
        assert a.reports.keys() == b.reports.keys()
        if kind == "fedavg":
            for x, y in zip(a.reports["grad_mean"], b.reports["grad_mean"], strict=True):
                torch.testing.assert_close(x, y, rtol=1e-3, atol=1e-5)
    for job_a, job_b in zip(j1, j2):
        for x, y in zip(job_a.trainable(), job_b.trainable()):
            torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5)


def test_batched_run_matches_sequential_run(tmp_path):
    raw = tiny_scenario_dict()
    sequential = run_scenario(validate(raw), out_dir=tmp_path / "seq").summary
    raw["simulation"]["trainer"] = "batched"
    batched = run_scenario(validate(raw), out_dir=tmp_path / "bat").summary
    assert (tmp_path / "seq" / "events.jsonl").read_bytes() == (tmp_path / "bat" / "events.jsonl").read_bytes()
    assert batched["psnr_db"] == pytest.approx(sequential["psnr_db"], abs=0.01)
    for a, b in zip(sequential["links"], batched["links"]):
        assert a["psnr_db"] == pytest.approx(b["psnr_db"], abs=0.01)
