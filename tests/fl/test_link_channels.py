"""Each image link's own channel, in every consumer that sends symbols: the evaluator,
the trainers (a task's images meet the channels of the links their SNRs are from),
the batched and the parallel trainer, a whole run."""

import json
import re

import pytest
import torch
from torch import nn

from semnet.channels import complex_normal_torch
from semnet.data import BatchStream
from semnet.fl.execution.batched import BatchedTrainer
from semnet.fl.loop.evaluation import LinkEvaluator
from semnet.fl.execution.parallel import ParallelTrainer
from semnet.fl.execution.trainer import LossTask, Trainer, TrainJob
from semnet.fl.loop.traffic import ImageDecoder
from semnet.models import Channel
from semnet.models.deep_jscc import DeepJSCC
from semnet.channels.layer.link_channels import LinkChannels, RoutedChannel
from semnet.net.network import build_network
from semnet.assembly import link_channels
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.sim.traffic import ImageSent
from tests.fl.conftest import build_context, tiny_scenario_dict

FADED = {"src": 0, "dst": 1, "fading": "rayleigh", "csi": False}
LEVEL = 0.24902  # |x - 0.5| of every pixel of _two_level_images


def _tiny(**links) -> dict:
    raw = tiny_scenario_dict()
    raw["links"] = {"snr_db": 10.0, "overrides": [FADED], **links}
    return raw


def _two_level_images(n=8, seed=0):
    """Pixels 64 or 191 (0.5 -/+ LEVEL): every image has the same symbol power, so the
    transparent pair below knows the power normalisation's scale."""
    bits = torch.randint(0, 2, (n, 3, 8, 8), generator=torch.Generator().manual_seed(seed))
    return (64 + 127 * bits).to(torch.uint8)


class _Flat(nn.Module):
    """x -> x - 0.5 as the latent: the symbols are the pixels."""

    def forward(self, x, snr_db):
        return x - 0.5


class _Unflat(nn.Module):
    """Undo the power normalisation (unit power <- LEVEL) and the shift."""

    def forward(self, latent, snr_db):
        return latent * LEVEL + 0.5


def test_the_evaluator_scores_each_link_through_its_own_channel():
    scenario = validate(_tiny())
    net = build_network(scenario.topology, scenario.links, scenario.seed)
    chans = link_channels(scenario, net)
    images = {0: _two_level_images()}
    links = [(0, 1), (0, 2)]  # one sender, equal SNR: only the channel differs
    snr = {link: net.link(*link).snr_db for link in links}
    assert snr[(0, 1)] == snr[(0, 2)] == 10.0
    def score(channels):
        evaluator = LinkEvaluator(links, snr, images, channels, torch.device("cpu"), seed=1, with_ssim=False)
        return {(q.src, q.dst): q.psnr_db for q in evaluator.evaluate(lambda i: _Flat(), lambda j: _Unflat())}

    per_link = score(chans)
    assert per_link[(0, 2)] > 17.0  # AWGN at 10 dB through a transparent pair (about 19.8 dB)
    assert per_link[(0, 2)] - per_link[(0, 1)] > 5.0  # an unknown complex gain wrecks the images (7.6 dB)
    uniform = score(chans.default)
    assert abs(uniform[(0, 1)] - uniform[(0, 2)]) < 1.0  # the gap is the channel's, not the link's
    assert uniform[(0, 2)] == per_link[(0, 2)]


class _Transparent(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = _Flat(), _Unflat()


def test_live_images_meet_their_links_channels():
    chans = LinkChannels(Channel("none"), {(0, 1): Channel("rayleigh", csi=False)})
    decoder = ImageDecoder({0: _two_level_images(32)}, chans, torch.device("cpu"), seed=5, new_model=_Transparent)
    images = [ImageSent(0, dst, n, 0.0, 0.0, 0.01, 10.0, None, {}) for n in range(32) for dst in (1, 2)]
    psnr = decoder.psnr(images, [("v", "v")] * len(images), {"v": {}}, "main")
    faded = [p for image, p in zip(images, psnr) if image.dst == 1]
    awgn = [p for image, p in zip(images, psnr) if image.dst == 2]
    assert sum(awgn) / len(awgn) - sum(faded) / len(faded) > 5.0
    # an image's draws are its own: decoded alone it scores what it scored in the mixed batch
    alone = decoder.psnr(images[:1], [("v", "v")], {"v": {}}, "main")
    assert alone[0] == pytest.approx(psnr[0], abs=1e-4)


def test_a_job_on_a_faded_link_draws_its_gains_and_a_mixed_job_routes_each_image(monkeypatch):
    scenario = validate(_tiny())
    ctx, _ = build_context(scenario)
    net = build_network(scenario.topology, scenario.links, scenario.seed)
    chans = link_channels(scenario, net)
    faded = chans.of(0, 1)
    # the tasks the methods build: a FedAvg client at its out-links, a decoder at one link
    out_task = ctx.data.loss_task(nn.Identity(), ctx.topology.out_links(0))
    assert list(out_task.links) == [(0, 1), (0, 2)] and list(out_task.snr_db) == [10.0, 10.0]
    draws = []
    real = type(faded.fading).sample_torch

    def spy(self, batch, generator, device, dtype):
        draws.append((self is faded.fading, batch))
        return real(self, batch, generator, device, dtype)

    monkeypatch.setattr(type(faded.fading), "sample_torch", spy)
    model = DeepJSCC(latent_channels=4, width=0.25).init_weights(torch.Generator().manual_seed(0))
    images = torch.randint(0, 256, (16, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))

    def job(links, seed=7):
        task = ctx.data.loss_task(model.decoder, links)
        return TrainJob(key=0, encoder=model.encoder, tasks=[task], data=BatchStream(images, 8, seed=0), steps=1,
                        generator=torch.Generator().manual_seed(seed))

    trainer = Trainer(chans, torch.device("cpu"))
    trainer.run([job([(0, 2)])])
    assert draws == []  # an AWGN link draws no gain
    trainer.run([job([(0, 1)])])
    assert draws == [(True, 8)]  # every image of a job on 0 -> 1 meets its Rayleigh gain
    draws.clear()
    trainer.run([job([(0, 1), (0, 2)])])
    # the images whose SNR came from 0 -> 1 (entry 0), drawn as the trainer draws them
    expected = int((torch.randint(2, (8,), generator=torch.Generator().manual_seed(7)) == 0).sum())
    assert 0 < expected < 8 and draws == [(True, expected)]


def test_a_routed_batch_equals_each_image_sent_through_its_own_channel():
    awgn, faded = Channel("none"), Channel("rayleigh", csi=False)
    z = torch.randn(6, 32, dtype=torch.complex64, generator=torch.Generator().manual_seed(0))
    which = torch.tensor([0, 1, 1, 0, 1, 0])
    routed = RoutedChannel([awgn, faded], which)(z, 5.0, generator=torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)  # the faded images' gains first, then the batch's noise
    h = torch.ones(6, dtype=torch.complex64)
    h[which == 1] = faded.fading.sample_torch(3, gen, torch.device("cpu"), torch.float32)
    noise = complex_normal_torch((6, 32), gen, torch.device("cpu"), torch.float32)
    for b in range(6):
        channel = faded if which[b] else awgn
        one = channel(z[b:b + 1], 5.0, gain=h[b:b + 1], noise=noise[b:b + 1])
        torch.testing.assert_close(routed[b:b + 1], one)


def _jobs(links_of, seed=0):
    models = [DeepJSCC(latent_channels=4, width=0.25).init_weights(torch.Generator().manual_seed(s))
              for s in range(3)]
    streams = [BatchStream(torch.randint(0, 256, (24, 3, 16, 16), dtype=torch.uint8,
                                         generator=torch.Generator().manual_seed(s)), 6, seed=s) for s in range(3)]
    jobs = [TrainJob(key=u, encoder=models[u].encoder, tasks=[LossTask(models[u].decoder, [5.0] * len(links),
                                                                       links=links)],
                     data=streams[u], steps=3, generator=torch.Generator().manual_seed(10 + u))
            for u, links in enumerate(links_of)]
    return models, jobs


LINKS_OF = [[(0, 1), (0, 2)], [(1, 0)], [(2, 0), (0, 1)]]  # mixed, AWGN only, mixed


def _channels():
    return LinkChannels(Channel("none"), {(0, 1): Channel("rayleigh", csi=False)})


def test_batched_trainer_routes_each_image_as_the_sequential_one():
    m1, j1 = _jobs(LINKS_OF)
    r1 = Trainer(_channels(), torch.device("cpu")).run(j1)
    m2, j2 = _jobs(LINKS_OF)
    r2 = BatchedTrainer(_channels(), torch.device("cpu")).run(j2)
    m3, j3 = _jobs(LINKS_OF)
    r3 = Trainer(Channel("none"), torch.device("cpu")).run(j3)  # the same jobs, one channel
    for a, b in zip(r1, r2):
        assert a.loss == pytest.approx(b.loss, rel=1e-4)
    assert r1[1].loss == r3[1].loss  # the AWGN-only job is unchanged; the routed ones are not
    assert r1[0].loss != r3[0].loss and r1[2].loss != r3[2].loss
    for a, b in zip(m1, m2):
        for x, y in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5)


def test_parallel_trainer_ships_the_link_channels():
    m1, j1 = _jobs(LINKS_OF)
    r1 = Trainer(_channels(), torch.device("cpu")).run(j1)
    m2, j2 = _jobs(LINKS_OF)
    trainer = ParallelTrainer(_channels(), torch.device("cpu"), workers=2)
    r2 = trainer.run(j2)
    assert trainer.stats["shipped_jobs"] == 3
    assert [r.loss for r in r1] == [r.loss for r in r2]
    for a, b in zip(m1, m2):
        for x, y in zip(a.state_dict().values(), b.state_dict().values()):
            assert torch.equal(x, y)


def _numbers(summary: dict) -> str:
    """The summary without what may differ between equal runs: wall time, and the
    threads and workers it ran with (``execution``)."""
    summary = {k: v for k, v in summary.items() if k != "execution"}
    return re.sub(r'"wall_time_s": [0-9.eE+-]+', "", json.dumps(summary, sort_keys=True))


def test_runs_with_per_link_channels_are_identical_for_one_and_two_workers(tmp_path):
    raw = _tiny()
    raw["method"]["controls"] = ["oracle", "fedper"]
    raw["method"]["personal"] = {"rounds": 1, "local": {"steps": 2, "batch_size": 8}}
    raw["method"]["oracle"] = {"rounds": 1, "local": {"steps": 2, "batch_size": 8}}
    raw["links"]["rate"] = {"mode": "shannon", "packet_bits": 12000, "max_retries": 4}
    out = {}
    for workers in (1, 2):
        raw["simulation"]["workers"] = workers
        result = run_scenario(validate(raw), out_dir=tmp_path / f"w{workers}")
        out[workers] = ((result.path / "events.jsonl").read_bytes(), _numbers(result.summary), result.summary)
    assert out[1][0] == out[2][0] and out[1][1] == out[2][1]
    summary = out[1][2]
    assert summary["network"]["link_channels"] == [{"src": 0, "dst": 1, "fading": "rayleigh", "csi": False}]
    # the faded link's model packets met outages and were resent; an AWGN link's went once each
    resent = {}
    for line in out[1][0].decode().splitlines():
        event = json.loads(line)
        if event.get("src") in (0, 1, 2) and event.get("dst") in (0, 1, 2) and "attempts" in event:
            packets = -(-event["bits"] // 12000)
            resent.setdefault((event["src"], event["dst"]), []).append(event["attempts"] - packets)
    assert len(resent) == 6
    assert all(extra == 0 for link, values in resent.items() if link != (0, 1) for extra in values)
    assert max(resent[(0, 1)]) > 0
