"""Assemble a run from its scenario, once: the network and its media, every link's
channel, the method, the trainer, the users' data and models, the evaluators, the
traffic plan and the sizes everything else reads (image size, channel uses per image).

The runner (:mod:`semnet.runner`) plays the method against a :class:`RunAssembly`
and :mod:`semnet.summarise` writes its summary from it; nothing downstream reads the
scenario's sections again to rebuild a part.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from semnet.channels import make_fading
from semnet.errors import ScenarioError
from semnet.fl.loop.context import RunSettings
from semnet.digital.evaluator import DigitalEvaluator, DigitalOptions
from semnet.fl.loop.evaluation import LinkEvaluator, TaskScorer
from semnet.fl.loop.strategy import Method
from semnet.fl.execution.task_term import TaskLossTerm
from semnet.fl.execution.trainer import Trainer
from semnet.models import Channel
from semnet.channels.layer.link_channels import LinkChannels
from semnet.net.network import Network, build_network
from semnet.registry import methods, trainers
from semnet.scenario.schema import Scenario
from semnet.seeding import derive_seed, numpy_rng
from semnet.sim.traffic import TrafficPlan
from semnet.workers.plan import ExecutionPlan, auto_cores, needs_cores, plan_execution
from semnet.workload import UserData, load_user_data, model_factory, symbols_per_image

DEFAULT_IMAGE_HW = (32, 32)  # a run without data (the exchange-only method) sizes its messages for these


@dataclass
class RunAssembly:
    """Every part of one run, built from ``scenario`` by :func:`assemble`."""

    scenario: Scenario
    device: torch.device
    network: Network
    compute_speeds: dict[int, float]  # samples/s of every node, the aggregator included
    method: Method
    channels: LinkChannels  # every image link's JSCC channel
    trainer: Trainer
    data: UserData | None  # None: the method learns nothing (no models, no data)
    new_model: Callable[[], nn.Module] | None
    image_hw: tuple[int, int]
    symbols_per_image: int  # k: complex channel uses of one image
    evaluator: LinkEvaluator | None  # the test links
    validator: LinkEvaluator | None  # the validation links (users' held-out training images)
    digital: DigitalEvaluator | None  # the digital separation baselines (``evaluation.digital``); None without
    traffic_plan: TrafficPlan | None  # live images (``traffic:``); None without
    settings: RunSettings
    execution: ExecutionPlan  # threads and workers before the first round (auto may settle them then)

    @property
    def execution_used(self) -> ExecutionPlan:
        """The plan the run trained with: the trainer's, where auto settled it in the first round."""
        return getattr(self.trainer, "plan", None) or self.execution

    @property
    def learns(self) -> bool:
        return self.method.learns

    @property
    def accounts_energy(self) -> bool:
        """Whether the run reports energy: radio powers or a compute energy are configured."""
        sim = self.scenario.simulation
        return sim.energy is not None or sim.compute.joules_per_sample is not None or bool(
            sim.compute.per_node_joules_per_sample)


def assemble(scenario: Scenario, execution: ExecutionPlan | None = None) -> RunAssembly:
    """Build every part of a run (loads data, builds one model: a bad checkpoint or data
    path fails here, before anything is written). Sets torch's thread count and, on CUDA,
    deterministic kernels: one seed fixes a run. ``execution``: threads and workers
    fixed in advance (a resumed run's), instead of what ``simulation.threads``/``workers``
    decide."""
    device = resolve_device(scenario.simulation.device)
    if device.type == "cuda":  # one seed fixes a run on the GPU too (deterministic cuDNN kernels)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    # the free cores, once: auto threads and workers never outnumber them (more threads than
    # free cores spin against each other); the plan until the first round settles it
    fixed = execution is not None
    execution = execution or execution_plan(scenario.simulation, device)
    torch.set_num_threads(execution.threads)
    network = build_network(scenario.topology, scenario.links, scenario.seed)
    speeds = compute_speeds(scenario, network)
    method: Method = methods.get(scenario.method.name)(
        scenario.method, model_from_checkpoint=scenario.model.checkpoint is not None
    )
    learning = method.learns
    channels = link_channels(scenario, network)  # every image link's channel (its model packets' fading: the network's)
    # before the data loads: worker processes import torch meanwhile, not inside the first round
    trainer = make_trainer(scenario, channels, device, execution, fixed=fixed) if learning \
        else Trainer(channels, device)
    data = new_model = None
    if learning:
        # held out whether or not convergence is checked, so that switch does not change the training data
        data = load_user_data(scenario.data, network.users, scenario.seed,
                              validation_per_user=scenario.data.validation_per_user)
        _check_traffic_senders(scenario, network, data)
    image_hw = data.image_hw if data else DEFAULT_IMAGE_HW
    k = symbols_per_image(scenario.model, image_hw)
    if learning:  # build one model now: a bad checkpoint fails before anything is written
        new_model = model_factory(scenario.model, image_hw, scenario.seed, device)
        new_model()
    evaluator, validator = evaluators(scenario, network, channels, device, data) if learning else (None, None)
    digital = digital_evaluator(scenario, evaluator, k)
    return RunAssembly(
        scenario=scenario, device=device, network=network, compute_speeds=speeds, method=method, channels=channels,
        trainer=trainer, data=data, new_model=new_model, image_hw=image_hw, symbols_per_image=k,
        evaluator=evaluator, validator=validator, digital=digital, traffic_plan=traffic_plan(scenario, network, k),
        execution=execution,
        settings=dataclasses.replace(RunSettings.of(scenario), symbols_per_image=k),
    )


def _check_traffic_senders(scenario: Scenario, network: Network, data: UserData) -> None:
    if scenario.traffic is None:
        return
    empty = [u for u in sorted({i for i, _ in network.image_links()}) if data.test[u].shape[0] == 0]
    if empty:
        raise ScenarioError(f"traffic: user {empty[0]} sends images but holds no held-out (test) images to send; "
                            "give every sender test images (data.test_per_user) or remove traffic")


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
        raise ScenarioError("simulation.device = 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    return torch.device(name)


def execution_plan(sim, device: torch.device) -> ExecutionPlan:
    """``simulation.threads``/``workers`` before any training (:mod:`semnet.workers.plan`):
    the free cores are counted only where something is auto."""
    cores = auto_cores() if needs_cores(sim.threads, sim.workers) else 1
    return plan_execution(sim.threads, sim.workers, cores, device=device.type, backend=sim.backend)


def make_trainer(scenario: Scenario, channel: Channel | LinkChannels, device: torch.device,
                 execution: ExecutionPlan | None = None, *, fixed: bool = False) -> Trainer:
    """The trainer ``simulation.trainer`` names (a registered one), built with every
    link's channel (:func:`link_channels`); the sequential one is spread over worker
    processes (or Ray actors) where ``execution`` has several, or (auto, unless the
    plan is ``fixed``) where the first round's work pays for them."""
    sim = scenario.simulation
    loss, precision, term = scenario.method.loss, sim.precision, task_loss_term(scenario, device)
    execution = execution or execution_plan(sim, device)
    cls = trainers.get(sim.trainer)
    if sim.trainer != "sequential":
        return cls(channel, device, loss=loss, precision=precision, task_term=term)
    from semnet.fl.execution.parallel import ParallelTrainer

    spread_fixed = isinstance(sim.workers, int) and sim.workers > 1
    if not fixed and device.type == "cpu" and sim.backend == "local" and needs_cores(sim.threads, sim.workers) \
            and not spread_fixed:  # auto: the first round's work decides
        decide = functools.partial(plan_execution, sim.threads, sim.workers, execution.cores, device=device.type,
                                   backend=sim.backend)
        return ParallelTrainer(channel, device, loss=loss, precision=precision, workers=1, backend=sim.backend,
                               threads=execution.threads, decide=decide, task_term=term)
    if execution.workers <= 1 and sim.backend == "local":
        return cls(channel, device, loss=loss, precision=precision, task_term=term)
    trainer = ParallelTrainer(channel, device, loss=loss, precision=precision, workers=execution.workers,
                              backend=sim.backend, threads=execution.worker_threads, task_term=term)
    if fixed:
        trainer.plan = execution
    trainer.start()  # workers start up while the run loads its data, builds its models and scores its start
    return trainer


def task_loss_term(scenario: Scenario, device: torch.device) -> TaskLossTerm | None:
    """``method.task_loss_weight`` > 0: the frozen classifier of ``evaluation.classifier``
    as a training term (whether it fits the data is checked by :func:`task_scorer`)."""
    weight = scenario.method.task_loss_weight
    if weight == 0:
        return None
    from semnet.task.classifier import load_classifier

    return TaskLossTerm(load_classifier(scenario.evaluation.classifier)[0].to(device), weight)


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


def evaluators(scenario: Scenario, network: Network, channels: LinkChannels, device: torch.device,
               data: UserData) -> tuple[LinkEvaluator, LinkEvaluator]:
    """The test and validation evaluators of every image link (a link whose sender holds
    no validation images is not validated)."""
    links = network.image_links()
    snr = {(i, j): network.link(i, j).snr_db for i, j in links}
    out = scenario.output
    cap = out.eval_images_per_link
    test = {u: (x[:cap] if cap else x) for u, x in data.test.items()}
    eval_seed = derive_seed(scenario.seed, "evaluation")
    # on a channel over time every method is scored on the same fixed states of each link's process
    states = None if network.channel is None else {
        link: network.channel.comparison(link, eval_seed) for link in links
    }
    evaluator = LinkEvaluator(links, snr, test, channels, device, seed=eval_seed,
                              realisations=out.eval_realisations, with_ssim=out.ssim, states=states,
                              task=task_scorer(scenario, data, device, cap))
    val_links = [(i, j) for i, j in links if i in data.validation]
    validator = LinkEvaluator(val_links, snr, data.validation, channels, device, seed=eval_seed, with_ssim=False,
                              states=states)
    return evaluator, validator


def task_scorer(scenario: Scenario, data: UserData, device: torch.device, cap: int | None) -> TaskScorer | None:
    """``evaluation.task: classify``: the frozen classifier and every sender's test labels
    (a classifier of another data set or image size fails here, in one line)."""
    spec = scenario.evaluation
    if spec.task != "classify":
        return None
    from semnet.task.classifier import load_classifier

    classifier, meta = load_classifier(spec.classifier)
    source = scenario.data.source
    if meta.get("data") != source or tuple(meta.get("image_hw", ())) != tuple(data.image_hw) or (
            data.class_names and list(meta["classes"]) != list(data.class_names)):
        raise ScenarioError(f"evaluation.classifier '{spec.classifier}' was trained on {meta.get('data')} "
                            f"{meta.get('image_hw')} images, classes {meta['classes']}; this run's data is {source} "
                            f"{list(data.image_hw)}, classes {list(data.class_names)}; allowed: a classifier of this data")
    for parameter in classifier.parameters():
        parameter.requires_grad_(False)
    labels = {u: (y[:cap] if cap else y) for u, y in data.test_labels.items()}
    return TaskScorer(classifier.to(device), labels)


def digital_evaluator(scenario: Scenario, evaluator: LinkEvaluator | None, symbols: int) -> DigitalEvaluator | None:
    """The digital baselines of ``evaluation.digital``, on the test evaluator's links,
    images and comparison states (None without the section or without test links)."""
    spec = scenario.evaluation.digital
    if spec is None or evaluator is None:
        return None
    options = DigitalOptions(codecs=tuple(spec.codecs), rates=tuple(spec.rates), fallback=spec.fallback,
                             mcs_margin_db=spec.mcs_margin_db)
    return DigitalEvaluator.beside(evaluator, symbols, options)


def traffic_plan(scenario: Scenario, network: Network, symbols: int) -> TrafficPlan | None:
    """What the network carries of ``traffic:`` (None without it): every image link,
    ``symbols`` channel uses per image."""
    spec = scenario.traffic
    if spec is None:
        return None
    return TrafficPlan(images_per_s=spec.images_per_s, symbols=symbols, links=tuple(network.image_links()),
                       arrivals=spec.arrivals, queue=spec.queue)
