"""The encoder step moves only encoders, the decoder step only decoders, and every
exchange is a message of the real size between the right endpoints."""


import torch

from semnet.fl.algorithms.aggregation import state_bits
from semnet.fl.methods.finefed import PersonalModels, decoder_step, encoder_step
from tests.fl.conftest import build_context




def _snapshot(modules):
    return {u: [p.detach().clone() for p in m.parameters()] for u, m in modules.items()}


def _changed(before, modules):
    return {u for u, m in modules.items() if any(not torch.equal(a, b) for a, b in zip(before[u], m.parameters()))}


def test_encoder_step_changes_only_encoders(tiny, tmp_path):
    scenario = tiny()
    ctx, events = build_context(scenario)
    models = PersonalModels(ctx.data.new_model(), ctx.topology.users)
    enc0, dec0 = _snapshot(models.encoders), _snapshot(models.decoders)
    encoder_step(ctx, models, scenario.method.finetune, 1)
    assert _changed(enc0, models.encoders) == set(ctx.topology.users)
    assert _changed(dec0, models.decoders) == set()
    # each receiver j sent D_j to each transmitter i in in(j), at its real size
    sent = {(e["src"], e["dst"]) for e in events if e["kind"] == "decoder"}
    assert sent == {(j, i) for i, j in ctx.topology.image_links()}
    bits = state_bits(models.decoders[0])
    assert all(e["bits"] == bits for e in events if e["kind"] == "decoder")


def test_decoder_step_changes_only_decoders(tiny, tmp_path):
    scenario = tiny()
    ctx, events = build_context(scenario)
    models = PersonalModels(ctx.data.new_model(), ctx.topology.users)
    enc0, dec0 = _snapshot(models.encoders), _snapshot(models.decoders)
    decoder_step(ctx, models, scenario.method.finetune, 1)
    assert _changed(enc0, models.encoders) == set()
    assert _changed(dec0, models.decoders) == set(ctx.topology.users)
    ups = {(e["src"], e["dst"]) for e in events if e["kind"] == "decoder_update"}
    assert ups == set(ctx.topology.image_links())  # copies travel transmitter -> receiver


def test_personal_models_start_from_global_copies(tiny, tmp_path):
    scenario = tiny()
    ctx, _ = build_context(scenario)
    start = ctx.data.new_model()
    models = PersonalModels(start, ctx.topology.users)
    assert models.encoders[0] is not models.encoders[1]
    for p, q in zip(start.encoder.parameters(), models.encoders[2].parameters()):
        assert torch.equal(p, q)


def test_joint_step_moves_encoders_and_averages_the_trained_decoder_copies(tiny, tmp_path, monkeypatch):
    from semnet.fl.methods.finefed_joint import JointStep
    from semnet.fl.loop.strategy import run_rounds

    scenario = tiny()
    ctx, events = build_context(scenario)
    copies = {}  # (i, j) -> the copy of D_j that transmitter i trained, as the receivers average them

    def spy_copies(self, replies):
        for i, j, trained in original(self, replies):
            copies[(i, j)] = [p.detach().clone() for p in trained.parameters()]
            yield i, j, trained

    original = JointStep.trained_copies
    monkeypatch.setattr(JointStep, "trained_copies", spy_copies)
    spec = scenario.method.finetune.model_copy(update={"iterations": 1, "decoder_rounds": 1})
    run_models = PersonalModels(ctx.data.new_model(), ctx.topology.users)
    enc0, dec0 = _snapshot(run_models.encoders), _snapshot(run_models.decoders)
    run_rounds(ctx, JointStep(ctx, run_models, spec, 1), 1)
    # both halves moved for every user: encoders where they trained, decoders by averaging
    assert _changed(enc0, run_models.encoders) == set(ctx.topology.users)
    assert _changed(dec0, run_models.decoders) == set(ctx.topology.users)
    # one copy per image link, trained by its transmitter; D_j is their data-weighted mean
    assert set(copies) == set(ctx.topology.image_links())
    for j in ctx.topology.users:
        senders = sorted(i for i, jj in copies if jj == j)
        weights = torch.tensor([float(ctx.data.samples(i)) for i in senders])
        weights = weights / weights.sum()
        for k, p in enumerate(run_models.decoders[j].parameters()):
            mean = sum(w * copies[(i, j)][k] for w, i in zip(weights, senders))
            assert torch.allclose(p, mean, atol=1e-6)
    # the messages: D_j to each of its transmitters (no start broadcast here, so none holds it)
    # and one decoder update back per image link, at the real size
    downs = [e for e in events if e["kind"] == "decoder"]
    assert sorted((e["dst"], e["src"]) for e in downs) == sorted(ctx.topology.image_links())
    ups = [e for e in events if e["kind"] == "decoder_update"]
    assert sorted((e["src"], e["dst"]) for e in ups) == sorted(ctx.topology.image_links())
    assert all(e["bits"] == state_bits(run_models.decoders[0]) for e in ups)


def test_finefed_joint_runs_end_to_end_with_its_controls_matched_to_its_own_budget(tmp_path):
    from semnet.runner import run_scenario
    from semnet.scenario import validate
    from tests.fl.test_versions import tiny_scenario_dict

    raw = tiny_scenario_dict()
    raw["method"].update(name="finefed_joint", controls=["compute_matched", "bytes_matched"])
    raw["method"]["finetune"].update(iterations=2, decoder_rounds=2)
    result = run_scenario(validate(raw), out_dir=tmp_path / "r")
    summary = result.summary
    assert [p["name"] for p in summary["phases"]][1:] == ["finefed_1_joint", "finefed_2_joint"]
    budget = summary["finetune_budget"]
    ft_bytes = sum(p["bytes"] for p in summary["phases"][1:])
    assert budget["bytes"] == ft_bytes > 0
    controls = {c["name"]: c for c in summary["controls"]}
    assert controls["compute_matched"]["local_passes"] >= budget["local_passes"]
    assert controls["bytes_matched"]["bytes"] >= budget["bytes"]


def test_joint_step_tasks_meet_their_links_channels(tiny, monkeypatch):
    from semnet.fl.methods.finefed_joint import JointStep
    from semnet.fl.loop.strategy import run_rounds
    from semnet.scenario import validate
    from tests.fl.conftest import tiny_scenario_dict

    raw = tiny_scenario_dict()
    raw["links"] = {"snr_db": 10.0, "overrides": [{"src": 0, "dst": 1, "fading": "rayleigh", "csi": False}]}
    scenario = validate(raw)
    ctx, _ = build_context(scenario)
    models = PersonalModels(ctx.data.new_model(), ctx.topology.users)
    from semnet.fl.execution.trainer import Trainer
    from semnet.assembly import link_channels

    channels = link_channels(scenario, ctx.topology._network)  # what a run's trainer routes by
    seen = {}
    real_run = Trainer.run

    def spy(self, jobs):
        for job in jobs:
            for j, task in zip(ctx.topology.receivers(job.key), job.tasks):
                seen[(job.key, j)] = (set(task.links), {channels.of(*link).kind for link in task.links})
        return real_run(self, jobs)

    monkeypatch.setattr(Trainer, "run", spy)
    run_rounds(ctx, JointStep(ctx, models, scenario.method.finetune, 1), 1)
    assert set(seen) == set(ctx.topology.image_links())
    for (i, j), (links, kinds) in seen.items():
        assert links == {(i, j)}  # each decoder copy's images travel over its own link
        assert kinds == ({"rayleigh"} if (i, j) == (0, 1) else {"none"})  # none: AWGN
