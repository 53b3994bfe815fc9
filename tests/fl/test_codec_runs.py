"""Codecs inside runs: event sizes are real serialisations, receivers train on and
average what arrived, float32 is today's behaviour, control branches start clean."""

import json

import torch

from semnet.fl.algorithms.aggregation import tensors_of
from semnet.fl.algorithms.federated import FederatedStrategy, _ordered_parameters
from semnet.fl.algorithms.scaffold import ScaffoldStrategy
from semnet.fl.methods.finefed import DecoderStep, PersonalModels
from semnet.registry import codecs
from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.fl.conftest import tiny_scenario_dict
from tests.fl.conftest import build_context as _build_ctx

MIXED = {"global_model": "float16", "decoders": "int8_channel", "updates": "topk10", "control_variates": "qsgd4"}


def _events(run_dir):
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def _flat(tree):
    """The tensors of a (nested) checkpoint dict, in key order."""
    if isinstance(tree, torch.Tensor):
        return [tree]
    return [t for key in sorted(tree, key=str) for t in _flat(tree[key])]


def test_event_sizes_are_the_serialised_sizes(tmp_path):
    raw = tiny_scenario_dict(codec=MIXED)
    raw["method"]["federated"]["algorithm"] = "scaffold"
    raw["method"]["finetune"]["iterations"] = 2  # in iteration 1 no decoder travels: every user holds it
    run_scenario(validate(raw), out_dir=tmp_path / "r")
    state = torch.load(tmp_path / "r" / "checkpoints" / "global.pt")
    model = [t for t in state.values() if t.is_floating_point()]
    params = model  # this model has no buffers: its state is its parameters
    decoder = [t for k, t in state.items() if k.startswith("decoder.")]
    gen = torch.Generator().manual_seed(0)

    def size(name, tensors):
        return 8 * len(codecs.get(name)().encode(tensors, gen))

    expected = {
        "global_model": size("float16", model) + size("qsgd4", params),
        "model_update": size("topk10", model) + size("qsgd4", params),
        "decoder": size("int8_channel", decoder),
        "decoder_update": size("topk10", decoder),
    }
    events = _events(tmp_path / "r")
    assert {e["kind"] for e in events} == set(expected)
    final_round = raw["method"]["federated"]["rounds"] + 1  # the closing broadcast: the model, no control variate
    for e in events:
        final = e["phase"] == "pretrain_scaffold" and e["round"] == final_round
        assert e["bits"] == (size("float16", model) if final else expected[e["kind"]]), e
    assert sum(e["round"] == final_round and e["phase"] == "pretrain_scaffold" for e in events) == 3
    float32 = 32 * sum(t.numel() for t in model)
    assert expected["global_model"] < float32 and expected["model_update"] < float32 / 2


def test_float32_named_is_the_default(tmp_path):
    default = run_scenario(validate(tiny_scenario_dict()), out_dir=tmp_path / "a")
    named = run_scenario(validate(tiny_scenario_dict(codec={"updates": "float32", "decoders": "float32"})),
                         out_dir=tmp_path / "b")
    assert (tmp_path / "a" / "events.jsonl").read_bytes() == (tmp_path / "b" / "events.jsonl").read_bytes()
    assert default.summary["psnr_db"] == named.summary["psnr_db"]


def test_lossy_codecs_run_every_method_deterministically(tmp_path):
    for name in ("fedavg", "fedper", "ditto"):
        raw = tiny_scenario_dict(name=name, codec="qsgd8")
        raw["method"]["personal"] = {"rounds": 1, "local": {"steps": 2, "batch_size": 8}}
        a = run_scenario(validate(raw), out_dir=tmp_path / f"{name}a")
        b = run_scenario(validate(raw), out_dir=tmp_path / f"{name}b")
        assert a.summary["psnr_db"] == b.summary["psnr_db"] and a.summary["psnr_db"] > 5
        f32 = run_scenario(validate(tiny_scenario_dict(name=name, personal=raw["method"]["personal"])),
                           out_dir=tmp_path / f"{name}f")
        assert a.summary["bytes_total"] < f32.summary["bytes_total"] * 0.3
        # the codec reached the models (the final PSNR, rounded, may not show it after 2 tiny rounds)
        for ckpt in ("global.pt", "personal.pt"):
            if (tmp_path / f"{name}a" / "checkpoints" / ckpt).exists():
                lossy = torch.load(tmp_path / f"{name}a" / "checkpoints" / ckpt)
                exact = torch.load(tmp_path / f"{name}f" / "checkpoints" / ckpt)
                assert not all(torch.equal(a, b) for a, b in zip(_flat(lossy), _flat(exact))), (name, ckpt)


def test_clients_train_from_the_decoded_model_and_the_server_averages_decoded_updates():
    scenario = validate(tiny_scenario_dict(name="fedavg", codec="int8"))
    ctx, _ = _build_ctx(scenario)
    model = ctx.data.new_model()
    strategy = FederatedStrategy(ctx, model, scenario.method.federated)
    int8 = codecs.get("int8")()
    x = tensors_of(model)
    x_hat = int8.roundtrip(x)
    ctx.phases.begin("p")
    finished, failures = ctx.rounds.play(strategy.configure(1))
    assert not failures and len(finished) == 3
    for user, start in strategy._start.items():  # each client started from the int8 model
        assert all(torch.equal(a, b) for a, b in zip(tensors_of(start), x_hat))
    assert not all(torch.equal(a, b) for a, b in zip(x_hat, x))
    from semnet.fl.loop.strategy import ClientReply
    replies = [ClientReply(*f) for f in finished]
    ys = {r.key: tensors_of(r.jobs[0].encoder) + tensors_of(r.jobs[0].tasks[0].decoder) for r in replies}
    strategy.aggregate(1, replies, [])
    weights = {u: ctx.data.samples(u) for u in ys}
    total = sum(weights.values())
    expected = [xi.clone() for xi in x]
    for u, y in ys.items():
        for k, (yk, sk) in enumerate(zip(y, x_hat)):
            expected[k] += weights[u] / total * int8.roundtrip([yk - sk])[0]
    got = tensors_of(model)
    assert all(torch.allclose(g, e, atol=1e-6) for g, e in zip(got, expected))
    # not the average of the clients' full-precision models
    plain = [sum(weights[u] / total * ys[u][k] for u in ys) for k in range(len(x))]
    assert not all(torch.allclose(g, p, atol=1e-6) for g, p in zip(got, plain))


def test_bytes_per_round_and_error_feedback_follow_the_codec():
    scenario = validate(tiny_scenario_dict(name="scaffold", codec="topk1"))
    ctx, _ = _build_ctx(scenario)
    strategy = ScaffoldStrategy(ctx, ctx.data.new_model(), scenario.method.federated)
    down, up = strategy.message_bits()
    params = _ordered_parameters(strategy.model)
    n = sum(p.numel() for p in params)
    assert down == 2 * 32 * n  # whole models and control variates: top-k falls back to float32
    assert up == 2 * codecs.get("topk1")().bits([p.shape for p in params])
    assert strategy.bytes_per_round(3) == 3 * (down + up) / 8
    ctx.phases.begin("p")
    from semnet.fl.loop.strategy import play_round
    play_round(ctx, strategy, 1)
    keys = set(ctx.rounds.codecs.residuals)
    assert keys == {(kind, u, ctx.topology.aggregator) for kind in ("updates", "control_variates") for u in ctx.topology.users}
    assert all(any(r.abs().sum() > 0 for r in res) for res in ctx.rounds.codecs.residuals.values())
    ctx._sim_factory = lambda name, now_s: ctx._sim  # a stand-in: only the codec state matters here
    branch = ctx.branch("control_x")
    assert branch.rounds.codecs is not ctx.rounds.codecs and not branch.rounds.codecs.residuals


def test_finefed_receivers_move_their_decoder_by_decoded_updates():
    scenario = validate(tiny_scenario_dict(codec={"decoders": "bfloat16", "updates": "int8"}))
    ctx, events = _build_ctx(scenario)
    models = PersonalModels(ctx.data.new_model(), ctx.topology.users)
    before = {j: tensors_of(d) for j, d in models.decoders.items()}
    step = DecoderStep(ctx, models, scenario.method.finetune, 1)
    ctx.phases.begin("d")
    from semnet.fl.loop.strategy import play_round
    replies, _ = play_round(ctx, step, 1)
    bf16, int8 = codecs.get("bfloat16")(), codecs.get("int8")()
    for j in ctx.topology.users:
        mine = [r for r in replies if r.key[1] == j]
        w = [ctx.data.samples(r.key[0]) for r in mine]
        expected = [t.clone() for t in before[j]]
        for r, wi in zip(mine, w):
            start = bf16.roundtrip(before[j])
            sent = int8.roundtrip([a - b for a, b in zip(tensors_of(r.jobs[0].tasks[0].decoder), start)])
            for k in range(len(expected)):
                expected[k] += wi / sum(w) * sent[k]
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(tensors_of(models.decoders[j]), expected))
    decoder_events = [e for e in events if e["kind"] == "decoder"]
    assert all(e["bits"] == bf16.bits([t.shape for t in before[0]]) for e in decoder_events)
