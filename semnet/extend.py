"""Everything a plugin needs, in one import: the registries, the base classes of
methods, round strategies, controls and federated algorithms, and the pieces a round
is made of (and the bases of the network's parts: fading laws, path loss, shadowing,
mobility, time correlation, media and cell schedulers). ``docs/plugins.md`` writes a method
and a channel with them.

A method describes rounds; it never sees links. A round is a list of
:class:`ClientPlan`: a :class:`Task` (the node, its :class:`Message` downloads, its
simulated compute in samples, its uploads) and, if the messages get through in time,
the local :class:`TrainJob` s to run (an encoder, its :class:`LossTask` s, a data
stream, steps, learning rate).
"""

from semnet.channels import FadingModel
from semnet.channels.processes.timevarying import TimeCorrelation
from semnet.fl.context import ClientPlan, PhaseRecord, RunContext, cpu_state
from semnet.fl.controls import Budget, Control, rounds_for
from semnet.fl.federated import FederatedStrategy, global_pairing, train_federated
from semnet.fl.finefed import PersonalModels
from semnet.fl.methods import FederatedStart
from semnet.fl.strategy import ClientReply, Method, MethodOutcome, RoundStrategy, personal_checkpoint, run_rounds
from semnet.fl.trainer import LossTask, TrainJob, simulated_samples
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
    "Budget", "ClientPlan", "ClientReply", "Control", "FadingModel", "FederatedStart", "FederatedStrategy", "LossTask", "Medium",
    "Message", "Method", "MethodOutcome", "Mobility", "PathLoss", "PersonalModels", "PhaseRecord", "RoundStrategy",
    "RunContext", "Shadowing", "SharedBand", "Task", "TimeCorrelation", "TrainJob",
    "algorithms", "channels", "controls", "cpu_state", "global_pairing", "media", "methods", "mobilities", "models",
    "partitioners", "path_losses", "personal_checkpoint", "rounds_for", "run_rounds", "schedulers", "shadowings",
    "simulated_samples", "time_correlations", "topologies", "train_federated",
]
