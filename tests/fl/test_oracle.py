"""The headroom oracle: per link, a pair trained on the sender's training images only,
at the link's SNR, best on validation; and the summary's headroom arithmetic."""

import math

import pytest
import torch

from semnet.fl.methods import oracle as oracle_module
from semnet.fl.methods.headroom import MIN_HEADROOM_DB, headroom
from semnet.fl.methods.oracle import LinkOracle
from semnet.fl.loop.strategy import run_rounds
from semnet.errors import ScenarioError
from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.fl.conftest import build_context, tiny_scenario_dict


def _image_rows(images: torch.Tensor) -> set[bytes]:
    return {bytes(x.numpy().tobytes()) for x in images}


def test_the_oracle_trains_each_link_on_the_senders_training_images_only(monkeypatch):
    raw = tiny_scenario_dict(oracle={"rounds": 2, "local": {"steps": 3, "batch_size": 8}})
    raw["data"]["validation_per_user"] = 8
    scenario = validate(raw)
    ctx, events = build_context(scenario)
    train = {u: ctx.data.user_images(u) for u in ctx.topology.users}
    rows = {u: _image_rows(train[u]) for u in ctx.topology.users}
    seen_links, drawn, patched = [], {}, set()
    trainer = ctx._parts["trainer"]
    real_run = trainer.run

    def spy(jobs):
        for job in jobs:
            i, j = job.key
            seen_links.append((i, j))
            assert job.data.images is train[i] or torch.equal(job.data.images, train[i])
            assert job.train == ("encoder", "decoders") and len(job.tasks) == 1
            assert list(job.tasks[0].snr_db) == [ctx.topology.link_snr(i, j)]  # the link's channel
            stream = job.data
            if id(stream) in patched:  # one stream per sender, shared by its links
                continue
            patched.add(id(stream))
            real_next = stream.next

            def next_batch(stream=stream, real_next=real_next, i=i):
                batch = real_next()
                # every image of every batch is one of the sender's training images
                as_uint8 = (batch * 255).round().to(torch.uint8)
                assert _image_rows(as_uint8) <= rows[i]
                drawn[i] = drawn.get(i, 0) + batch.shape[0]
                return batch

            monkeypatch.setattr(stream, "next", next_batch)
        return real_run(jobs)

    monkeypatch.setattr(trainer, "run", spy)
    strategy = LinkOracle(ctx, ctx.data.new_model(), scenario.method.oracle.local)
    record = run_rounds(ctx, strategy, scenario.method.oracle.rounds, phase="oracle")
    links = ctx.topology.image_links()
    assert sorted(seen_links) == sorted(links * 2)  # every link, every round
    assert set(drawn) == set(ctx.topology.users) and all(n == 2 * 2 * 3 * 8 for n in drawn.values())  # 2 links x 2 x 3 x 8
    assert not events  # nothing travels
    assert record.bytes == 0 and len(record.links) == len(links)
    # every kept pair is the start (round 0) or a trained one, chosen per link
    assert set(strategy.best_round) == set(links) and set(strategy.best_round.values()) <= {0, 1, 2}


def test_the_kept_pair_is_the_best_on_validation(monkeypatch):
    raw = tiny_scenario_dict(oracle={"rounds": 3, "local": {"steps": 2, "batch_size": 8}})
    raw["data"]["validation_per_user"] = 8
    scenario = validate(raw)
    ctx, _ = build_context(scenario)
    strategy = LinkOracle(ctx, ctx.data.new_model(), scenario.method.oracle.local)
    scores = []
    real = strategy._keep_best

    def keep(rnd):
        before = dict(strategy.best_db)
        real(rnd)
        scores.append((rnd, before, dict(strategy.best_db)))

    monkeypatch.setattr(strategy, "_keep_best", keep)
    run_rounds(ctx, strategy, 3, phase="oracle")
    assert [r for r, _, _ in scores] == [0, 1, 2, 3]
    for _, before, after in scores:
        assert all(after[k] >= before.get(k, -math.inf) for k in after)  # never worse
    # the pairing scores the kept pairs: their validation PSNR is the best seen
    kept = ctx.phases.evaluate(*strategy.pairing(), validation=True)[0]
    assert {(q.src, q.dst): round(q.psnr_db, 6) for q in kept} == \
        {k: round(v, 6) for k, v in strategy.best_db.items()}


def test_headroom_fractions_per_link_and_on_the_mean():
    start = [{"src": 0, "dst": 1, "psnr_db": 10.0}, {"src": 1, "dst": 0, "psnr_db": 20.0}]
    oracle = [{"src": 0, "dst": 1, "psnr_db": 12.0}, {"src": 1, "dst": 0, "psnr_db": 20.0 + MIN_HEADROOM_DB / 2}]
    method = [{"src": 1, "dst": 0, "psnr_db": 22.0}, {"src": 0, "dst": 1, "psnr_db": 11.0}]
    out = headroom(start, oracle, {"m": method})
    rows = {(r["src"], r["dst"]): r for r in out["links"]}
    assert rows[(0, 1)]["oracle_gain_db"] == 2.0 and rows[(0, 1)]["captured"]["m"] == 0.5
    assert rows[(1, 0)]["captured"]["m"] is None  # no headroom to speak of on this link
    mean_room = (2.0 + MIN_HEADROOM_DB / 2) / 2
    assert out["oracle_gain_db"] == pytest.approx(mean_room, abs=1e-4)
    assert out["captured"]["m"] == pytest.approx(((1.0 + 2.0) / 2) / mean_room, abs=1e-4)
    assert out["exceeds_oracle"] == ["m"]  # its mean gain is above the oracle's: the bound failed
    flat = headroom(start, start, {"m": start})
    assert flat["captured"]["m"] is None and flat["exceeds_oracle"] == []


def test_a_finefed_run_with_the_oracle_reports_its_headroom(tmp_path):
    raw = tiny_scenario_dict(controls=["compute_matched", "oracle"],
                             oracle={"rounds": 2, "local": {"steps": 4, "batch_size": 8}})
    raw["data"]["validation_per_user"] = 8
    summary = run_scenario(validate(raw), out_dir=tmp_path / "r").summary
    controls = {c["name"]: c for c in summary["controls"]}
    oracle = controls["oracle"]
    assert oracle["bytes"] == 0 and oracle["rounds"] == 2
    assert oracle["local_passes"] == 2 * 4 * summary["network"]["image_links"]
    room = summary["headroom"]
    start = {(q["src"], q["dst"]): q["psnr_db"] for q in summary["phases"][0]["links"]}
    final = {(q["src"], q["dst"]): q["psnr_db"] for q in summary["phases"][-1]["links"]}
    best = {(q["src"], q["dst"]): q["psnr_db"] for q in oracle["links"]}
    for row in room["links"]:
        link = (row["src"], row["dst"])
        assert row["oracle_gain_db"] == pytest.approx(best[link] - start[link], abs=1e-3)
        assert row["gain_db"]["finefed"] == pytest.approx(final[link] - start[link], abs=1e-3)
    assert set(room["captured"]) == {"finefed", "compute_matched"}
    assert room["oracle_gain_db"] == pytest.approx(sum(best.values()) / len(best) - sum(start.values()) / len(start),
                                                   abs=1e-3)


def test_the_oracle_is_a_registered_control():
    from semnet import registry

    assert registry.controls.get("oracle").__name__ == "OracleControl"
    assert oracle_module.LinkOracle is LinkOracle


def test_a_link_plateaus_after_patience_chunks_without_the_minimum_gain():
    from semnet.fl.methods.oracle import Plateau

    watch = Plateau(patience=2, min_gain_db=0.1)
    # the start, then chunks: +0.5 (progress), +0.05 (not enough), +0.3 (progress),
    # +0.02 and -0.4 (two in a row without 0.1 dB over the best): stops after chunk 5
    for rnd, value in enumerate([20.0, 20.5, 20.55, 20.85, 20.87, 20.47]):
        assert watch.active("link")
        watch.record("link", value, rnd)
    assert not watch.active("link") and watch.stopped_at == {"link": 5}
    assert watch.best_db["link"] == 20.87  # the best is any improvement, the count needs 0.1 dB
    never = Plateau(patience=None, min_gain_db=0.1)
    for rnd in range(20):
        never.record("link", 20.0, rnd)
    assert never.active("link")


@pytest.mark.parametrize("patience, min_gain_db, rounds_played, capped", [
    (1, 10.0, 1, 0),   # no chunk gains 10 dB: every link stops after its first
    (9, 0.0, 3, None),  # a patience beyond the cap: every link trains all 3 rounds and is capped
])
def test_an_oracle_with_patience_stops_each_link_at_its_plateau_and_reports_the_cap(
        tmp_path, patience, min_gain_db, rounds_played, capped):
    raw = tiny_scenario_dict(controls=["oracle"], oracle={"rounds": 3, "local": {"steps": 2, "batch_size": 8},
                                                           "patience": patience, "min_gain_db": min_gain_db})
    raw["data"]["validation_per_user"] = 8
    summary = run_scenario(validate(raw), out_dir=tmp_path / "r").summary
    (oracle,) = summary["controls"]
    links = summary["network"]["image_links"]
    assert oracle["rounds"] == rounds_played
    assert oracle["local_passes"] == rounds_played * 2 * links
    assert len(oracle["plateau"]) == links
    if capped is None:
        assert oracle["capped_links"] == links
        assert all(row["stopped_after_round"] is None for row in oracle["plateau"])
    else:
        assert oracle["capped_links"] == capped
        assert all(row["stopped_after_round"] == 1 for row in oracle["plateau"])


def test_an_oracle_patience_without_validation_images_is_one_line():
    raw = tiny_scenario_dict(controls=["oracle"], oracle={"patience": 2})
    raw["data"]["validation_per_user"] = 0
    with pytest.raises(ScenarioError, match="data.validation_per_user.*method.oracle.patience needs held-out images"):
        validate(raw)
