"""Run one scenario end to end and write its run directory.

scenario -> network + simulator -> data shards + models -> method phases ->
events.jsonl, metrics.jsonl, checkpoints, summary.json (written last).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from semnet.channels import make_fading
from semnet import __version__
from semnet.errors import RunFailed, RunInterrupted, StorageError
from semnet.fl.context import RunContext, RunSettings
from semnet.fl.evaluation import LinkEvaluator
from semnet.fl.resume import RESUME_CALLS, RESUME_CHECKPOINT, ResumeLog, ResumeStore, call_file, scenario_digest
from semnet.fl.strategy import Method
from semnet.fl.trainer import Trainer
from semnet.fl.traffic import ImageDecoder, TrafficRecorder, TrafficTally
from semnet.metrics.rundir import RunDirectory, check_target
from semnet.metrics.delivery import DeliveryTally
from semnet.metrics.energy import energy_summary
from semnet.models import Channel
from semnet.models.link_channels import LinkChannels
from semnet.net.network import Network, build_network
from semnet.registry import methods
from semnet.scenario.loader import resolved_yaml
from semnet.scenario.schema import Scenario
from semnet.seeding import derive_seed, numpy_rng
from semnet.sim import Simulator
from semnet.sim.ledger import UsageLedger
from semnet.sim.traffic import TrafficPlan
from semnet.models.base import state_bytes
from semnet.workload import load_user_data, model_factory, symbols_per_image

log = logging.getLogger(__name__)

Progress = Callable[[dict], None]


@dataclass
class RunResult:
    path: Path
    summary: dict


def link_channels(scenario: Scenario, network: Network) -> LinkChannels:
    """Which JSCC channel each image link uses: ``links.fading``/``links.csi`` on every
    link but those ``links.overrides`` give another kind (built once per kind, from the
    network's models, so images and packets of a link fade alike)."""
    default = Channel(make_fading(scenario.links), csi=scenario.links.csi)
    return LinkChannels.from_kinds(default, network.link_kinds)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from semnet.errors import ScenarioError

        raise ScenarioError("simulation.device = 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    return torch.device(name)


def make_trainer(scenario: Scenario, channel: Channel | LinkChannels, device: torch.device) -> Trainer:
    """The trainer ``simulation`` asks for: in-process, batched, or spread over workers;
    ``channel`` is every link's channel (:func:`link_channels`)."""
    sim = scenario.simulation
    loss, precision = scenario.method.loss, sim.precision
    if sim.trainer == "batched":
        from semnet.fl.batched import BatchedTrainer

        return BatchedTrainer(channel, device, loss=loss, precision=precision)
    from semnet.fl.parallel import ParallelTrainer, resolve_workers

    workers = resolve_workers(sim.workers, device)
    if workers <= 1 and sim.backend == "local":
        return Trainer(channel, device, loss=loss, precision=precision)
    trainer = ParallelTrainer(channel, device, loss=loss, precision=precision, workers=workers, backend=sim.backend,
                              threads=sim.threads or 1)
    trainer.start()  # workers start up while the run loads its data, builds its models and scores its start
    return trainer


def compute_speeds(scenario: Scenario, network: Network) -> dict:
    """Simulated training speed (samples/s) of every node, the aggregator included."""
    spec = scenario.simulation.compute
    speeds = {}
    for user in network.users:
        if user in spec.per_node:
            speeds[user] = spec.per_node[user]
        elif spec.samples_per_s_range is not None:  # one stream per user: per_node never shifts others
            speeds[user] = float(numpy_rng(scenario.seed, "compute_profile", user).uniform(*spec.samples_per_s_range))
        else:
            speeds[user] = spec.samples_per_s
    speeds[network.aggregator] = spec.samples_per_s
    return speeds


def default_run_dir(scenario: Scenario) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(scenario.output.dir) / f"{scenario.name}-seed{scenario.seed}-{stamp}"


def run_scenario(scenario: Scenario, out_dir: str | Path | None = None, progress: Progress | None = None, *,
                 overwrite: bool = False, resume: dict | None = None) -> RunResult:
    """Simulate ``scenario``; return the run directory and its summary.

    ``out_dir`` must not hold a run unless ``overwrite`` (its run files are then
    replaced) or ``resume`` (the checkpoint it is continued from, see
    :func:`semnet.resume_run.resume_run`). A run that diverges raises
    :class:`~semnet.errors.RunDiverged`, one that is interrupted
    :class:`~semnet.errors.RunInterrupted`; either way the run directory keeps its
    records as ``*.part`` and says why in ``status.json``.
    """
    # a resumed run's wall time goes on from its checkpoint's: the run's total, less the
    # work lost after the last checkpoint (it is played again and counted then)
    wall0 = time.perf_counter() - (float(resume.get("wall_time_s", 0.0)) if resume is not None else 0.0)
    out_dir = Path(out_dir) if out_dir is not None else default_run_dir(scenario)
    if resume is None:  # before loading anything: a busy or used directory fails fast
        check_target(out_dir, overwrite=overwrite)
    progress = progress or (lambda _record: None)
    device = resolve_device(scenario.simulation.device)
    if device.type == "cuda":  # one seed fixes a run on the GPU too (deterministic cuDNN kernels)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    # one torch thread unless told otherwise: more threads than free cores spin against
    # each other, and training results depend on the thread count
    torch.set_num_threads(scenario.simulation.threads or 1)
    network = build_network(scenario.topology, scenario.links, scenario.seed)
    speeds = compute_speeds(scenario, network)
    method: Method = methods.get(scenario.method.name)(
        scenario.method, model_from_checkpoint=scenario.model.checkpoint is not None
    )
    learning = method.learns
    channel = link_channels(scenario, network)  # every image link's channel (its model packets' fading: the network's)
    # before the data loads: worker processes import torch meanwhile, not inside the first round
    trainer = make_trainer(scenario, channel, device) if learning else Trainer(channel, device)
    data = None
    if learning:
        # held out whether or not convergence is checked, so that switch does not change the training data
        data = load_user_data(scenario.data, network.users, scenario.seed,
                              validation_per_user=scenario.data.validation_per_user)
    image_hw = data.image_hw if data else (32, 32)

    new_model = None
    if learning:  # build one model now: a bad checkpoint fails before anything is written
        new_model = model_factory(scenario.model, image_hw, scenario.seed, device)
        new_model()

    if scenario.traffic is not None and learning:
        empty = [u for u in sorted({i for i, _ in network.image_links()}) if data.test[u].shape[0] == 0]
        if empty:
            from semnet.errors import ScenarioError

            raise ScenarioError(f"traffic: user {empty[0]} sends images but holds no held-out (test) images to send; "
                                "give every sender test images (data.test_per_user) or remove traffic")
    run_dir = RunDirectory(out_dir, overwrite=overwrite, resume_offsets=None if resume is None else resume["offsets"],
                           images=scenario.traffic is not None and scenario.traffic.image_records)
    try:
        return _run(scenario, run_dir, network, speeds, method, data, new_model, trainer, progress, wall0, resume)
    except StorageError as err:  # the run stops as interrupted: 'semnet run --resume' continues it
        run_dir.fail({"status": "interrupted", "error": str(err), **getattr(err, "where", {})})
        err.run_dir = run_dir.path
        raise
    except BaseException:
        run_dir.abort()  # a no-op after fail(): streams closed, lock released
        raise


def _run(scenario, run_dir, network, speeds, method, data, new_model, trainer, progress, wall0, resume) -> RunResult:
    learning = method.learns
    channel, device = trainer.channels, trainer.device  # every link's channel
    image_hw = data.image_hw if data else (32, 32)
    scenario_text = resolved_yaml(scenario)
    if resume is None:
        run_dir.write_text("scenario.yaml", scenario_text)
    log = resume_log(scenario, scenario_text, run_dir, resume, elapsed_s=lambda: time.perf_counter() - wall0)
    if log is not None and log.replaying:
        run_dir.mute(True)  # the streams already hold everything up to the checkpoint
        progress = _after_replay(progress, log)
    delivery = DeliveryTally()
    ledger = UsageLedger() if accounts_energy(scenario) else None
    plan = traffic_plan(scenario, network, image_hw)
    sim = Simulator(network, seed=scenario.seed, compute_speed=speeds, sink=delivery.sink(run_dir.events.write),
                    ledger=ledger, traffic=plan)
    sims = [sim]  # every branch's simulator: their realised SNRs go into the summary

    def branch_sim(name: str, start_s: float) -> Simulator:
        branch = Simulator(network, seed=scenario.seed, compute_speed=speeds,
                           sink=delivery.sink(run_dir.events.write, name), start_s=start_s, stream=name,
                           ledger=ledger, traffic=plan)
        sims.append(branch)
        return branch

    links = network.image_links()
    snr = {(i, j): network.link(i, j).snr_db for i, j in links}
    evaluator = validator = None
    if learning:
        out = scenario.output
        cap = out.eval_images_per_link
        test = {u: (x[:cap] if cap else x) for u, x in data.test.items()}
        eval_seed = derive_seed(scenario.seed, "evaluation")
        # on a channel over time every method is scored on the same fixed states of each link's process
        states = None if network.channel is None else {
            link: network.channel.comparison(link, eval_seed) for link in links
        }
        evaluator = LinkEvaluator(links, snr, test, channel, device, seed=eval_seed,
                                  realisations=out.eval_realisations, with_ssim=out.ssim, states=states)
        val_links = [(i, j) for i, j in links if i in data.validation]
        validator = LinkEvaluator(val_links, snr, data.validation, channel, device, seed=eval_seed, with_ssim=False,
                                  states=states)
    traffic = None
    if plan is not None:
        decoder = ImageDecoder(data.test if learning else {}, channel, device, seed=scenario.seed,
                               new_model=new_model if learning else None)
        tally = TrafficTally(scenario.traffic, plan.symbols, run_dir.metrics.write,
                             run_dir.images.write if run_dir.images is not None else None)
        traffic = TrafficRecorder(sim, decoder, tally, "main")
    settings = dataclasses.replace(RunSettings.of(scenario), symbols_per_image=symbols_per_image(scenario.model, image_hw))
    ctx = RunContext(
        settings=settings,
        network=network,
        sim=sim,
        trainer=trainer,
        evaluator=evaluator,
        validator=validator,
        train_images=data.train if data else {},
        new_model=new_model,
        device=device,
        record_metric=lambda record: run_dir.metrics.write({**record, "wall_time_s": time.perf_counter() - wall0}),
        progress=progress,
        sim_factory=branch_sim,
        save_checkpoint=run_dir.save_checkpoint,
        delivery=delivery,
        resume_log=log,
        traffic=traffic,
    )
    try:
        outcome = method.run(ctx)
    except RunFailed as err:
        run_dir.fail({"status": "failed", "error": str(err), **err.where})
        err.run_dir = run_dir.path
        raise
    except StorageError as err:  # a full disk, a read-only folder: resumable once it can be written
        err.where = dict(ctx.where)
        raise
    except KeyboardInterrupt:
        where = ctx.where
        line = f"interrupted in phase '{where['phase']}', round {where['round']}" + (
            f" of branch '{where['branch']}'" if where["branch"] != "main" else "")
        run_dir.fail({"status": "interrupted", "error": line, **where})
        stop = RunInterrupted(line)
        stop.run_dir = run_dir.path
        raise stop from None
    except Exception as err:  # a bug: the traceback goes on up, the directory says where it happened
        run_dir.fail({"status": "failed", "error": f"{type(err).__name__}: {err}".splitlines()[0], **ctx.where})
        raise
    finally:
        trainer.close()
    for simulator in sims:  # messages still on a shared band get their records; images up to the clock
        simulator.finish()
    if traffic is not None:  # every branch's last images are scored
        traffic.tally.finish()
    if scenario.output.checkpoints:
        for name, state in outcome.checkpoints.items():
            run_dir.save_checkpoint(name, state)
    summary = build_summary(scenario, network, ctx, outcome, device, time.perf_counter() - wall0, data, delivery)
    if network.channel is not None:
        summary["channel_over_time"] = channel_summary(network, sims)
    if ledger is not None:
        summary["energy"] = run_energy(scenario, network, ledger, summary)
    if traffic is not None:
        summary["traffic"] = traffic.tally.summary()
    # the resume checkpoints go once summary.json is there: a summary that cannot be written
    # leaves a run that resumes
    run_dir.finish(summary, discard=(ctx.interim_checkpoints | {RESUME_CHECKPOINT, RESUME_CALLS}) - set(outcome.checkpoints))
    return RunResult(run_dir.path, summary)


def _after_replay(progress: Progress, log: ResumeLog) -> Progress:
    """``progress`` silenced while a resumed run replays up to its checkpoint."""

    def show(record: dict) -> None:
        if not log.replaying:
            progress(record)

    return show


class _RunDirectoryStore(ResumeStore):
    """Checkpoints in the run directory: completed calls under ``checkpoints/resume/``,
    the point to resume from in ``checkpoints/resume.pt`` with the streams' offsets, the
    scenario's digest and semnet's version."""

    def __init__(self, run_dir: RunDirectory, digest: str, elapsed_s=None):
        self.run_dir, self.digest = run_dir, digest
        self.elapsed_s = elapsed_s or (lambda: 0.0)  # the run's wall time so far

    def save_call(self, index: int, snapshot: dict) -> None:
        self.run_dir.save_checkpoint(call_file(index), snapshot)

    def save_point(self, payload: dict) -> None:
        payload.update(offsets=self.run_dir.stream_offsets(), scenario_sha256=self.digest, semnet_version=__version__,
                       wall_time_s=float(self.elapsed_s()))
        self.run_dir.save_checkpoint(RESUME_CHECKPOINT, payload)


def resume_log(scenario: Scenario, scenario_text: str, run_dir: RunDirectory, resume: dict | None,
               elapsed_s=None) -> ResumeLog | None:
    """The run's resume log: it writes checkpoints into the run directory unless
    checkpoints are off, and replays up to ``resume`` when the run is a resumed one.
    ``elapsed_s()`` is the run's wall time so far, kept in each checkpoint."""
    out = scenario.output
    digest = scenario_digest(scenario_text) if resume is None else resume["scenario_sha256"]
    store = _RunDirectoryStore(run_dir, digest, elapsed_s) if out.checkpoints else None
    if store is None and resume is None:
        return None
    return ResumeLog(store, out.resume_every_rounds, loaded=resume, on_caught_up=lambda: run_dir.mute(False))


def traffic_plan(scenario: Scenario, network: Network, image_hw: tuple[int, int]) -> TrafficPlan | None:
    """What the network carries of ``traffic:`` (None without it): every image link, ``k``
    channel uses per image."""
    spec = scenario.traffic
    if spec is None:
        return None
    return TrafficPlan(images_per_s=spec.images_per_s, symbols=symbols_per_image(scenario.model, image_hw),
                       links=tuple(network.image_links()), arrivals=spec.arrivals, queue=spec.queue)


def accounts_energy(scenario: Scenario) -> bool:
    """Whether the run reports energy: radio powers or a compute energy are configured."""
    sim = scenario.simulation
    return sim.energy is not None or sim.compute.joules_per_sample is not None or bool(
        sim.compute.per_node_joules_per_sample)


def joules_per_sample(scenario: Scenario, network: Network) -> dict:
    """J per training sample of every node, the aggregator included (0 where not given)."""
    spec = scenario.simulation.compute
    default = spec.joules_per_sample or 0.0
    out = {user: spec.per_node_joules_per_sample.get(user, default) for user in network.users}
    out[network.aggregator] = default
    return out


def run_energy(scenario: Scenario, network: Network, ledger: UsageLedger, summary: dict) -> dict:
    """The summary's ``energy`` section; each phase idles for its simulated duration."""
    spans = {("main", p["name"]): p["sim_time_s"] for p in summary["phases"]}
    for control in summary.get("controls") or []:
        spans[(f"control_{control['name']}", control["name"])] = control["sim_time_s"]
    return energy_summary(ledger, spans, [*network.users, network.aggregator], network.aggregator,
                          joules_per_sample(scenario, network), scenario.simulation.energy)


def channel_summary(network: Network, sims: list[Simulator]) -> dict:
    """The channel over time: its process, and per image link the realised SNR of the
    messages it carried (mean, 5th percentile, in dB), its two ends' Doppler shifts and
    its coherence time (a user-to-user link has two moving ends, an uplink one)."""
    process = network.channel
    realised: dict = {}
    for simulator in sims:
        for key, samples in simulator.realised.items():
            realised.setdefault(key, []).extend(snr for _, snr in samples)
    coherence = process.coherence_time_s
    per_link = []
    for i, j in network.image_links():
        values = np.asarray(realised.get((i, j), []), dtype=float)
        link_coherence = process.link_coherence_time_s((i, j))
        per_link.append({
            "src": i,
            "dst": j,
            "messages": int(values.size),
            "realised_snr_db_mean": round(float(values.mean()), 4) if values.size else None,
            "realised_snr_db_p5": round(float(np.percentile(values, 5)), 4) if values.size else None,
            "doppler_hz": [round(f, 6) for f in process.ends_doppler_hz((i, j))],
            "coherence_time_s": round(link_coherence, 6) if np.isfinite(link_coherence) else None,
        })
    return {
        "time_correlation": process.time_correlation,
        "doppler_hz": round(process.doppler_hz, 6),
        "coherence_time_s": round(coherence, 6) if np.isfinite(coherence) else None,
        "mobility": process.large.mobility.model,
        "comparison_states": process.comparison_states,
        "comparison_step_s": process.comparison_step_s,
        "links": per_link,
    }


def build_summary(scenario, network, ctx, outcome, device, wall_s: float, data, delivery=None) -> dict:
    final = outcome.phases[-1]
    # every phase keeps its per-link quality (as every control does), so the start and each
    # fine-tuning step can be compared link by link without re-running
    phases = [p.as_dict() for p in outcome.phases]
    link_snrs = [network.link(i, j).snr_db for i, j in network.image_links()]
    summary = {
        "status": "complete",
        "name": scenario.name,
        "method": scenario.method.name,
        "seed": scenario.seed,
        "psnr_db": final.psnr_db,
        "ssim": final.ssim,
        "worst_link_psnr_db": final.worst_link_psnr_db,
        "bytes_total": ctx.bytes_total,
        "sim_time_s": ctx.now_s,
        "wall_time_s": round(wall_s, 3),
        "local_steps": ctx.local_steps,
        "local_passes": ctx.local_passes,
        "messages_total": ctx.messages_total,
        "device": str(device),
        "phases": phases,
        "links": final.links,
        "controls": outcome.controls,
        "network": {
            "users": len(network.users),
            "image_links": len(link_snrs),
            "topology": scenario.topology.kind,
            "snr_db_mean": round(float(np.mean(link_snrs)), 4),
            "snr_db_min": round(float(np.min(link_snrs)), 4),
            "snr_db_max": round(float(np.max(link_snrs)), 4),
            "fading": scenario.links.fading,
            **link_kinds_summary(network),
            "positions_m": {str(u): [round(float(c), 3) for c in network.graph.nodes[u]["pos_m"]] for u in network.users},
        },
        **outcome.extras,
    }
    medium = network.medium
    if medium.kind != "dedicated":  # dedicated runs keep the summary they always had
        summary["network"]["medium"] = {"kind": medium.kind} if medium.kind != "cell" else {
            "kind": medium.kind, "scheduler": medium.scheduler, "downlink": medium.downlink}
    if delivery is not None:
        # bytes_total, messages_total and phases[] count the main branch (the method)
        # only; each control's own messages are under delivery.branches
        summary["totals_branches"] = ["main"]
        summary["delivery"] = delivery.as_dict()
    if ctx.learns:
        model = ctx.new_model()
        k = symbols_per_image(scenario.model, data.image_hw)
        summary["model"] = {
            "name": scenario.model.name,
            "channel_uses_per_image": k,
            "bandwidth_ratio": round(k / (3 * data.image_hw[0] * data.image_hw[1]), 6),
            "encoder_bytes": state_bytes(model.encoder),
            "decoder_bytes": state_bytes(model.decoder),
        }
        summary["data"] = {
            "source": scenario.data.source,
            "train_images": int(sum(x.shape[0] for x in data.train.values())),
            "test_images": int(sum(x.shape[0] for x in data.test.values())),
            "image_hw": list(data.image_hw),
        }
    return summary


def link_kinds_summary(network: Network) -> dict:
    """``link_channels``: the image links whose ``links.overrides`` give them their own
    fading or CSI (nothing without any, so such summaries keep their keys)."""
    kinds = [{"src": i, "dst": j, "fading": kind.fading, "csi": kind.csi}
             for (i, j), kind in sorted(network.link_kinds.items()) if network.transmit.has_edge(i, j)]
    return {"link_channels": kinds} if kinds else {}
