"""IFCA, FedRep and the SNR-conditioned control (issue 29): each one's core step on a
small case worked out by hand, their budgets against FineFed's in a tiny run, and the
controls' learning-rate grid."""

import copy
import json

import pytest
import torch

from semnet.errors import ScenarioError
from semnet.fl.algorithms.aggregation import tensors_of
from semnet.fl.execution.trainer import Trainer
from semnet.fl.loop.strategy import ClientReply, play_round
from semnet.fl.loop.versions import versions_of
from semnet.fl.methods.fedrep import FedRep, head_names
from semnet.fl.methods.ifca import IFCA, chosen_cluster
from semnet.fl.methods.pfl_controls import load_fitting, snr_model
from semnet.models import Channel, create_model
from semnet.models.adjscc import ADJSCC
from semnet.models.layout import canonical_name
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.scenario.controls import FedRepSpec
from semnet.scenario.schema import LocalTrainSpec
from tests.fl.conftest import build_context, tiny_scenario_dict

LOCAL = LocalTrainSpec(steps=2, batch_size=8, lr=1e-3)


def _ctx():
    ctx, _ = build_context(validate(tiny_scenario_dict()))
    return ctx


# --------------------------------------------------------------------------- IFCA


def test_ifca_chooses_the_lowest_loss_and_the_lower_index_on_a_tie():
    assert chosen_cluster([0.30, 0.10, 0.20]) == 1
    assert chosen_cluster([0.20, 0.20, 0.50]) == 0
    assert chosen_cluster([0.5, 0.4]) == 1


def _blank(model):
    """A model whose decoder outputs grey (sigmoid(0) = 0.5) whatever it receives."""
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.zero_()
    return model


@pytest.mark.parametrize("good", [0, 1])
def test_every_user_picks_the_cluster_whose_pair_fits_its_images(good):
    ctx = _ctx()
    start = ctx.data.new_model()
    ifca = IFCA(ctx, start, LOCAL, clusters=2)
    _blank(ifca.models[1 - good])  # grey images: a far larger loss than the start's
    ifca.stage = "choose"
    replies, failures = play_round(ctx, ifca, 1)
    assert not failures and len(replies) == 3
    for reply in replies:  # k probes each, one pass each, on the same images
        assert [r.steps for r in reply.results] == [1, 1]
        losses = [r.loss for r in reply.results]
        assert losses[good] < losses[1 - good]
    assert ifca.choice == {0: good, 1: good, 2: good}
    assert ifca.stage == "train"
    # the probes trained nothing: the cluster models are as they were
    assert all(torch.equal(a, b) for a, b in zip(tensors_of(ifca.models[good]), tensors_of(start)))


def test_a_train_round_averages_each_cluster_over_its_own_users_only():
    ctx = _ctx()
    ifca = IFCA(ctx, ctx.data.new_model(), LOCAL, clusters=2)
    ifca.choice = {0: 0, 1: 0, 2: 1}
    before = [tensors_of(m) for m in ifca.models]
    replies, _ = play_round(ctx, ifca, 1)
    trained = {r.key: tensors_of(r.jobs[0].encoder) + tensors_of(r.jobs[0].tasks[0].decoder) for r in replies}
    n = {u: ctx.data.samples(u) for u in (0, 1)}
    expected0 = [(a * n[0] + b * n[1]) / (n[0] + n[1]) for a, b in zip(trained[0], trained[1])]
    for got, want in zip(tensors_of(ifca.models[0]), expected0):
        assert torch.allclose(got, want, atol=1e-6)
    assert all(torch.equal(g, w) for g, w in zip(tensors_of(ifca.models[1]), trained[2]))
    assert not all(torch.equal(a, b) for a, b in zip(before[0], tensors_of(ifca.models[0])))


def test_a_link_uses_the_pair_of_its_transmitters_cluster():
    ctx = _ctx()
    ifca = IFCA(ctx, ctx.data.new_model(), LOCAL, clusters=2)
    ifca.choice = {0: 1, 1: 0, 2: 1}
    encoders, decoders = ifca.pairing()
    for (i, j) in ctx.topology.image_links():
        assert encoders[(i, j)] is ifca.models[ifca.choice[i]].encoder
        assert decoders[(i, j)] is ifca.models[ifca.choice[i]].decoder


def test_more_clusters_than_users_is_one_clear_error():
    ctx = _ctx()
    with pytest.raises(ScenarioError, match=r"method.ifca.clusters = 4: more clusters than users \(3\)"):
        IFCA(ctx, ctx.data.new_model(), LOCAL, clusters=4)


# --------------------------------------------------------------------------- FedRep


def test_the_head_is_the_encoders_first_and_the_decoders_last_layer():
    model = create_model("deep_jscc", latent_channels=4, width=0.25)
    # deep_jscc: (conv, PReLU) pairs in one Sequential; the decoder's last conv ends in a sigmoid
    assert head_names(model, 1) == ("encoder.layers.0.weight", "encoder.layers.0.bias", "encoder.layers.1.weight",
                                    "decoder.layers.8.weight", "decoder.layers.8.bias")
    two = head_names(model, 2)
    assert "encoder.layers.3.weight" in two and "decoder.layers.7.weight" in two
    assert "encoder.layers.4.weight" not in two and "decoder.layers.5.weight" not in two
    adj = head_names(create_model("adjscc", latent_channels=4, width=0.25), 1)
    assert adj[:3] == ("encoder.convs.0.weight", "encoder.convs.0.bias", "encoder.acts.0.weight")
    assert adj[-2:] == ("decoder.convs.4.weight", "decoder.convs.4.bias")
    assert {n.split(".")[1] for n in adj[3:-2]} == {"attention"}  # layer 0's SNR module is head too


def _run_job(job):
    return Trainer(Channel("awgn"), torch.device("cpu")).run([job])[0]


@pytest.mark.parametrize("epoch", ["head", "body"])
def test_head_epochs_move_the_head_only_and_body_epochs_the_body_only(epoch):
    ctx = _ctx()
    fedrep = FedRep(ctx, ctx.data.new_model(), LOCAL, FedRepSpec(head_steps=3, body_steps=2))
    fedrep.sync.new_round()
    plan = fedrep.configure(1)[0]
    head_job, body_job = plan.make_jobs()
    job = head_job if epoch == "head" else body_job
    assert job.steps == (3 if epoch == "head" else 2)
    model = fedrep.personal[plan.task.key]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    _run_job(job)
    moving = set(fedrep.head if epoch == "head" else fedrep.body)
    for name, p in model.named_parameters():
        if name in moving:
            assert not torch.equal(p, before[name]), name
        else:
            assert torch.equal(p, before[name]), name


def test_a_fedrep_round_averages_the_bodies_and_keeps_each_head():
    ctx = _ctx()
    start = ctx.data.new_model()
    ctx.rounds.holdings.give_all((0, 1, 2), versions_of((start.encoder, start.decoder)))  # as after a start
    fedrep = FedRep(ctx, start, LOCAL, FedRepSpec(head_steps=2, body_steps=2))
    plans = fedrep.configure(1)
    assert all(plan.task.downloads == () for plan in plans)  # every user holds the start, hence its body
    finished, failures = ctx.rounds.play(plans)
    assert not failures and len(finished) == 3
    trained = {u: {n: p.detach().clone() for n, p in m.named_parameters()} for u, m in fedrep.personal.items()}
    fedrep.aggregate(1, [ClientReply(plan, jobs, results) for plan, jobs, results in finished], [])
    n = {u: ctx.data.samples(u) for u in (0, 1, 2)}
    for u, model in fedrep.personal.items():
        params = dict(model.named_parameters())
        for name in fedrep.body:  # every user's body is the data-weighted mean of the trained bodies
            mean = sum(trained[v][name] * n[v] for v in n) / sum(n.values())
            assert torch.allclose(params[name], mean, atol=1e-6), name
        for name in fedrep.head:  # heads are not averaged: each keeps what its user trained
            assert torch.equal(params[name], trained[u][name]), name
    assert not torch.equal(trained[0][fedrep.head[0]], trained[1][fedrep.head[0]])


def test_a_head_that_takes_every_layer_is_one_clear_error():
    ctx = _ctx()
    with pytest.raises(ScenarioError, match="method.fedrep.head_layers = 9"):
        FedRep(ctx, ctx.data.new_model(), LOCAL, FedRepSpec(head_layers=9))


# --------------------------------------------------------------------------- SNR-conditioned model


def test_the_snr_model_has_the_starts_size_and_the_backbone_start_its_weights():
    start = create_model("deep_jscc", latent_channels=4, width=0.25, generator=torch.Generator().manual_seed(1))
    model = snr_model("adjscc", start, seed=5)
    assert isinstance(model, ADJSCC) and model.latent_channels == 4 and model.width == 0.25
    copied = load_fitting(model, start)
    assert set(copied) == set(start.state_dict())  # the whole backbone fits
    mine = {canonical_name(k): v for k, v in model.state_dict().items()}
    for name, value in start.state_dict().items():
        assert torch.equal(mine[canonical_name(name)], value)
    assert torch.equal(model.encoder.convs[2].weight, start.encoder.layers[4].weight)  # layer 2 by hand
    assert torch.equal(model.decoder.acts[3].weight, start.decoder.layers[7].weight)
    fresh = snr_model("adjscc", start, seed=5)  # the SNR modules keep their own start
    assert all(torch.equal(a, b) for a, b in zip(tensors_of(model.encoder.attention), tensors_of(fresh.encoder.attention)))


def test_a_model_that_ignores_the_snr_is_refused_in_one_line():
    start = create_model("deep_jscc", latent_channels=4, width=0.25)
    with pytest.raises(ScenarioError, match="method.snr_control.model = 'deep_jscc': not SNR-aware; SNR-aware models: adjscc"):
        snr_model("deep_jscc", start, seed=0)


# --------------------------------------------------------------------------- budgets in a tiny run

NEW = ["ifca", "fedrep", "snr_conditioned"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    raw = tiny_scenario_dict(controls=["compute_matched", *NEW])
    raw["method"]["federated"] = {"rounds": 2, "local": {"steps": 2, "batch_size": 8}}
    raw["method"]["fedrep"] = {"head_steps": 1, "body_steps": 1}
    raw["output"]["checkpoints"] = False
    out = tmp_path_factory.mktemp("pfl") / "run"
    summary = run_scenario(validate(raw), out_dir=out).summary
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    return summary, events


def test_each_new_control_spends_finefeds_passes_to_the_round(tiny_run):
    summary, _ = tiny_run
    budget = summary["finetune_budget"]["local_passes"]
    controls = {c["name"]: c for c in summary["controls"]}
    users = 3
    # one round's passes: FedRep 3 users x (1 + 1) steps; the SNR model a FedAvg round (3 x 2);
    # IFCA a choose round (3 users x 2 probes) and a train round (3 x 2 steps)
    per_round = {"fedrep": users * 2, "snr_conditioned": users * 2, "ifca": users * 2 + users * 2}
    for name, step in per_round.items():
        spent = controls[name]["local_passes"]
        assert budget <= spent < budget + step, name
    assert controls["ifca"]["ifca_iterations"] >= 2  # the seeding round and at least one chosen one


def test_each_new_controls_bytes_are_its_branchs_events_by_the_one_protocol(tiny_run):
    summary, events = tiny_run
    for control in summary["controls"]:
        mine = [e for e in events if e["branch"] == f"control_{control['name']}"]
        assert control["bytes"] == sum(e["bits"] for e in mine) // 8, control["name"]
    fedrep = [e for e in events if e["branch"] == "control_fedrep"]
    # every user holds the start, hence its body: round 1 sends only the body updates up
    assert {e["kind"] for e in fedrep if e["round"] == 1} == {"body_update"}
    ifca = [e for e in events if e["branch"] == "control_ifca"]
    # the seeding round: two users upload, nobody downloads (they hold the start)
    assert sorted(e["kind"] for e in ifca if e["round"] == 1) == ["model_update", "model_update"]
    # the first choose round: the seeding changed both cluster models, so every user
    # downloads both (3 users x 2)
    assert sum(e["kind"] == "global_model" for e in ifca if e["round"] == 2) == 6


def test_the_snr_control_reports_its_own_start_apart_from_the_matched_budget(tiny_run):
    summary, events = tiny_run
    snr = next(c for c in summary["controls"] if c["name"] == "snr_conditioned")
    start = snr["snr_start"]
    assert start["rounds"] == 2 and start["local_passes"] == 2 * 3 * 2  # the method's recipe: 2 rounds x 3 users x 2 steps
    own = [e for e in events if e["branch"] == "control_snr_conditioned_start"]
    assert start["bytes"] <= sum(e["bits"] for e in own) // 8  # the closing broadcast comes after the record
    # nobody holds the SNR model at first: round 1 sends it down to every user
    assert sum(e["kind"] == "global_model" for e in own if e["round"] == 1) == 3


# --------------------------------------------------------------------------- the rate grid


def test_the_grid_keeps_the_rate_best_on_validation_images(tmp_path):
    raw = tiny_scenario_dict(controls=["compute_matched", "fedrep"])
    raw["method"]["controls_lr_grid"] = [1e-5, 3e-3]
    raw["method"]["fedrep"] = {"head_steps": 1, "body_steps": 1}
    raw["output"]["checkpoints"] = False
    summary = run_scenario(validate(raw), out_dir=tmp_path / "g").summary
    branches = summary["delivery"]["all_branches"]["branches"]
    for control in summary["controls"]:
        tried = control["lr_choice"]
        assert [t["lr"] for t in tried] == [1e-5, 3e-3]
        best = max(tried, key=lambda t: t["validation_psnr_db"])
        assert control["lr"] == best["lr"] and control["validation_psnr_db"] == best["validation_psnr_db"]
        assert {f"control_{control['name']}_lr1e-05", f"control_{control['name']}_lr0.003"} <= set(branches)


def test_a_grid_without_validation_images_is_one_clear_error(tmp_path):
    raw = tiny_scenario_dict(controls=["compute_matched"])
    raw["method"]["controls_lr_grid"] = [1e-3]
    raw["data"]["validation_per_user"] = 0
    raw["output"]["checkpoints"] = False
    with pytest.raises(ScenarioError, match="controls_lr_grid: choosing a rate needs validation images"):
        run_scenario(validate(raw), out_dir=tmp_path / "g")


def test_the_grid_does_not_touch_untuned_controls(tmp_path):
    raw = tiny_scenario_dict(controls=["local_finetune"])
    raw["method"]["controls_lr_grid"] = [1e-5, 3e-3]
    raw["output"]["checkpoints"] = False
    summary = run_scenario(validate(raw), out_dir=tmp_path / "u").summary
    assert "lr_choice" not in summary["controls"][0]
    assert summary["delivery"]["all_branches"]["branches"] == ["main", "control_local_finetune"]


def test_copy_of_the_start_is_untouched_by_the_controls():
    ctx = _ctx()
    start = ctx.data.new_model()
    kept = copy.deepcopy(start)
    ifca = IFCA(ctx, start, LOCAL, clusters=2)
    play_round(ctx, ifca, 1)
    assert all(torch.equal(a, b) for a, b in zip(tensors_of(start), tensors_of(kept)))


@pytest.mark.parametrize("control", ["ifca", "oracle"])
def test_per_link_pairs_with_live_images_are_refused_in_one_line(control):
    raw = tiny_scenario_dict(controls=[control])
    raw["links"]["medium"] = "node_radio"
    raw["traffic"] = {"images_per_s": 25.0, "deadline_s": 0.05, "window_s": 0.2}
    with pytest.raises(ScenarioError) as err:
        validate(raw)
    message = str(err.value)
    assert len(message.splitlines()) == 1
    assert f"under {control} each link uses a pair of its own" in message and "fedrep" in message
