"""Behavioural checks of the federated algorithms, FineFed's task weights and the
fair-comparison controls: each test fails if the behaviour it names breaks (a random
model would pass a ``psnr_db > 5`` check; these would not)."""

import copy
import json

import pytest
import torch

from semnet.data import BatchStream
from semnet.fl.loop.context import ClientPlan
from semnet.fl.algorithms.federated import FederatedStrategy, FedProxStrategy, _ordered_parameters
from semnet.fl.algorithms.scaffold import ScaffoldStrategy
from semnet.fl.methods.finefed import EncoderStep, PersonalModels, task_weights
from semnet.fl.loop.strategy import ClientReply
from semnet.fl.algorithms.client_terms import GradientCorrection, GradientMean, ProximalTerm
from semnet.fl.execution.trainer import JobResult, LossTask, Trainer, TrainJob
from semnet.models import Channel
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.sim import Task
from tests.fl.conftest import build_context as _build_ctx, tiny_scenario_dict




def _images(n=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)


def _flat(params):
    return torch.cat([p.detach().reshape(-1) for p in params])


# --------------------------------------------------------------------------- 1. FedProx


def _prox_job(model, mu, reference, images):
    return TrainJob(
        key=0, encoder=model.encoder, tasks=[LossTask(model.decoder, [10.0])],
        data=BatchStream(images, 8, seed=11), steps=5, lr=0.05, optimizer="sgd",
        terms=(ProximalTerm(mu, reference),) if mu else (), generator=torch.Generator().manual_seed(5),
    )


def test_fedprox_term_pulls_weights_toward_the_reference(tiny):
    scenario = tiny()
    ctx, _ = _build_ctx(scenario)
    start = ctx.data.new_model()
    reference = [p.detach().clone() for p in _ordered_parameters(start)]
    images = _images()
    distances = {}
    for mu in (0.0, 10.0):
        model = copy.deepcopy(start)
        job = _prox_job(model, mu, reference if mu else None, images)
        Trainer(Channel("none"), torch.device("cpu")).run([job])
        distances[mu] = torch.linalg.vector_norm(_flat(job.trainable()) - _flat(reference)).item()
    assert distances[0.0] > 0  # plain training moves the weights
    assert distances[10.0] < distances[0.0]

    # the spec's mu reaches every FedProx job (with the reference = the global weights); FedAvg's is 0
    spec = scenario.method.federated.model_copy(update={"mu": 0.37})
    model = ctx.data.new_model()
    prox_job = FedProxStrategy(ctx, model, spec).job(1, 1)
    (term,) = prox_job.terms
    assert isinstance(term, ProximalTerm) and term.mu == 0.37
    assert len(term.reference) == len(prox_job.trainable())
    for r, p in zip(term.reference, _ordered_parameters(model)):
        assert torch.equal(r, p.detach())
    avg_job = FederatedStrategy(ctx, model, spec).job(1, 1)
    assert avg_job.terms == ()


# --------------------------------------------------------------------------- 2. SCAFFOLD


def _like(params, seed, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    return [scale * torch.randn(p.shape, generator=gen) for p in params]


def _scaffold_reply(strategy, user, y, g):
    """A reply of ``user`` whose trained parameters are ``y`` and mean gradient ``g``."""
    local = copy.deepcopy(strategy.model)
    with torch.no_grad():
        for p, v in zip(_ordered_parameters(local), y, strict=True):
            p.copy_(v)
    job = TrainJob(key=user, encoder=local.encoder, tasks=[LossTask(local.decoder, [10.0])], data=None, steps=1)
    result = JobResult(key=user, steps=1, passes=1, loss=0.0, task_losses=[0.0],
                       reports={"grad_mean": [t.clone() for t in g]})
    return ClientReply(ClientPlan(Task(key=user, node=user)), [job], [result])


@pytest.mark.parametrize("repliers", [[0, 1, 2], [0, 2]])
def test_scaffold_aggregate_follows_the_control_variate_rule(tiny, repliers):
    scenario = tiny(name="scaffold")
    ctx, _ = _build_ctx(scenario)
    spec = scenario.method.federated.model_copy(update={"server_lr": 0.5})
    strategy = ScaffoldStrategy(ctx, ctx.data.new_model(), spec)
    users = ctx.topology.users
    n = len(users)
    params = _ordered_parameters(strategy.model)
    x0 = [p.detach().clone() for p in params]
    # known server and client control variates
    strategy.c = _like(params, 100)
    c_old = {u: _like(params, 200 + u) for u in users}
    strategy.c_local = {u: [t.clone() for t in c_old[u]] for u in users}
    c0 = [t.clone() for t in strategy.c]
    # the correction a job gets is c - c_i
    for u in users:
        correction = _correction(strategy.job(u, 1))
        for corr, c, ci in zip(correction, c0, c_old[u], strict=True):
            assert torch.allclose(corr, c - ci)

    y = {u: [a + b for a, b in zip(x0, _like(params, 300 + u, 0.1))] for u in repliers}
    g = {u: _like(params, 400 + u) for u in repliers}
    replies = [_scaffold_reply(strategy, u, y[u], g[u]) for u in repliers]
    strategy.aggregate(1, replies, [])

    s = len(repliers)
    expected_x = [x0[k] + 0.5 * sum(y[u][k] - x0[k] for u in repliers) / s for k in range(len(x0))]
    expected_c = [c0[k] + (s / n) * sum(g[u][k] - c_old[u][k] for u in repliers) / s for k in range(len(x0))]
    for p, e in zip(_ordered_parameters(strategy.model), expected_x, strict=True):
        assert torch.allclose(p.detach(), e, atol=1e-6)
    for c, e in zip(strategy.c, expected_c, strict=True):
        assert torch.allclose(c, e, atol=1e-6)
    for u in users:
        expected_ci = g[u] if u in repliers else c_old[u]
        for ci, e in zip(strategy.c_local[u], expected_ci, strict=True):
            assert torch.equal(ci, e)
    # the next round's correction uses the updated variates
    for u in users:
        correction = _correction(strategy.job(u, 2))
        expected_ci = g[u] if u in repliers else c_old[u]
        for corr, c, ci in zip(correction, expected_c, expected_ci, strict=True):
            assert torch.allclose(corr, c - ci, atol=1e-6)
    # the raw gradients are recorded before the correction changes them
    assert [type(t) for t in strategy.job(0, 2).terms] == [GradientMean, GradientCorrection]


def _correction(job):
    (correction,) = [t.correction for t in job.terms if isinstance(t, GradientCorrection)]
    return correction


# --------------------------------------------------------------------------- 3. task weights

TRAFFIC = [[0.0, 3.0, 1.0], [1.0, 0.0, 0.0], [2.0, 2.0, 0.0]]


def test_traffic_task_weights_are_the_normalised_transmit_weights():
    raw = tiny_scenario_dict(finetune={"iterations": 1, "task_weights": "traffic",
                                       "encoder": {"steps": 1, "batch_size": 8},
                                       "decoder": {"steps": 1, "batch_size": 8}})
    raw["topology"].update(transmit="traffic", traffic=TRAFFIC)
    scenario = validate(raw)
    ctx, _ = _build_ctx(scenario)
    assert ctx.topology.receivers(0) == [1, 2] and ctx.topology.receivers(1) == [0] and ctx.topology.receivers(2) == [0, 1]
    for i in ctx.topology.users:
        receivers = ctx.topology.receivers(i)
        row = [TRAFFIC[i][j] for j in receivers]
        assert task_weights(ctx, i, receivers, "traffic") == pytest.approx([w / sum(row) for w in row])
        assert task_weights(ctx, i, receivers, "uniform") == pytest.approx([1 / len(receivers)] * len(receivers))
    assert task_weights(ctx, 0, [1, 2], "traffic") == pytest.approx([0.75, 0.25])
    # the encoder step's loss tasks carry those weights, one per receiver, at that link's SNR
    models = PersonalModels(ctx.data.new_model(), ctx.topology.users)
    plans = EncoderStep(ctx, models, scenario.method.finetune, 1).configure(1)
    for plan in plans:
        i = plan.task.key
        (job,) = plan.make_jobs()
        receivers = ctx.topology.receivers(i)
        assert [t.weight for t in job.tasks] == pytest.approx(task_weights(ctx, i, receivers, "traffic"))
        assert [t.decoder for t in job.tasks] == [models.decoders[j] for j in receivers]
        assert [list(t.snr_db) for t in job.tasks] == [[ctx.topology.link_snr(i, j)] for j in receivers]
        assert job.train == ("encoder",)


def _encoder_job(start, decoders, weights, snrs):
    encoder = copy.deepcopy(start.encoder)
    tasks = [LossTask(d, [s], w) for d, s, w in zip(decoders, snrs, weights)]
    # one step: with more, the second task's channel draws would shift the first task's
    # later draws on the shared generator
    return TrainJob(key=0, encoder=encoder, tasks=tasks, data=BatchStream(_images(), 8, seed=21), steps=1,
                    train=("encoder",), lr=0.01, optimizer="adam", generator=torch.Generator().manual_seed(9))


def test_task_weights_shape_the_encoder_update(tiny):
    scenario = tiny()
    ctx, _ = _build_ctx(scenario)
    start = ctx.data.new_model()
    dec_a = copy.deepcopy(start.decoder)
    dec_b = ctx.data.new_model().decoder
    with torch.no_grad():  # a second decoder that really differs
        for p in dec_b.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    frozen = [p.detach().clone() for d in (dec_a, dec_b) for p in d.parameters()]
    snrs = [10.0, 0.0]
    only_a = _encoder_job(start, [dec_a], [1.0], snrs[:1])
    weighted_10 = _encoder_job(start, [dec_a, dec_b], [1.0, 0.0], snrs)
    weighted_55 = _encoder_job(start, [dec_a, dec_b], [0.5, 0.5], snrs)
    r_a, r_10, r_55 = Trainer(Channel("none"), torch.device("cpu")).run([only_a, weighted_10, weighted_55])
    enc = {k: _flat(j.encoder.parameters()) for k, j in (("a", only_a), ("10", weighted_10), ("55", weighted_55))}
    assert not torch.equal(enc["a"], _flat(start.encoder.parameters()))  # it trained
    assert torch.equal(enc["10"], enc["a"])  # a zero-weighted task does not move the encoder
    assert not torch.allclose(enc["55"], enc["a"])  # a weighted second task does
    # decoders are frozen in an encoder-only job
    assert all(torch.equal(a, b) for a, b in zip(frozen, [p for d in (dec_a, dec_b) for p in d.parameters()]))
    # JobResult.loss is the weighted task MSE (trainer.JobResult), passes = steps x tasks
    assert r_10.task_losses[0] == r_a.task_losses[0]
    for result, weights in ((r_a, [1.0]), (r_10, [1.0, 0.0]), (r_55, [0.5, 0.5])):
        assert len(result.task_losses) == len(weights)
        assert result.loss == pytest.approx(sum(w * t for w, t in zip(weights, result.task_losses)))
        assert result.passes == len(weights)
    assert r_10.loss == pytest.approx(r_a.loss)
    assert r_55.task_losses[1] != r_55.task_losses[0]


# --------------------------------------------------------------------------- 4. controls' budgets

CONTROLS = ["compute_matched", "bytes_matched", "local_finetune", "fedper", "ditto"]


def test_each_control_spends_the_budget_it_reports(tmp_path):
    raw = tiny_scenario_dict(
        federated={"rounds": 1, "local": {"steps": 4, "batch_size": 8}},
        finetune={"iterations": 1, "encoder": {"steps": 2, "batch_size": 8}, "decoder_rounds": 1,
                  "decoder": {"steps": 1, "batch_size": 8}},
        personal={"rounds": 1, "local": {"steps": 5, "batch_size": 8}},
        controls=CONTROLS,
    )
    raw["output"]["checkpoints"] = False
    scenario = validate(raw)
    summary = run_scenario(scenario, out_dir=tmp_path / "c").summary
    budget = summary["finetune_budget"]
    controls = {c["name"]: c for c in summary["controls"]}
    assert set(controls) == set(CONTROLS)
    users = summary["network"]["users"]
    links = summary["network"]["image_links"]
    samples = summary["data"]["train_images"] // users
    method = scenario.method
    # FineFed's budget: encoder step (steps x receivers per user) + decoder step (steps per link)
    assert budget["local_passes"] == (method.finetune.encoder.steps_for(samples) * links
                                      + method.finetune.decoder_rounds * method.finetune.decoder.steps_for(samples)
                                      * links)
    assert budget["bytes"] > 0

    federated_round = users * method.federated.local.steps_for(samples)
    personal_round = users * method.personal.local.steps_for(samples)
    passes_per_round = {"compute_matched": federated_round, "fedper": personal_round, "ditto": 2 * personal_round,
                        "local_finetune": links}
    for name, per_round in passes_per_round.items():
        spent = controls[name]["local_passes"]
        assert budget["local_passes"] <= spent < budget["local_passes"] + per_round, name

    assert controls["local_finetune"]["bytes"] == 0  # every user holds the global decoder

    # the budget is what the main branch's fine-tuning events show, and every control's reported
    # bytes are its branch's events
    events = [json.loads(line) for line in (tmp_path / "c" / "events.jsonl").read_text().splitlines()]
    assert budget["bytes"] == sum(e["bits"] for e in events if e["branch"] == "main"
                                  and e["phase"].startswith("finefed_")) // 8
    for name, control in controls.items():
        bits = sum(e["bits"] for e in events if e["branch"] == f"control_{name}")
        assert bits % 8 == 0
        assert control["bytes"] == bits // 8, name

    _bytes_matched_spends_the_budget_to_the_round(events, budget, controls["bytes_matched"], users)
    # the passes-matched controls: one round less would not reach the budget
    for name in ("compute_matched", "fedper", "ditto"):
        spent, rounds = controls[name]["local_passes"], controls[name]["rounds"]
        assert spent >= budget["local_passes"] > spent - spent // rounds, name


def _bytes_matched_spends_the_budget_to_the_round(events, budget, control, users):
    """Its events (final broadcast included) reach the budget, and one round less would not."""
    mine = [e for e in events if e["branch"] == "control_bytes_matched"]
    last = control["rounds"]
    assert {e["round"] for e in mine} == set(range(1, last + 2))  # its rounds, then the broadcast
    assert sorted(e["dst"] for e in mine if e["round"] == last + 1) == list(range(users))
    assert sum(e["bits"] for e in mine) // 8 >= budget["bytes"]
    # one round less: the same broadcast after one round fewer (none at all without rounds)
    fewer = sum(e["bits"] for e in mine if e["round"] != last) // 8 if last > 1 else 0
    assert fewer < budget["bytes"]
    # its first round sends no model down: every user holds the start
    assert {e["kind"] for e in mine if e["round"] == 1} == {"model_update"}
    return last


def test_the_bytes_matched_control_stops_at_the_first_round_that_reaches_the_budget(tmp_path):
    raw = tiny_scenario_dict(
        federated={"rounds": 1, "local": {"steps": 2, "batch_size": 8}},
        finetune={"iterations": 3, "encoder": {"steps": 1, "batch_size": 8}, "decoder_rounds": 2,
                  "decoder": {"steps": 1, "batch_size": 8}},
        controls=["bytes_matched"],
    )
    raw["output"]["checkpoints"] = False
    summary = run_scenario(validate(raw), out_dir=tmp_path / "c").summary
    events = [json.loads(line) for line in (tmp_path / "c" / "events.jsonl").read_text().splitlines()]
    last = _bytes_matched_spends_the_budget_to_the_round(events, summary["finetune_budget"],
                                                         summary["controls"][0], summary["network"]["users"])
    assert last > 1


def test_a_budget_of_no_bytes_leaves_the_bytes_matched_control_at_the_start(tmp_path):
    # encoder-only FineFed, one iteration: every transmitter holds the decoders it trains against
    raw = tiny_scenario_dict(name="finefed_encoder_only", controls=["bytes_matched", "compute_matched"])
    raw["output"]["checkpoints"] = False
    summary = run_scenario(validate(raw), out_dir=tmp_path / "c").summary
    assert summary["finetune_budget"]["bytes"] == 0 and summary["finetune_budget"]["local_passes"] > 0
    controls = {c["name"]: c for c in summary["controls"]}
    matched = controls["bytes_matched"]
    assert matched["rounds"] == 0 and matched["bytes"] == 0 and matched["local_passes"] == 0
    assert matched["psnr_db"] == summary["phases"][0]["psnr_db"]  # the start, scored on the same channel draws
    assert controls["compute_matched"]["rounds"] >= 1
