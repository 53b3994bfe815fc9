"""Algorithms own their client logic: terms every trainer applies the same way, server
steps checked against closed forms, and algorithm options checked at the edge."""

import copy

import pytest
import torch

from semnet.data import BatchStream
from semnet.errors import ScenarioError
from semnet.fl.algorithms.aggregation import feddyn_server_step, momentum_server_step
from semnet.fl.execution.batched import BatchedTrainer
from semnet.fl.algorithms.client_terms import ClientTerm, LinearTerm, ProximalTerm
from semnet.fl.loop.context import ClientPlan
from semnet.fl.algorithms.fedavgm import FedAvgMStrategy
from semnet.fl.algorithms.feddyn import FedDynStrategy
from semnet.fl.algorithms.federated import FederatedStrategy, _ordered_parameters
from semnet.fl.execution.parallel import ParallelTrainer
from semnet.fl.loop.strategy import ClientReply
from semnet.fl.execution.trainer import JobResult, LossTask, Trainer, TrainJob
from semnet.models import Channel
from semnet.models.deep_jscc import DeepJSCC
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.sim import Task
from tests.fl.conftest import build_context, tiny_scenario_dict

# --------------------------------------------------------------------------- server steps, closed forms


def test_momentum_server_step_matches_hand_computed_rounds():
    w, v = [torch.tensor([1.0, -2.0])], [torch.zeros(2)]
    # round 1: d = w - avg = (0.5, -1); v = d; w = w - 0.5 v = (0.75, -1.5)
    w, v = momentum_server_step(w, [torch.tensor([0.5, -1.0])], v, server_lr=0.5, momentum=0.9)
    assert torch.allclose(v[0], torch.tensor([0.5, -1.0])) and torch.allclose(w[0], torch.tensor([0.75, -1.5]))
    # round 2: d = (0.75 - 0.25, -1.5 + 1.5) = (0.5, 0); v = 0.9 (0.5, -1) + d = (0.95, -0.9); w = w - 0.5 v
    w, v = momentum_server_step(w, [torch.tensor([0.25, -1.5])], v, server_lr=0.5, momentum=0.9)
    assert torch.allclose(v[0], torch.tensor([0.95, -0.9]))
    assert torch.allclose(w[0], torch.tensor([0.75 - 0.475, -1.5 + 0.45]))


def test_momentum_server_step_without_momentum_is_the_average():
    w, v = momentum_server_step([torch.tensor([3.0])], [torch.tensor([1.0])], [torch.tensor([7.0])], 1.0, 0.0)
    assert w[0].item() == 1.0 and v[0].item() == 2.0


def test_feddyn_server_step_matches_the_paper():
    # h' = h - alpha (m/n) (avg - w);  w' = avg - h'/alpha   (Acar et al. 2021, Algorithm 1)
    w, avg, h = [torch.tensor([2.0])], [torch.tensor([1.0])], [torch.tensor([0.1])]
    new_w, new_h = feddyn_server_step(w, avg, h, alpha=0.5, share=2 / 4)
    assert new_h[0].item() == pytest.approx(0.1 - 0.5 * 0.5 * (1.0 - 2.0))  # 0.35
    assert new_w[0].item() == pytest.approx(1.0 - 0.35 / 0.5)  # 0.3


# --------------------------------------------------------------------------- FedDyn and FedAvgM strategies


def _reply(strategy, user, params):
    local = copy.deepcopy(strategy.model)
    with torch.no_grad():
        for p, v in zip(_ordered_parameters(local), params, strict=True):
            p.copy_(v)
    job = TrainJob(key=user, encoder=local.encoder, tasks=[LossTask(local.decoder, [10.0])], data=None, steps=1)
    result = JobResult(key=user, steps=1, passes=1, loss=0.0, task_losses=[0.0])
    return ClientReply(ClientPlan(Task(key=user, node=user)), [job], [result])


def _like(params, seed, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    return [scale * torch.randn(p.shape, generator=gen) for p in params]


def _with_options(scenario, algorithm, **options):
    return scenario.method.federated.model_copy(update={"algorithm": algorithm, "options": options})


def test_feddyn_client_and_server_state_follow_the_rules(tiny):
    scenario = tiny()
    ctx, _ = build_context(scenario)
    alpha = 0.2
    strategy = FedDynStrategy(ctx, ctx.data.new_model(), _with_options(scenario, "feddyn", alpha=alpha))
    users = ctx.topology.users
    params = _ordered_parameters(strategy.model)
    x0 = [p.detach().clone() for p in params]
    repliers = [0, 2]
    g0 = {u: _like(params, 50 + u, 0.01) for u in users}
    strategy.g_local = {u: [t.clone() for t in g0[u]] for u in users}
    jobs = {u: strategy.job(u, 1) for u in repliers}
    for u, job in jobs.items():  # the job's terms: -<g_u, w> and alpha/2 ||w - w_start||^2
        linear, prox = job.terms
        assert isinstance(linear, LinearTerm) and isinstance(prox, ProximalTerm) and prox.mu == alpha
        assert all(torch.equal(a, b) for a, b in zip(linear.g, g0[u]))
        assert all(torch.equal(a, b) for a, b in zip(prox.reference, x0))
    y = {u: [a + b for a, b in zip(x0, _like(params, 300 + u, 0.1))] for u in repliers}
    strategy.aggregate(1, [_reply(strategy, u, y[u]) for u in repliers], [])

    weights = {u: ctx.data.samples(u) for u in repliers}
    total = sum(weights.values())
    avg = [sum(weights[u] * y[u][k] for u in repliers) / total for k in range(len(x0))]
    h = [-alpha * (len(repliers) / len(users)) * (avg[k] - x0[k]) for k in range(len(x0))]
    for p, a, hk in zip(_ordered_parameters(strategy.model), avg, h, strict=True):
        assert torch.allclose(p.detach(), a - hk / alpha, atol=1e-6)
    for hk, e in zip(strategy.h, h, strict=True):
        assert torch.allclose(hk, e, atol=1e-7)
    for u in users:
        expected = [g - alpha * (yk - xk) for g, yk, xk in zip(g0[u], y[u], x0)] if u in repliers else g0[u]
        for got, e in zip(strategy.g_local[u], expected, strict=True):
            assert torch.allclose(got, e, atol=1e-7)


def test_fedavgm_moves_by_momentum_and_without_it_is_fedavg(tiny):
    scenario = tiny()
    ctx, _ = build_context(scenario)
    start = ctx.data.new_model()
    params = _ordered_parameters(start)
    y = {u: [p.detach() + d for p, d in zip(params, _like(params, 70 + u, 0.1))] for u in ctx.topology.users}

    def aggregated(strategy, rounds=1):
        for rnd in range(rounds):
            strategy.aggregate(rnd + 1, [_reply(strategy, u, y[u]) for u in ctx.topology.users], [])
        return [p.detach().clone() for p in _ordered_parameters(strategy.model)]

    fedavg = aggregated(FederatedStrategy(ctx, copy.deepcopy(start), scenario.method.federated))
    plain = aggregated(FedAvgMStrategy(ctx, copy.deepcopy(start), _with_options(scenario, "fedavgm", momentum=0.0)))
    for a, b in zip(fedavg, plain, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    # two rounds of the same replies at beta = 0.5, lr = 1: d1 = w0 - avg, w1 = avg;
    # d2 = w1 - avg = 0, v2 = 0.5 d1, w2 = avg - 0.5 d1
    moved = aggregated(FedAvgMStrategy(ctx, copy.deepcopy(start), _with_options(scenario, "fedavgm", momentum=0.5)), 2)
    for w0, a, got in zip(params, fedavg, moved, strict=True):
        assert torch.allclose(got, a - 0.5 * (w0.detach() - a), atol=1e-6)


@pytest.mark.parametrize("algorithm,options", [("feddyn", {"alpha": 0.05}), ("fedavgm", {"momentum": 0.5}),
                                               ("fedadam", {"server_lr": 0.05})])
def test_new_algorithms_run_end_to_end(tmp_path, algorithm, options):
    raw = tiny_scenario_dict(controls=[])
    raw["method"]["federated"].update(algorithm=algorithm, options=options, rounds=3)
    summary = run_scenario(validate(raw), out_dir=tmp_path).summary
    plain = tiny_scenario_dict(controls=[])
    plain["method"]["federated"]["rounds"] = 3
    reference = run_scenario(validate(plain), out_dir=tmp_path / "fedavg").summary
    assert summary["psnr_db"] > 10 and summary["bytes_total"] == reference["bytes_total"]
    assert summary["psnr_db"] != reference["psnr_db"]  # the algorithm changed what was learnt


@pytest.mark.parametrize("federated,needle", [
    ({"algorithm": "feddyn", "options": {"alpha": -1}}, "method.federated.options.alpha"),
    ({"algorithm": "feddyn", "options": {"beta": 1}}, "not an option of algorithm 'feddyn'; allowed: alpha"),
    ({"options": {"momentum": 0.9}}, "algorithm 'fedavg' takes no options"),
    ({"algorithm": "fedavgm", "options": {"momentum": 1.0}}, "method.federated.options.momentum"),
])
def test_bad_algorithm_options_are_one_line(federated, needle):
    raw = tiny_scenario_dict()
    raw["method"]["federated"].update(federated)
    with pytest.raises(ScenarioError) as info:
        validate(raw)
    message = str(info.value)
    assert needle in message and "\n" not in message


# --------------------------------------------------------------------------- a term of one's own


class FreezeDecoderGradients(ClientTerm):
    """A plugin's term (no batched form): zero every gradient after the first
    ``n_encoder`` parameters, so only the encoder moves; report how many steps it saw."""

    def __init__(self, n_encoder: int):
        self.n_encoder = n_encoder
        self.seen = 0

    def after_backward(self, params):
        self.seen += 1
        for p in params[self.n_encoder:]:
            p.grad.zero_()

    def report(self, steps):
        return {"frozen_steps": self.seen}


def _plugin_job(model, seed):
    images = torch.randint(0, 256, (16, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
    return TrainJob(key=seed, encoder=model.encoder, tasks=[LossTask(model.decoder, [10.0])],
                    data=BatchStream(images, 4, seed=seed), steps=3, optimizer="sgd", lr=0.05,
                    terms=(FreezeDecoderGradients(len(list(model.encoder.parameters()))),),
                    generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("trainer", ["sequential", "batched", "workers"])
def test_a_plugin_term_reaches_every_trainer(trainer):
    models = [DeepJSCC(latent_channels=4, width=0.25).init_weights(torch.Generator().manual_seed(s)) for s in range(2)]
    before = [copy.deepcopy(m) for m in models]
    jobs = [_plugin_job(m, s) for s, m in enumerate(models)]
    make = {"sequential": Trainer, "batched": BatchedTrainer,
            "workers": lambda c, d: ParallelTrainer(c, d, workers=2)}[trainer]
    results = make(Channel("awgn"), torch.device("cpu")).run(jobs)
    for model, old, result in zip(models, before, results, strict=True):
        assert result.reports == {"frozen_steps": 3}
        assert all(torch.equal(a, b) for a, b in zip(model.decoder.parameters(), old.decoder.parameters()))
        assert not all(torch.equal(a, b) for a, b in zip(model.encoder.parameters(), old.encoder.parameters()))


# --------------------------------------------------------------------------- adaptive server optimisers


def _adaptive_by_hand(rule, w, history, lr=0.1, b1=0.9, b2=0.99, tau=1e-3):
    """Reddi et al. (2021), Algorithm 2, on one scalar, written out with floats."""
    m, v = 0.0, tau ** 2
    for avg in history:
        d = avg - w
        m = b1 * m + (1 - b1) * d
        if rule == "adagrad":
            v = v + d * d
        elif rule == "adam":
            v = b2 * v + (1 - b2) * d * d
        else:  # yogi: v moves towards d^2 by at most (1 - b2) d^2, additively
            v = v - (1 - b2) * d * d * (1.0 if v > d * d else -1.0 if v < d * d else 0.0)
        w = w + lr * m / (v ** 0.5 + tau)
    return w, m, v


@pytest.mark.parametrize("rule", ["adagrad", "adam", "yogi"])
def test_adaptive_server_steps_match_the_paper(rule):
    from semnet.fl.algorithms.aggregation import adaptive_server_step

    history = [1.5, 1.2, 0.9]  # the clients' average each round
    w, m, v = [torch.tensor([1.0], dtype=torch.float64)], [torch.zeros(1, dtype=torch.float64)], \
        [torch.full((1,), 1e-6, dtype=torch.float64)]
    for avg in history:
        w, m, v = adaptive_server_step(w, [torch.tensor([avg], dtype=torch.float64)], m, v, rule=rule, server_lr=0.1,
                                       beta1=0.9, beta2=0.99, tau=1e-3)
    expected = _adaptive_by_hand(rule, 1.0, history)
    assert (w[0].item(), m[0].item(), v[0].item()) == pytest.approx(expected, rel=1e-12)


def test_yogi_and_adam_differ_once_v_exceeds_the_squared_update():
    from semnet.fl.algorithms.aggregation import adaptive_server_step

    args = dict(server_lr=0.1, beta1=0.9, beta2=0.5, tau=1e-3)
    one = [torch.tensor([0.0])]
    big, small = [torch.tensor([2.0])], [torch.tensor([0.1])]
    out = {}
    for rule in ("adam", "yogi"):
        w, m, v = adaptive_server_step(one, big, [torch.zeros(1)], [torch.full((1,), 1e-6)], rule=rule, **args)
        out[rule] = adaptive_server_step(w, [w[0] + small[0]], m, v, rule=rule, **args)[2][0].item()
    # adam: v = 0.5 v + 0.5 d^2; yogi: v - 0.5 d^2 (v > d^2 = 0.01)
    assert out["adam"] == pytest.approx(0.5 * (0.5 * 1e-6 + 0.5 * 4.0) + 0.5 * 0.01, rel=1e-5)
    assert out["yogi"] == pytest.approx((1e-6 + 0.5 * 4.0) - 0.5 * 0.01, rel=1e-5)


@pytest.mark.parametrize("algorithm", ["fedadam", "fedyogi", "fedadagrad"])
def test_adaptive_servers_step_on_parameters_and_keep_fedavg_messages(tiny, algorithm):
    from semnet.fl.algorithms.aggregation import adaptive_server_step

    scenario = tiny()
    ctx, _ = build_context(scenario)
    start = ctx.data.new_model()
    params = _ordered_parameters(start)
    y = {u: [p.detach() + d for p, d in zip(params, _like(params, 90 + u, 0.1))] for u in ctx.topology.users}
    from semnet.registry import algorithms

    strategy = algorithms.get(algorithm)(ctx, copy.deepcopy(start), _with_options(scenario, algorithm, server_lr=0.5))
    fedavg = FederatedStrategy(ctx, copy.deepcopy(start), scenario.method.federated)
    assert strategy.message_bits() == fedavg.message_bits()
    strategy.aggregate(1, [_reply(strategy, u, y[u]) for u in ctx.topology.users], [])
    fedavg.aggregate(1, [_reply(fedavg, u, y[u]) for u in ctx.topology.users], [])
    rule = algorithm.removeprefix("fed")
    expected, _, _ = adaptive_server_step(
        [p.detach() for p in params], [p.detach() for p in _ordered_parameters(fedavg.model)],
        [torch.zeros_like(p) for p in params], [torch.full_like(p, 1e-6) for p in params], rule=rule,
        server_lr=0.5, beta1=0.9, beta2=0.99 if rule != "adagrad" else 0.0, tau=1e-3)
    for p, e in zip(_ordered_parameters(strategy.model), expected, strict=True):
        assert torch.allclose(p.detach(), e, atol=1e-6)


def test_adagrad_takes_no_beta2():
    raw = tiny_scenario_dict()
    raw["method"]["federated"].update(algorithm="fedadagrad", options={"beta2": 0.9})
    with pytest.raises(ScenarioError, match="not an option of algorithm 'fedadagrad'; allowed: server_lr, beta1, tau"):
        validate(raw)
