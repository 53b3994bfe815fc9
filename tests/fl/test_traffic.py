"""Live images decoded with the models deployed when they travel
(:mod:`semnet.fl.loop.traffic`, :mod:`semnet.fl.loop.deployment`): a decoder update takes effect
when its message arrives; runs with traffic record it; runs without are unchanged."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from semnet.fl.loop.context import ClientPlan, RunContext, RunSettings
from semnet.fl.loop.deployment import Deployments
from semnet.fl.loop.evaluation import LinkEvaluator
from semnet.fl.execution.trainer import Trainer
from semnet.fl.loop.traffic import ImageDecoder, TrafficRecorder, TrafficTally
from semnet.models import Channel, transmit
from semnet.net.network import build_network
from semnet.assembly import compute_speeds, traffic_plan
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.seeding import derive_seed
from semnet.sim import Message, Simulator, Task
from semnet.workload import load_user_data, model_factory, symbols_per_image
from tests.fl.conftest import tiny_scenario_dict


def traffic_context(raw: dict):
    """A RunContext with live traffic the way the runner builds one; records go to lists."""
    scenario = validate(raw)
    net = build_network(scenario.topology, scenario.links, scenario.seed)
    data = load_user_data(scenario.data, net.users, scenario.seed)
    plan = traffic_plan(scenario, net, symbols_per_image(scenario.model, data.image_hw))
    sim = Simulator(net, seed=scenario.seed, compute_speed=compute_speeds(scenario, net), traffic=plan)
    channel, device = Channel("awgn"), torch.device("cpu")
    new_model = model_factory(scenario.model, data.image_hw, scenario.seed, device)
    metrics, images = [], []
    tally = TrafficTally(scenario.traffic, plan.symbols, metrics.append, images.append)
    recorder = TrafficRecorder(sim, ImageDecoder(data.test, channel, device, seed=scenario.seed, new_model=new_model),
                               tally, "main")
    links = net.image_links()
    ev = LinkEvaluator(links, {link: net.link(*link).snr_db for link in links}, data.test, channel, device, seed=1)
    ctx = RunContext(settings=RunSettings.of(scenario), network=net, sim=sim, trainer=Trainer(channel, device),
                     evaluator=ev, validator=ev, train_images=data.train, new_model=new_model, device=device,
                     record_metric=metrics.append, progress=lambda r: None, traffic=recorder)
    return ctx, sim, data, channel, metrics, images


def test_images_decoded_before_an_update_arrives_use_the_old_decoder_and_after_it_the_new_one():
    raw = tiny_scenario_dict()
    raw["traffic"] = {"images_per_s": 40.0, "arrivals": "periodic"}
    ctx, sim, data, channel, metrics, records = traffic_context(raw)
    old = ctx.data.new_model()
    new = copy.deepcopy(old)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in new.decoder.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=gen))
    ctx.phases.begin("p")
    ctx.deployment.deploy_pairing(lambda i: old.encoder, lambda j: old.decoder, via="start")
    sim.wait(0.1)
    # user 0 sends user 1 a new decoder: 2 Mbit at 10 Mbit/s, sent at 0.1 s, arrives 0.305 s
    message = ctx.deployment.deploys(Message(0, 1, "decoder", 2_000_000), decoder=new.decoder)
    assert message.tag is not None
    ctx.rounds.play([ClientPlan(Task(key="d", node=1, downloads=(message,)))])
    ctx.deployment.settle()
    sim.wait(0.3)
    ctx.deployment.settle()
    ctx._traffic.tally.finish()
    arrival = 0.1 + 2_000_000 / 10e6 + 0.005
    [deployed] = [m for m in metrics if m.get("split") == "deployment" and m["via"] == "decoder"]
    assert deployed["node"] == 1 and deployed["t_s"] == pytest.approx(arrival)
    to_1 = [r for r in records if r["dst"] == 1]
    before = [r for r in to_1 if r["t_end_s"] < arrival]
    after = [r for r in to_1 if r["t_end_s"] >= arrival]
    assert len(before) >= 10 and len(after) >= 10
    assert {r["decoder"] for r in before} == {1}  # the start's decoder (version 1; its encoder is version 0)
    assert {r["decoder"] for r in after} == {deployed["version"]}
    assert all(r["encoder"] == 0 for r in to_1)
    # each recorded PSNR is the image sent once through the old encoder, the channel and
    # the decoder deployed at its arrival (the same draws, one image at a time)
    for record in before[-3:] + after[:3]:
        x = data.test[record["src"]][record["image"]].unsqueeze(0).float() / 255
        image_gen = torch.Generator().manual_seed(
            derive_seed(3, "traffic", "main", record["src"], record["dst"], record["n"]))
        snr = torch.tensor([record["snr_db"]])
        scores = {}
        for name, model in (("old", old), ("new", new)):
            state = image_gen.get_state()
            with torch.no_grad():
                x_hat = transmit(old.encoder, model.decoder, x, snr, channel, image_gen,
                                 gain=torch.ones(1, dtype=torch.complex64)).clamp(0, 1)
            image_gen.set_state(state)  # the same noise for both decoders
            scores[name] = float(10 * torch.log10(1 / (x_hat - x).square().mean()))
        assert abs(scores["old"] - scores["new"]) > 0.1  # the two decoders differ on this image
        expected = scores["old"] if record["t_end_s"] < arrival else scores["new"]
        assert record["psnr_db"] == pytest.approx(expected, abs=2e-3)


def test_a_lost_message_deploys_nothing_and_versions_are_stored_once():
    deployments = Deployments()
    model = torch.nn.Linear(3, 2)
    v = deployments.version_of(model)
    assert deployments.version_of(model) == v  # same state, same version
    tag = deployments.expect(1, None, v, "decoder")
    deployments.arrived(tag, 2.0, delivered=False)
    assert deployments.at(1, "decoder", 5.0) is None
    deployments.deploy(1, 3.0, None, v, "x")
    with torch.no_grad():
        model.weight.add_(1.0)
    w = deployments.version_of(model)
    deployments.deploy(1, 1.0, None, w, "y")  # recorded late, effective earlier
    assert [deployments.at(1, "decoder", t) for t in (0.5, 1.0, 2.9, 3.0)] == [None, w, w, v]
    deployments.prune(3.5)
    assert set(deployments.states) == {v}


def _run(tmp_path, name: str, raw: dict):
    out = tmp_path / name
    run_scenario(validate(raw), out_dir=out)
    summary = json.loads((out / "summary.json").read_text())
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return out, summary, metrics


def test_a_run_with_traffic_records_images_windows_and_deployments(tmp_path, capsys):
    raw = tiny_scenario_dict()
    raw["simulation"]["workers"] = 1
    raw["traffic"] = {"images_per_s": 30.0, "deadline_s": 0.006, "window_s": 0.25, "queue": "images_first"}
    out, summary, metrics = _run(tmp_path, "traffic", raw)
    images = [json.loads(line) for line in (out / "images.jsonl").read_text().splitlines()]
    main = summary["traffic"]["branches"]["main"]
    assert main["images"] == len(images) > 50
    # about the rate times the duration on each of the 6 links
    assert main["images"] == pytest.approx(30.0 * 6 * summary["sim_time_s"], rel=0.25)
    assert set(main["phases"]) == {p["name"] for p in summary["phases"]}
    lost = [im for im in images if im["lost"]]
    assert main["lost"] == len(lost) and all(im["latency_s"] > 0.006 for im in lost)
    assert all(im["psnr_db"] is None for im in lost)
    assert all(im["psnr_db"] is not None for im in images if not im["lost"])
    windows = [m for m in metrics if m.get("split") == "traffic"]
    assert sum(w["images"] for w in windows) == len(images)  # every window written once
    assert {m["via"] for m in metrics if m.get("split") == "deployment"} >= {
        "phase_start", "global_model", "local_training", "aggregation", "phase_end"}
    # quality and cost of the method are those of the same run without traffic but for
    # time: images share the links, so model messages may wait
    assert summary["bytes_total"] == _run(tmp_path, "plain", tiny_scenario_dict())[1]["bytes_total"]

    # semnet report shows them: images, share lost, delivered PSNR and latency, per phase
    from semnet.cli.main import main as cli

    assert cli(["report", str(out)]) == 0
    text = capsys.readouterr().out.splitlines()
    start = next(k for k, line in enumerate(text) if line.startswith("live images"))
    fields = text[start + 1].split()
    assert fields[0] == "main" and int(fields[1]) == len(images)
    assert float(fields[2]) == pytest.approx(100 * len(lost) / len(images), abs=0.05)
    delivered = [im["psnr_db"] for im in images if not im["lost"]]
    assert float(fields[3]) == pytest.approx(sum(delivered) / len(delivered), abs=0.005)
    assert float(fields[6]) == pytest.approx(1e3 * main["latency_s_p99"], abs=0.05)
    assert [line.split()[0] for line in text[start + 2:start + 2 + len(summary["phases"])]] == \
        [ph["name"] for ph in summary["phases"]]


def test_images_on_the_exchange_protocol_have_latency_but_no_quality(tmp_path):
    raw = tiny_scenario_dict()
    raw["method"] = {"name": "exchange", "exchange": {"rounds": 3, "message_bytes": 50_000}}
    raw["traffic"] = {"images_per_s": 50.0, "image_records": False}
    out, summary, _ = _run(tmp_path, "exchange", raw)
    assert not (out / "images.jsonl").exists()
    main = summary["traffic"]["branches"]["main"]
    assert main["images"] > 0 and main["psnr_db_mean"] is None and main["latency_s_p99"] > 0


def test_without_a_traffic_section_nothing_changes(tmp_path):
    out, summary, metrics = _run(tmp_path, "plain", tiny_scenario_dict())
    assert "traffic" not in summary and not (out / "images.jsonl").exists()
    assert all(m.get("split") in ("test", "validation") for m in metrics)
