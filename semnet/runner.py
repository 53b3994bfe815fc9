"""Run one scenario end to end and write its run directory: assemble, run, summarise.

scenario -> :func:`~semnet.assembly.assemble` (network, media, channels, method, trainer,
data, models, evaluators, traffic plan) -> the method's phases on a simulator ->
events.jsonl, metrics.jsonl, checkpoints -> :mod:`semnet.summarise` -> summary.json
(written last).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from semnet import __version__
from semnet.assembly import RunAssembly, assemble
from semnet.errors import RunFailed, RunInterrupted, StorageError
from semnet.fl.loop.context import RunContext
from semnet.fl.loop.digital_traffic import DigitalImageDecoder
from semnet.fl.loop.resume import RESUME_CALLS, RESUME_CHECKPOINT, ResumeLog, ResumeStore, call_file, scenario_digest
from semnet.fl.loop.traffic import ImageDecoder, TrafficRecorder, TrafficTally
from semnet.metrics.delivery import DeliveryTally
from semnet.metrics.rundir import RunDirectory, check_target
from semnet.summary import RunSummary
from semnet.scenario.loader import resolved_yaml
from semnet.scenario.schema import Scenario
from semnet.sim import Simulator
from semnet.sim.ledger import UsageLedger
from semnet.summarise import build_summary, channel_summary, interference_summary, run_energy
from semnet.workers.plan import ExecutionPlan

log = logging.getLogger(__name__)

Progress = Callable[[dict], None]


@dataclass
class RunResult:
    path: Path
    summary: dict


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
    threads_before = torch.get_num_threads()  # the run sets torch's threads for itself; its caller's come back
    try:
        return _run_in(scenario, out_dir, progress, wall0, overwrite, resume)
    finally:
        torch.set_num_threads(threads_before)


def _run_in(scenario: Scenario, out_dir: Path, progress: Progress, wall0: float, overwrite: bool,
            resume: dict | None) -> RunResult:
    # a resumed run trains with the threads and workers it started with (auto may decide otherwise now)
    assembly = assemble(scenario, execution=recorded_plan(resume))
    run_dir = RunDirectory(out_dir, overwrite=overwrite, resume_offsets=None if resume is None else resume["offsets"],
                           images=scenario.traffic is not None and scenario.traffic.image_records)
    try:
        return _run(assembly, run_dir, progress, wall0, resume)
    except StorageError as err:  # the run stops as interrupted: 'semnet run --resume' continues it
        run_dir.fail({"status": "interrupted", "error": str(err), **getattr(err, "where", {})})
        err.run_dir = run_dir.path
        raise
    except BaseException:
        run_dir.abort()  # a no-op after fail(): streams closed, lock released
        raise


def _run(assembly: RunAssembly, run_dir: RunDirectory, progress: Progress, wall0: float,
         resume: dict | None) -> RunResult:
    scenario, network, speeds = assembly.scenario, assembly.network, assembly.compute_speeds
    data, trainer, plan = assembly.data, assembly.trainer, assembly.traffic_plan
    scenario_text = resolved_yaml(scenario)
    if resume is None:
        run_dir.write_text("scenario.yaml", scenario_text)
    log = resume_log(scenario, scenario_text, run_dir, resume, elapsed_s=lambda: time.perf_counter() - wall0,
                     execution=lambda: assembly.execution_used.as_dict())
    if log is not None and log.replaying:
        run_dir.mute(True)  # the streams already hold everything up to the checkpoint
        progress = _after_replay(progress, log)
    delivery = DeliveryTally()
    ledger = UsageLedger() if assembly.accounts_energy else None
    decoder = None
    if plan is not None:  # the images' receiver, and for digital images their sender
        decoder = _image_decoder(assembly)
        plan = dataclasses.replace(plan, digital=decoder.sender)
    sim = Simulator(network, seed=scenario.seed, compute_speed=speeds, sink=delivery.sink(run_dir.events.write),
                    ledger=ledger, traffic=plan)
    sims = [sim]  # every branch's simulator: their realised SNRs go into the summary

    def branch_sim(name: str, start_s: float) -> Simulator:
        branch = Simulator(network, seed=scenario.seed, compute_speed=speeds,
                           sink=delivery.sink(run_dir.events.write, name), start_s=start_s, stream=name,
                           ledger=ledger, traffic=plan)
        sims.append(branch)
        return branch

    traffic = None
    if plan is not None:
        tally = TrafficTally(scenario.traffic, plan.symbols, run_dir.metrics.write,
                             run_dir.images.write if run_dir.images is not None else None)
        traffic = TrafficRecorder(sim, decoder, tally, "main")
    ctx = RunContext(
        settings=assembly.settings,
        network=network,
        sim=sim,
        trainer=trainer,
        evaluator=assembly.evaluator,
        validator=assembly.validator,
        train_images=data.train if data else {},
        new_model=assembly.new_model,
        device=assembly.device,
        record_metric=lambda record: run_dir.metrics.write({**record, "wall_time_s": time.perf_counter() - wall0}),
        progress=progress,
        sim_factory=branch_sim,
        save_checkpoint=run_dir.save_checkpoint,
        delivery=delivery,
        resume_log=log,
        traffic=traffic,
    )
    try:
        outcome = assembly.method.run(ctx)
    except RunFailed as err:
        run_dir.fail({"status": "failed", "error": str(err), **err.where})
        err.run_dir = run_dir.path
        raise
    except StorageError as err:  # a full disk, a read-only folder: resumable once it can be written
        err.where = dict(ctx.position.where)
        raise
    except KeyboardInterrupt:
        where = ctx.position.where
        line = f"interrupted in phase '{where['phase']}', round {where['round']}" + (
            f" of branch '{where['branch']}'" if where["branch"] != "main" else "")
        run_dir.fail({"status": "interrupted", "error": line, **where})
        stop = RunInterrupted(line)
        stop.run_dir = run_dir.path
        raise stop from None
    except Exception as err:  # a bug: the traceback goes on up, the directory says where it happened
        run_dir.fail({"status": "failed", "error": f"{type(err).__name__}: {err}".splitlines()[0], **ctx.position.where})
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
    summary = build_summary(assembly, ctx, outcome, time.perf_counter() - wall0, delivery)
    if network.channel is not None:
        summary["channel_over_time"] = channel_summary(network, sims)
    if network.interference.enabled:
        summary["interference"] = interference_summary(network, sims)
    if ledger is not None:
        summary["energy"] = run_energy(scenario, network, ledger, summary)
    if traffic is not None:
        summary["traffic"] = traffic.tally.summary()
    if assembly.digital is not None:  # method-independent: scored once, on the same comparison states
        summary["digital"] = assembly.digital.evaluate()
    summary = RunSummary.model_validate(summary).as_json()  # what summary.json holds is a RunSummary
    # the resume checkpoints go once summary.json is there: a summary that cannot be written
    # leaves a run that resumes
    run_dir.finish(summary, discard=(ctx.phases.interim_checkpoints | {RESUME_CHECKPOINT, RESUME_CALLS})
                   - set(outcome.checkpoints))
    return RunResult(run_dir.path, summary)


def _image_decoder(assembly: RunAssembly) -> ImageDecoder:
    """Who shows and scores the live images: the JSCC models, or (``traffic.digital``) a codec."""
    scenario = assembly.scenario
    test = assembly.data.test if assembly.learns else {}
    spec = scenario.traffic.digital
    if spec is None:
        return ImageDecoder(test, assembly.channels, assembly.device, seed=scenario.seed,
                            new_model=assembly.new_model)
    return DigitalImageDecoder(test, assembly.channels, assembly.device, seed=scenario.seed, codec=spec.codec,
                               rate=spec.rate, fallback=spec.fallback, symbols=assembly.traffic_plan.symbols,
                               margin_db=spec.mcs_margin_db)


def recorded_plan(resume: dict | None) -> ExecutionPlan | None:
    """The threads and workers a resume checkpoint recorded (None: none recorded, e.g. a
    checkpoint written before auto, or no resume)."""
    recorded = (resume or {}).get("execution")
    if not isinstance(recorded, dict):
        return None
    try:
        plan = ExecutionPlan(**recorded)
    except TypeError:
        return None
    counts = (plan.threads, plan.workers, plan.worker_threads)
    return plan if all(isinstance(n, int) and n >= 1 for n in counts) else None


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

    def __init__(self, run_dir: RunDirectory, digest: str, elapsed_s=None, execution=None):
        self.run_dir, self.digest = run_dir, digest
        self.elapsed_s = elapsed_s or (lambda: 0.0)  # the run's wall time so far
        self.execution = execution or (lambda: None)  # the threads and workers the run trains with

    def save_call(self, index: int, snapshot: dict) -> None:
        self.run_dir.save_checkpoint(call_file(index), snapshot)

    def save_point(self, payload: dict) -> None:
        payload.update(offsets=self.run_dir.stream_offsets(), scenario_sha256=self.digest, semnet_version=__version__,
                       wall_time_s=float(self.elapsed_s()), execution=self.execution())
        self.run_dir.save_checkpoint(RESUME_CHECKPOINT, payload)


def resume_log(scenario: Scenario, scenario_text: str, run_dir: RunDirectory, resume: dict | None,
               elapsed_s=None, execution=None) -> ResumeLog | None:
    """The run's resume log: it writes checkpoints into the run directory unless
    checkpoints are off, and replays up to ``resume`` when the run is a resumed one.
    ``elapsed_s()`` is the run's wall time so far and ``execution()`` its threads and
    workers (:meth:`~semnet.workers.plan.ExecutionPlan.as_dict`), kept in each checkpoint."""
    out = scenario.output
    digest = scenario_digest(scenario_text) if resume is None else resume["scenario_sha256"]
    store = _RunDirectoryStore(run_dir, digest, elapsed_s, execution) if out.checkpoints else None
    if store is None and resume is None:
        return None
    return ResumeLog(store, out.resume_every_rounds, loaded=resume, on_caught_up=lambda: run_dir.mute(False))
