"""The encoder step moves only encoders, the decoder step only decoders, and every
exchange is a message of the real size between the right endpoints."""


import torch

from semnet.fl.aggregation import state_bits
from semnet.fl.finefed import PersonalModels, decoder_step, encoder_step
from tests.fl.conftest import build_context




def _snapshot(modules):
    return {u: [p.detach().clone() for p in m.parameters()] for u, m in modules.items()}


def _changed(before, modules):
    return {u for u, m in modules.items() if any(not torch.equal(a, b) for a, b in zip(before[u], m.parameters()))}


def test_encoder_step_changes_only_encoders(tiny, tmp_path):
    scenario = tiny()
    ctx, events = build_context(scenario)
    models = PersonalModels(ctx.new_model(), ctx.users)
    enc0, dec0 = _snapshot(models.encoders), _snapshot(models.decoders)
    encoder_step(ctx, models, scenario.method.finetune, 1)
    assert _changed(enc0, models.encoders) == set(ctx.users)
    assert _changed(dec0, models.decoders) == set()
    # each receiver j sent D_j to each transmitter i in in(j), at its real size
    sent = {(e["src"], e["dst"]) for e in events if e["kind"] == "decoder"}
    assert sent == {(j, i) for i, j in ctx.image_links()}
    bits = state_bits(models.decoders[0])
    assert all(e["bits"] == bits for e in events if e["kind"] == "decoder")


def test_decoder_step_changes_only_decoders(tiny, tmp_path):
    scenario = tiny()
    ctx, events = build_context(scenario)
    models = PersonalModels(ctx.new_model(), ctx.users)
    enc0, dec0 = _snapshot(models.encoders), _snapshot(models.decoders)
    decoder_step(ctx, models, scenario.method.finetune, 1)
    assert _changed(enc0, models.encoders) == set()
    assert _changed(dec0, models.decoders) == set(ctx.users)
    ups = {(e["src"], e["dst"]) for e in events if e["kind"] == "decoder_update"}
    assert ups == set(ctx.image_links())  # copies travel transmitter -> receiver


def test_personal_models_start_from_global_copies(tiny, tmp_path):
    scenario = tiny()
    ctx, _ = build_context(scenario)
    start = ctx.new_model()
    models = PersonalModels(start, ctx.users)
    assert models.encoders[0] is not models.encoders[1]
    for p, q in zip(start.encoder.parameters(), models.encoders[2].parameters()):
        assert torch.equal(p, q)
