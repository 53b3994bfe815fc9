"""Everything a plugin needs, in one import: the registries, the base classes of
methods, round strategies, controls and federated algorithms, and the pieces a round
is made of, the client terms an algorithm gives its clients' training, the aggregation
helpers (and the fading-model base of channels). ``docs/plugins.md`` writes a method, an
algorithm with options and a channel with them.

A method describes rounds; it never sees links. A round is a list of
:class:`ClientPlan`: a :class:`Task` (the node, its :class:`Message` downloads, its
simulated compute in samples, its uploads) and, if the messages get through in time,
the local :class:`TrainJob` s to run (an encoder, its :class:`LossTask` s, a data
stream, steps, learning rate).
"""

from semnet.channels import FadingModel
from semnet.fl.algorithms.aggregation import (apply_average_update, differences, load_tensors, tensors_of,
                                   weighted_average)
from semnet.fl.algorithms.client_terms import (ClientTerm, GradientCorrection, GradientMean, LinearTerm, ProximalTerm,
                                    StackedTerm)
from semnet.fl.loop.context import ClientPlan, PhaseRecord, RunContext, cpu_state
from semnet.fl.methods.controls import Budget, Control, rounds_for
from semnet.fl.algorithms.federated import FederatedStrategy, global_pairing, train_federated
from semnet.fl.methods.finefed import PersonalModels
from semnet.fl.methods.registered import FederatedStart
from semnet.fl.loop.strategy import ClientReply, Method, MethodOutcome, RoundStrategy, personal_checkpoint, run_rounds
from semnet.fl.execution.trainer import LossTask, TrainJob, simulated_samples
from semnet.fl.loop.versions import versions_of
from semnet.registry import algorithms, channels, controls, methods, models, partitioners, topologies
from semnet.sim import Message, Task

__all__ = [
    "ClientTerm", "GradientCorrection", "GradientMean", "LinearTerm", "ProximalTerm", "StackedTerm",
    "apply_average_update", "differences", "load_tensors", "tensors_of", "weighted_average",
    "Budget", "ClientPlan", "ClientReply", "Control", "FadingModel", "FederatedStart", "FederatedStrategy", "LossTask", "Message",
    "Method", "MethodOutcome", "PersonalModels", "PhaseRecord", "RoundStrategy", "RunContext", "Task", "TrainJob",
    "algorithms", "channels", "controls", "cpu_state", "global_pairing", "methods", "models", "partitioners",
    "personal_checkpoint", "rounds_for", "run_rounds", "simulated_samples", "topologies", "train_federated",
    "versions_of",
]
