"""One half-duplex radio per node (``links.medium: node_radio``).

A radio carries one transmission at a time, sending or receiving: a message holds the
sender's and the receiver's radios for its airtime, so a node's messages to any
receivers go one after another, and a message to a node that is transmitting waits
for that radio. Radios are FIFO in submission order (a message never overtakes an
earlier one on either radio), so booking stays arithmetic, as on dedicated links:
``start = max(now, sender free, receiver free)``.

Transmissions of different node pairs proceed side by side; with
``links.interference.model: sinr`` they meet each other's interference in their band
(:mod:`semnet.sim.interference`, through :meth:`LinkQueue.plan`).

When a message may start is the radios' *access rule*: :class:`TakeTurns` (above, the
default: as if a sender knew its receiver's radio) or, with ``links.csma.enabled``,
:class:`~semnet.sim.csma.CarrierSense` (a sender waits for its own radio only, then
senses its band and backs off; two messages to one receiver may then collide).
Not modelled: propagation delay inside the radio's busy time (a radio is busy from the
start of the airtime to its end at both ends); without carrier sensing, several
receptions at once.
"""

from __future__ import annotations

from semnet.net.rate import TransmissionOutcome
from semnet.registry import media
from semnet.sim.csma import CarrierSense
from semnet.sim.link import LinkQueue
from semnet.sim.medium import Medium


class TakeTurns:
    """The access rule without carrier sensing: a message starts once its sender's and
    its receiver's radios are both free, and holds both (module docstring)."""

    def attach(self, sim) -> None:
        """Serve simulator ``sim`` (nothing of it is needed)."""

    def earliest_s(self, radios: "NodeRadios", src, dst, now_s: float) -> float:
        return radios.start_s(src, dst, now_s)

    def start_s(self, radios: "NodeRadios", queue: LinkQueue, now_s: float) -> float:
        return radios.start_s(queue.params.src, queue.params.dst, now_s)

    def hold(self, radios: "NodeRadios", queue: LinkQueue, bits: int, outcome: TransmissionOutcome,
             end_s: float) -> None:
        radios.hold(queue.params.src, queue.params.dst, end_s)


class NodeRadios:
    """When each node's radio is next free (a node never seen is free), and the rule by
    which a message gets the air (``access``: :class:`TakeTurns` unless given)."""

    access = TakeTurns()  # a class default: radios pickled before access rules existed have it too

    def __init__(self, access=None):
        self.free_s: dict = {}
        if access is not None:
            self.access = access

    def start_s(self, src, dst, now_s: float) -> float:
        """When a message from ``src`` to ``dst`` submitted at ``now_s`` can start."""
        free = self.free_s
        return max(now_s, free.get(src, now_s), free.get(dst, now_s))

    def hold(self, src, dst, end_s: float) -> None:
        """Both radios are busy until ``end_s``."""
        self.free_s[src] = self.free_s[dst] = end_s

    def occupy(self, queue: LinkQueue, end_s: float) -> None:
        """Something placed in idle time ends at ``end_s``: both radios are busy until then at least."""
        free = self.free_s
        for node in (queue.params.src, queue.params.dst):
            if end_s > free.get(node, -float("inf")):
                free[node] = end_s
        if end_s > queue.busy_until_s:
            queue.busy_until_s = end_s

    def book(self, queue: LinkQueue, now_s: float, bits: int, symbols: int) -> tuple[float, float, TransmissionOutcome]:
        """Book ``queue``'s link on the radios by their access rule; return (start_s, arrival_s, outcome)."""
        start = self.access.start_s(self, queue, now_s)
        outcome = queue.plan(start, bits, symbols)
        end = start + outcome.airtime_s
        self.access.hold(self, queue, bits, outcome, end)
        queue.busy_until_s = end
        return start, end + queue.params.latency_s, outcome


@media.register("node_radio", "one half-duplex radio per node, the aggregator's too")
class NodeRadioMedium(Medium):
    """Every node, the aggregator too, has one half-duplex radio (module docstring)."""

    name = "node_radio"

    def __init__(self, sim=None, settings=None):
        csma = None if settings is None else settings.csma
        if csma is not None and (sim is None or sim.book is None):
            raise ValueError("carrier sensing senses the interference book: it needs links.interference.model sinr")
        self.radios = NodeRadios(None if csma is None else CarrierSense.of(csma, sim))
        self.radios.access.attach(sim)

    def book(self, queue: LinkQueue, now_s: float, bits: int, symbols: int) -> tuple[float, float, TransmissionOutcome]:
        return self.radios.book(queue, now_s, bits, symbols)

    def earliest_start(self, queue: LinkQueue, now_s: float) -> float:
        return self.radios.access.earliest_s(self.radios, queue.params.src, queue.params.dst, now_s)

    def attach(self, sim) -> None:
        self.radios.access.attach(sim)

    def occupy(self, queue: LinkQueue, start_s: float, end_s: float) -> None:
        self.radios.occupy(queue, end_s)

    def resources(self, src, dst) -> tuple:
        return (("radio", src), ("radio", dst))
