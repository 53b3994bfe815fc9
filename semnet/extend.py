"""Everything a plugin needs, in one import: the registries, the base classes of
methods, round strategies, controls and federated algorithms, the pieces a round is
made of, the client terms an algorithm gives its clients' training, the aggregation
helpers, and the bases of the network's parts (fading laws, path loss, shadowing,
mobility, time correlation, media and cell schedulers). ``docs/plugins.md`` writes a
method, a messaging strategy, an algorithm with options and a channel with them.

A method describes rounds; it never sees links. A round is a list of
:class:`ClientPlan`: a :class:`Task` (the node, its :class:`Message` downloads, its
simulated compute in samples, its uploads) and, if the messages get through in time,
the local :class:`TrainJob` s to run (an encoder, its :class:`LossTask` s, a data
stream, steps, learning rate).
"""

from semnet.channels import FadingModel
from semnet.channels.processes.timevarying import TimeCorrelation
from semnet.fl.algorithms.aggregation import apply_average_update, differences, load_tensors, tensors_of, weighted_average
from semnet.fl.algorithms.client_terms import (ClientTerm, GradientCorrection, GradientMean, LinearTerm, ProximalTerm,
                                               StackedTerm)
from semnet.fl.algorithms.federated import AlgorithmOptions, FederatedStrategy, global_pairing, train_federated
from semnet.fl.execution.trainer import LossTask, TrainJob, simulated_samples
from semnet.fl.loop.context import ClientPlan, PhaseRecord, RunContext, cpu_state
from semnet.fl.loop.strategy import ClientReply, Method, MethodOutcome, RoundStrategy, personal_checkpoint, run_rounds
from semnet.fl.loop.versions import versions_of
from semnet.fl.methods.controls import Budget, Control, rounds_for
from semnet.fl.methods.finefed import PersonalModels
from semnet.fl.methods.registered import FederatedStart
from semnet.net.mobility import Mobility
from semnet.net.pathloss import PathLoss
from semnet.net.shadowing import Shadowing
from semnet.registry import (
    algorithms,
    channels,
    controls,
    media,
    methods,
    mobilities,
    models,
    partitioners,
    path_losses,
    schedulers,
    shadowings,
    time_correlations,
    topologies,
)
from semnet.sim import Message, Task
from semnet.sim.band import SharedBand
from semnet.sim.medium import Medium

__all__ = [
    "AlgorithmOptions", "Budget", "ClientPlan", "ClientReply", "ClientTerm", "Control", "FadingModel", "FederatedStart",
    "FederatedStrategy", "GradientCorrection", "GradientMean", "LinearTerm", "LossTask", "Medium", "Message", "Method",
    "MethodOutcome", "Mobility", "PathLoss", "PersonalModels", "PhaseRecord", "ProximalTerm", "RoundStrategy",
    "RunContext", "Shadowing", "SharedBand", "StackedTerm", "Task", "TimeCorrelation", "TrainJob",
    "algorithms", "apply_average_update", "channels", "controls", "cpu_state", "differences", "global_pairing",
    "load_tensors", "media", "methods", "mobilities", "models", "partitioners", "path_losses", "personal_checkpoint",
    "rounds_for", "run_rounds", "schedulers", "shadowings", "simulated_samples", "tensors_of", "time_correlations",
    "topologies", "train_federated", "versions_of", "weighted_average",
]
