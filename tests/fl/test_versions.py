"""One protocol for bytes: a node that holds a model's version is not sent it again, the
federated start ends with a broadcast of its final model to every user, and a
lossy codec leaves each node the copy it decoded (semnet.fl.loop.versions)."""

import copy
import json

import pytest
import torch

from semnet.fl.algorithms.aggregation import tensors_of
from semnet.fl.algorithms.federated import FederatedStrategy, continued
from semnet.fl.methods.finefed import DecoderStep, EncoderStep, PersonalModels
from semnet.fl.loop.strategy import play_round
from semnet.fl.loop.versions import Holdings, held_state, version_of, versions_of
from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.fl.conftest import build_context, tiny_scenario_dict


def _events(path):
    return [json.loads(line) for line in (path / "events.jsonl").read_text().splitlines()]


# --------------------------------------------------------------------------- versions and holdings


def test_a_version_changes_with_the_weights_and_not_with_a_copy():
    layer = torch.nn.Linear(3, 2)
    twin = copy.deepcopy(layer)
    assert version_of(layer) == version_of(twin)
    with torch.no_grad():
        twin.weight[0, 0] += 1e-6
    assert version_of(layer) != version_of(twin)
    # the shape is part of the version: same bytes, another shape, another version
    flat = torch.nn.Linear(6, 1, bias=False)
    square = torch.nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        square.weight.copy_(flat.weight.reshape(2, 3))
    assert version_of(flat) != version_of(square)


def test_holdings_keep_versions_and_decoded_copies_through_a_checkpoint():
    held = Holdings()
    held.give(1, ["a", "b"])
    assert held.holds(1, "a", "b") and not held.holds(1, "a", "c") and not held.holds(2, "a")
    held.keep_copy(1, "global.decoder", "b", [torch.ones(2)])
    held.keep_copy(1, "global.decoder", "c", [torch.zeros(2)])  # a newer copy replaces the slot's
    assert held.copy(1, "b") is None and torch.equal(held.copy(1, "c")[0], torch.zeros(2))
    back = Holdings()
    back.load_state(held.state())
    assert back.held == held.held and torch.equal(back.copy(1, "c")[0], torch.zeros(2))
    other = held.clone()
    other.give(2, ["a"])
    assert not held.holds(2, "a")  # a clone is independent (a control's branch)


# --------------------------------------------------------------------------- by hand: no message for a held version


@pytest.fixture
def hand():
    ctx, events = build_context(validate(tiny_scenario_dict()))
    return ctx, events, ctx.data.new_model()


def test_a_client_that_holds_the_global_model_gets_no_download(hand):
    ctx, events, model = hand
    spec = validate(tiny_scenario_dict()).method.federated
    strategy = FederatedStrategy(ctx, model, spec)
    ctx.rounds.holdings.give(0, strategy.versions())
    ctx.phases.begin("p")
    ctx.rounds.play(strategy.configure(1))
    downloads = {e["dst"] for e in events if e["kind"] == "global_model"}
    assert downloads == {1, 2}  # user 0 holds this version
    assert {e["src"] for e in events if e["kind"] == "model_update"} == {0, 1, 2}  # all trained and replied
    assert all(ctx.rounds.holdings.holds(u, *strategy.versions()) for u in (0, 1, 2))


def test_a_transmitter_missing_a_decoder_version_is_sent_it_and_no_one_else(hand):
    ctx, events, model = hand
    spec = validate(tiny_scenario_dict()).method.finetune
    versions = versions_of((model.encoder, model.decoder))
    for user in (0, 2):  # user 1 lost the final broadcast
        ctx.rounds.holdings.give(user, versions)
    models = PersonalModels(model, ctx.topology.users)
    ctx.phases.begin("finefed_1_encoder")
    ctx.rounds.play(EncoderStep(ctx, models, spec, 1).configure(1))
    sent = [(e["src"], e["dst"]) for e in events if e["kind"] == "decoder"]
    assert sorted(sent) == [(0, 1), (2, 1)]  # D_0 and D_2 go to transmitter 1 only
    events.clear()
    ctx.phases.begin("finefed_1_decoder")
    step = DecoderStep(ctx, models, spec, 1)
    play_round(ctx, step, 1)  # nobody lacks a D_j now: the encoder step changed none
    assert not [e for e in events if e["kind"] == "decoder"]
    assert len([e for e in events if e["kind"] == "decoder_update"]) == 6
    events.clear()
    play_round(ctx, step, 2)  # every D_j was aggregated: a new version, sent to each transmitter
    assert len([e for e in events if e["kind"] == "decoder"]) == 6


def test_a_lossy_broadcast_leaves_each_user_its_decoded_copy_and_it_is_trained_from():
    raw = tiny_scenario_dict(codec={"global_model": "qsgd8"})
    ctx, events = build_context(validate(raw))
    model = ctx.data.new_model()
    spec = validate(raw).method.federated
    strategy = FederatedStrategy(ctx, model, spec)
    ctx.phases.begin("p")
    ctx.rounds.play(strategy.closing_plans())
    assert {e["dst"] for e in events if e["kind"] == "global_model"} == {0, 1, 2}
    versions = strategy.versions()
    parts = (model.encoder, model.decoder)
    held = held_state(ctx.rounds.holdings, 1, versions, parts)
    exact = tensors_of(model)
    assert held is not None and len(held) == len(exact)
    assert any(not torch.equal(a, b) for a, b in zip(held, exact))  # quantised
    # a continuation's first round sends nothing down and trains from that copy
    events.clear()
    cont = FederatedStrategy(ctx, model, continued(spec, 1e-3))
    plans = cont.configure(1)
    assert all(p.task.downloads == () for p in plans)
    local = cont.received_model(1, held=True)
    assert all(torch.equal(a, b) for a, b in zip(tensors_of(local), held))


# --------------------------------------------------------------------------- whole runs


@pytest.mark.parametrize("name", ["fedavg", "fedprox", "scaffold", "finefed"])
def test_the_start_ends_with_a_broadcast_to_every_user(name, tmp_path):
    raw = tiny_scenario_dict(name=name)
    result = run_scenario(validate(raw), out_dir=tmp_path / name)
    algorithm = {"finefed": "fedavg"}.get(name, name)
    rounds = raw["method"]["federated"]["rounds"]
    start = [e for e in _events(tmp_path / name) if e["phase"] == f"pretrain_{algorithm}"]
    final = [e for e in start if e["round"] == rounds + 1]
    server = {e["src"] for e in start if e["round"] == 1 and e["kind"] == "global_model"}
    assert sorted(e["dst"] for e in final) == [0, 1, 2]
    assert {(e["src"], e["kind"]) for e in final} == {(server.pop(), "global_model")}
    phase = result.summary["phases"][0]
    assert phase["rounds"] == rounds  # the broadcast trains nothing
    assert phase["bytes"] == sum(e["bits"] for e in start) // 8  # and is counted in the start
    assert phase["sim_time_end_s"] >= max(e["t_end_s"] for e in final)
    assert result.summary["model"]["encoder_bytes"] + result.summary["model"]["decoder_bytes"] == \
        final[0]["bits"] // 8


def test_finefed_sends_a_decoder_only_to_a_transmitter_that_lacks_its_version(tmp_path):
    raw = tiny_scenario_dict()
    raw["method"]["finetune"].update(iterations=2, decoder_rounds=2)
    run_scenario(validate(raw), out_dir=tmp_path / "r")
    decoders = {}
    for e in _events(tmp_path / "r"):
        if e["kind"] == "decoder":
            decoders.setdefault((e["phase"], e["round"]), []).append((e["src"], e["dst"]))
    links = sorted((j, i) for i in range(3) for j in range(3) if i != j)  # D_j from j to each transmitter i
    # iteration 1: every D_j is the global decoder every user holds; round 2 sends the aggregated D_j
    # iteration 2: D_j travels for the encoder step, not again for the decoder step's first round
    assert sorted(decoders) == [("finefed_1_decoder", 2), ("finefed_2_decoder", 2), ("finefed_2_encoder", 1)]
    assert all(sorted(sent) == links for sent in decoders.values())
