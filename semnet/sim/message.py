"""What travels and what is asked of a node in one simulated round."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable


@dataclass(frozen=True, slots=True)
class Message:
    """One transfer ``src -> dst``: ``bits`` of model data, or ``symbols`` complex
    channel uses of semantic (image) traffic, which take ``symbols / bandwidth_hz`` s;
    ``tag`` (any hashable, None by default) asks for its arrival to be reported."""

    src: int | str
    dst: int | str
    kind: str
    bits: int = 0
    symbols: int = 0
    # opaque to the network: a tagged message's arrival is reported (Simulator.arrivals),
    # e.g. so that the model it carries is deployed then (semnet.fl.loop.deployment)
    tag: Hashable | None = None


@dataclass(frozen=True, slots=True)
class Task:
    """Work for one node in a round: receive ``downloads`` (all at once), compute on
    ``samples`` training images, then send ``uploads`` (all at once).

    ``key`` identifies the task to the strategy that made it (e.g. a client id or a
    (transmitter, receiver) pair); the simulator never looks inside it.
    """

    key: Hashable
    node: int | str
    downloads: tuple[Message, ...] = ()
    samples: int = 0
    uploads: tuple[Message, ...] = ()


@dataclass(slots=True)
class TaskOutcome:
    """How a task ended: ``ok`` when everything arrived before the deadline.

    A failure is data (``reason``: 'outage', 'deadline'), handed to the aggregation.
    ``finished_s`` is when a successful task ended (its last arrival or compute end);
    None for a failed task. ``bits`` counts the messages the task actually sent.
    ``compute_end_s`` is when its local training ended (a model trained there is ready then).
    """

    key: Hashable
    ok: bool
    reason: str | None = None
    finished_s: float | None = None
    bits: int = field(default=0)
    compute_end_s: float | None = None  # when its local training ended (None: it trained nothing)
