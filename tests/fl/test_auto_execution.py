"""simulation.threads/workers: auto in runs: the work it counts (FLOP, by hand), and a run
with auto equals the explicit settings it resolved to; simulated time and bytes never
depend on the thread count."""

import json

import torch
from torch import nn

import semnet.workers.plan as plan
from semnet.data import BatchStream
from semnet.fl.execution.trainer import LossTask, TrainJob
from semnet.fl.execution.work import forward_flop, round_work
from semnet.runner import run_scenario
from semnet.scenario import validate
from tests.fl.conftest import tiny_scenario_dict


class _Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x, snr):
        return self.drop(self.norm(self.conv(x)))


class _Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 3, 1)

    def forward(self, z, snr):
        return self.conv(z)


# by hand, one 8x8 image: a conv costs 2 x C_out x H x W x C_in x k^2 FLOP
ENCODER_FLOP = 2 * 4 * 8 * 8 * 3 * 3 * 3  # 13,824
DECODER_FLOP = 2 * 3 * 8 * 8 * 4 * 1 * 1  # 1,536


def _job(decoders=1, batch=5, steps=7):
    stream = BatchStream(torch.zeros(10, 3, 8, 8, dtype=torch.uint8), batch, seed=0)
    return TrainJob(key="u", encoder=_Encoder(), tasks=[LossTask(_Decoder(), [5.0]) for _ in range(decoders)],
                    data=stream, steps=steps)


def test_the_work_of_a_round_is_counted_in_flop():
    one, two = _job(), _job(decoders=2, batch=3, steps=2)
    assert forward_flop(one) == ENCODER_FLOP + DECODER_FLOP
    assert forward_flop(two) == ENCODER_FLOP + 2 * DECODER_FLOP
    step_one = 3 * (ENCODER_FLOP + DECODER_FLOP) * 5  # forward + backward, batch 5
    step_two = 3 * (ENCODER_FLOP + 2 * DECODER_FLOP) * 3
    assert round_work([one, two]) == (max(step_one, step_two), 7 * step_one + 2 * step_two)


def test_counting_moves_no_state():
    job = _job()
    job.encoder.train()
    stats = job.encoder.norm.running_mean.clone()
    rng = torch.get_rng_state()
    forward_flop(job)
    assert torch.equal(job.encoder.norm.running_mean, stats)  # batch-norm statistics untouched
    assert torch.equal(torch.get_rng_state(), rng)  # dropout drew nothing from the global generator
    assert job.encoder.training and job.tasks[0].decoder.training  # modes restored


def test_work_that_cannot_be_counted_is_unknown():
    job = _job()
    job.data = object()  # not a batch stream of images
    assert round_work([_job(), job]) == (None, None)


def _tiny(**simulation):
    raw = tiny_scenario_dict(controls=[])
    raw["method"]["federated"]["rounds"] = 3
    raw["simulation"].update(simulation)
    return validate(raw)


def _run(scenario, out):
    result = run_scenario(scenario, out_dir=out)
    return result.summary, (result.path / "events.jsonl").read_bytes()


def _assert_same(auto_run, explicit_run, plan_record):
    """``auto_run`` trained as ``plan_record`` says, and equals ``explicit_run`` (the run
    with those settings written out): events byte for byte, simulated time, bytes, PSNR."""
    (auto, auto_events), (explicit, explicit_events) = auto_run, explicit_run
    assert auto["execution"] == plan_record == explicit["execution"]
    assert auto_events == explicit_events
    for key in ("sim_time_s", "bytes_total", "messages_total", "psnr_db"):
        assert auto[key] == explicit[key], key


def test_auto_equals_the_explicit_settings_it_resolved_to(tmp_path, monkeypatch):
    monkeypatch.setattr(plan, "free_cores", lambda: 2)  # an idle 2-core box, whatever the load now
    # the tiny model's steps (about 1e7 FLOP) are too small for threads, its rounds for workers
    _assert_same(_run(_tiny(), tmp_path / "auto"), _run(_tiny(threads=1, workers=1), tmp_path / "pinned"),
                 {"threads": 1, "workers": 1, "worker_threads": 1})
    # steps counted as large: auto trains on both cores, as threads: 2 does
    monkeypatch.setattr(plan, "THREADS_MIN_STEP_FLOP", 0.0)
    _assert_same(_run(_tiny(), tmp_path / "threaded"), _run(_tiny(threads=2, workers=1), tmp_path / "explicit"),
                 {"threads": 2, "workers": 1, "worker_threads": 2})


def test_auto_spreads_long_rounds_over_workers_with_the_same_simulated_time_and_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(plan, "free_cores", lambda: 2)
    monkeypatch.setattr(plan, "SPREAD_MIN_ROUND_FLOP_IDLE_CORES", 0.0)  # every round counts as long
    _assert_same(_run(_tiny(), tmp_path / "spread"), _run(_tiny(threads=1, workers=2), tmp_path / "explicit"),
                 {"threads": 1, "workers": 2, "worker_threads": 1})


def test_simulated_time_and_bytes_do_not_depend_on_the_thread_count(tmp_path):
    # a model large enough for torch to split its kernels over threads
    def scenario(threads):
        raw = tiny_scenario_dict(controls=[])
        raw["model"] = {"name": "deep_jscc", "latent_channels": 8, "width": 1.0}
        raw["simulation"].update(threads=threads, workers=1)
        return validate(raw)

    one, one_events = _run(scenario(1), tmp_path / "t1")
    two, two_events = _run(scenario(2), tmp_path / "t2")
    assert one["execution"]["threads"] == 1 and two["execution"]["threads"] == 2
    assert one_events == two_events  # every message's simulated times and bytes
    assert (one["sim_time_s"], one["bytes_total"]) == (two["sim_time_s"], two["bytes_total"])
    assert [p["sim_time_s"] for p in one["phases"]] == [p["sim_time_s"] for p in two["phases"]]
    assert json.dumps(one["delivery"]) == json.dumps(two["delivery"])


def test_a_run_gives_its_caller_torch_threads_back(tmp_path):
    raw = tiny_scenario_dict(name="fedavg")
    raw["simulation"]["threads"] = 2
    torch.set_num_threads(1)
    result = run_scenario(validate(raw), out_dir=tmp_path / "run")
    assert result.summary["execution"]["threads"] == 2  # it trained on two
    assert torch.get_num_threads() == 1  # and the caller's one thread is back
