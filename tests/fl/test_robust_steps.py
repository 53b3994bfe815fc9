"""Aggregation rules, server steps and faults inside the global step and FineFed's
decoder step, against the same computations done by hand on the replies."""

import copy

import pytest
import torch

from semnet.errors import ScenarioError
from semnet.fl.algorithms.federated import FederatedStrategy, _ordered_parameters
from semnet.fl.execution.trainer import JobResult, LossTask, TrainJob
from semnet.fl.loop.context import ClientPlan
from semnet.fl.loop.strategy import ClientReply
from semnet.fl.methods.finefed import DecoderStep, PersonalModels
from semnet.scenario import validate
from semnet.scenario.robust import FaultsSpec
from semnet.sim import Task
from tests.fl.conftest import build_context, tiny_scenario_dict


def _noise(params, seed, scale=0.1):
    gen = torch.Generator().manual_seed(seed)
    return [p.detach() + scale * torch.randn(p.shape, generator=gen) for p in params]


def _global_reply(strategy, user, params):
    local = copy.deepcopy(strategy.model)
    with torch.no_grad():
        for p, v in zip(_ordered_parameters(local), params, strict=True):
            p.copy_(v)
    job = TrainJob(key=user, encoder=local.encoder, tasks=[LossTask(local.decoder, [10.0])], data=None, steps=1)
    return ClientReply(ClientPlan(Task(key=user, node=user)), [job], [JobResult(user, 1, 1, 0.0, [0.0])])


def _scenario(users=4, faults=None, federated_rule=None, **finetune):
    raw = tiny_scenario_dict()
    raw["topology"]["num_users"] = users
    if federated_rule:
        raw["method"]["federated"]["aggregation"] = {"rule": federated_rule}
    raw["method"]["finetune"].update(finetune)
    if faults:
        raw["faults"] = faults
    return validate(raw)


def test_the_global_step_moves_the_model_to_the_coordinate_median():
    scenario = _scenario(federated_rule="median")
    ctx, _ = build_context(scenario)
    spec = scenario.method.federated
    strategy = FederatedStrategy(ctx, ctx.data.new_model(), spec)
    start = _ordered_parameters(strategy.model)
    y = {u: _noise(start, 10 + u) for u in ctx.topology.users}
    strategy.aggregate(1, [_global_reply(strategy, u, y[u]) for u in ctx.topology.users], [])
    for k, p in enumerate(_ordered_parameters(strategy.model)):
        ordered = torch.stack([y[u][k] for u in ctx.topology.users]).sort(dim=0).values
        assert torch.allclose(p.detach(), (ordered[1] + ordered[2]) / 2, atol=1e-6)  # 4 users: mean of the middle two


def test_a_sign_flipping_client_enters_the_global_mean_negated():
    scenario = _scenario(faults={"users": [1], "kind": "sign_flip", "steps": ["global"]})
    ctx, _ = build_context(scenario)
    strategy = FederatedStrategy(ctx, ctx.data.new_model(), scenario.method.federated)
    start = [p.detach().clone() for p in _ordered_parameters(strategy.model)]
    y = {u: _noise(start, 20 + u) for u in ctx.topology.users}
    strategy.aggregate(1, [_global_reply(strategy, u, y[u]) for u in ctx.topology.users], [])
    signs = {u: (-1.0 if u == 1 else 1.0) for u in ctx.topology.users}  # the iid users hold equal data
    for k, p in enumerate(_ordered_parameters(strategy.model)):
        expected = start[k] + sum(signs[u] * (y[u][k] - start[k]) for u in ctx.topology.users) / 4
        assert torch.allclose(p.detach(), expected, atol=1e-6)


def _decoder_replies(models, copies):
    replies = []
    for (i, j), params in copies.items():
        trained = copy.deepcopy(models.decoders[j])
        with torch.no_grad():
            for p, v in zip(trained.parameters(), params, strict=True):
                p.copy_(v)
        job = TrainJob(key=(i, j), encoder=models.encoders[i], tasks=[LossTask(trained, [(i, j)])], data=None,
                       steps=1)
        replies.append(ClientReply(ClientPlan(Task(key=(i, j), node=i)), [job], [JobResult((i, j), 1, 1, 0.0, [0.0])]))
    return replies


def test_finefed_decoders_take_the_rule_the_faults_and_a_server_optimiser():
    # receiver 0 of a 4-user complete graph has transmitters 1, 2, 3; transmitter 3 scales its update by 5
    scenario = _scenario(faults={"users": [3], "kind": "scaled", "factor": 5.0, "steps": ["decoders"]},
                         decoder_aggregation={"rule": "median"},
                         decoder_server={"algorithm": "fedavgm", "options": {"momentum": 0.5, "server_lr": 1.0}})
    ctx, _ = build_context(scenario)
    models = PersonalModels(ctx.data.new_model(), ctx.topology.users)
    w0 = [p.detach().clone() for p in models.decoders[0].parameters()]
    y = {i: _noise(w0, 30 + i) for i in (1, 2, 3)}
    d = {i: [a - b for a, b in zip(y[i], w0)] for i in y}
    d[3] = [5 * t for t in d[3]]
    median = [torch.stack([d[i][k] for i in d]).median(dim=0).values for k in range(len(w0))]  # 3: the middle
    step = DecoderStep(ctx, models, scenario.method.finetune, 1)
    step.aggregate(1, _decoder_replies(models, {(i, 0): y[i] for i in y}), [])
    # FedAvgM: v1 = w0 - (w0 + median) = -median; w1 = w0 - v1
    w1 = [w + m for w, m in zip(w0, median)]
    for p, e in zip(models.decoders[0].parameters(), w1, strict=True):
        assert torch.allclose(p.detach(), e, atol=1e-6)
    # the same copies again (their updates now relative to w1): v2 = 0.5 v1 - median2, w2 = w1 - v2
    step.aggregate(2, _decoder_replies(models, {(i, 0): y[i] for i in y}), [])
    d2 = {i: [a - b for a, b in zip(y[i], w1)] for i in y}
    d2[3] = [5 * t for t in d2[3]]
    median2 = [torch.stack([d2[i][k] for i in d2]).median(dim=0).values for k in range(len(w0))]
    for p, w, m, m2 in zip(models.decoders[0].parameters(), w1, median, median2, strict=True):
        assert torch.allclose(p.detach(), w - (0.5 * -m - m2), atol=1e-5)
    # one server state per receiver, kept on the models, built with the step (so that a resumed
    # run holds the objects its checkpoint restores into)
    assert set(models.decoder_servers) == {0, 1, 2, 3}


def test_the_default_decoder_step_is_the_weighted_average_of_the_copies():
    scenario = _scenario()
    ctx, _ = build_context(scenario)
    models = PersonalModels(ctx.data.new_model(), ctx.topology.users)
    w0 = [p.detach().clone() for p in models.decoders[2].parameters()]
    y = {i: _noise(w0, 40 + i) for i in (0, 1, 3)}
    DecoderStep(ctx, models, scenario.method.finetune, 1).aggregate(1, _decoder_replies(models, {(i, 2): y[i] for i in y}), [])
    for k, p in enumerate(models.decoders[2].parameters()):
        assert torch.equal(p.detach(), sum(y[i][k] / 3 for i in y)) or torch.allclose(p.detach(), sum(y[i][k] for i in y) / 3,
                                                                                        atol=1e-7)
    assert models.decoder_servers == {}  # the plain path builds no server


def test_krum_with_too_few_transmitters_is_one_line_before_training():
    scenario = _scenario(users=3, decoder_aggregation={"rule": "krum", "options": {"faulty": 1}})
    ctx, _ = build_context(scenario)
    models = PersonalModels(ctx.data.new_model(), ctx.topology.users)
    with pytest.raises(ScenarioError, match=r"decoder_aggregation.options: receiver 0 has 2 transmitters: .*faulty 1 "
                                            r"needs more than 2 x 1 \+ 2 = 4 updates"):
        DecoderStep(ctx, models, scenario.method.finetune, 1)


@pytest.mark.parametrize("raw,needle", [
    ({"users": [0], "kind": "gaussian"}, "faults.std"),
    ({"users": [0], "kind": "scaled", "factor": 2, "std": 1}, "faults.std"),
    ({"users": [0, 0], "kind": "sign_flip"}, "listed twice"),
    ({"users": [9], "kind": "sign_flip"}, "faults.users = 9: not a node; allowed 0..3"),
    ({"users": [0], "kind": "noise"}, "faults.kind"),
])
def test_bad_faults_are_one_line(raw, needle):
    from semnet.errors import ScenarioError as Err
    with pytest.raises(Err) as err:
        _scenario(faults=raw)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_faults_are_off_by_default():
    assert _scenario().faults is None
    assert FaultsSpec(users=[1], kind="sign_flip").steps == ("global", "decoders")


@pytest.mark.parametrize("federated,finetune,needle", [
    ({"aggregation": {"rule": "krum", "options": {"faulty": 1}}}, {},
     "method.federated.aggregation.options: 4 clients per round: rule 'krum' faulty 1 needs more than 2 x 1 + 2 = 4 "
     "updates, and there are 4; allowed: faulty <= 0"),
    ({"aggregation": {"rule": "trimmed_mean", "options": {"trim_fraction": 0.2}}}, {},
     "trim_fraction 0.2 of 4 updates trims none"),
    ({"aggregation": {"rule": "median", "options": {"faulty": 1}}}, {}, "rule 'median' takes no options"),
    ({"algorithm": "scaffold", "aggregation": {"rule": "median"}}, {}, "algorithm 'scaffold' averages its updates itself"),
    ({}, {"decoder_server": {"algorithm": "feddyn"}}, "decoder_server.algorithm = 'feddyn': its clients train "
     "differently, not just its server; allowed: fedavg, fedavgm, fedadagrad, fedadam, fedyogi"),
    ({}, {"decoder_server": {"algorithm": "fedyogi", "options": {"momentum": 0.9}}},
     "decoder_server.options.momentum: not an option of algorithm 'fedyogi'"),
    ({}, {"decoder_aggregation": {"rule": "krum", "options": {"faulty": -1}}},
     "decoder_aggregation.options.faulty = -1"),
])
def test_bad_rules_and_servers_are_one_line(federated, finetune, needle):
    raw = tiny_scenario_dict()
    raw["topology"]["num_users"] = 4
    raw["method"]["federated"].update(federated)
    raw["method"]["finetune"].update(finetune)
    with pytest.raises(ScenarioError) as err:
        validate(raw)
    assert needle in str(err.value) and "\n" not in str(err.value)
