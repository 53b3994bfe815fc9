"""Who shares airtime: the medium books every transmission of a simulator.

The engine hands each message to its simulator's medium (``links.medium``), a
:class:`Medium` registered in :data:`semnet.registry.media` (built by
:func:`make_medium`; this module is the base the media import, never the reverse):

``dedicated`` (:class:`DedicatedMedium`)
    Every directed link is its own FIFO pipe (:meth:`LinkQueue.reserve`): a node
    sends to three receivers at full rate at once. The ideal reference, and the
    default: it reproduces every run made before media existed.
``node_radio`` (:class:`~semnet.sim.radio.NodeRadioMedium`)
    One half-duplex radio per node (the aggregator included).
``cell`` (:class:`~semnet.sim.cell.CellMedium`)
    The aggregator is a base station whose uplink and downlink bands are shared by a
    scheduler; users talk to each other on their radios.

A medium books in one of two ways. An *immediate* medium (``defers = False``) knows a
message's start and airtime when it is submitted, so :meth:`Medium.book` is arithmetic
and returns ``(start_s, arrival_s, outcome)`` at once: no SimPy event per message.
A *deferring* medium (``defers = True``) receives a :class:`Transmission` in
:meth:`Medium.submit` and resolves it (:meth:`Simulator.resolve
<semnet.sim.engine.Simulator.resolve>`) when its fate is known; on a band shared by
users who arrive over time that is only when it ends, since later arrivals slow it.

State is kept in plain attributes of objects the simulator owns (no closures), so a
simulator's medium between rounds can be pickled with its queues: its pickle leaves out
the simulator and the SimPy environment, and :meth:`Medium.attach` joins a restored
medium to a simulator again (a shared band then wakes at its next decision).
"""

from __future__ import annotations

import math

from semnet.net.mcs import choose_mcs
from semnet.net.link_params import LinkParams, MediumSettings
from semnet.net.rate import TransmissionOutcome
from semnet.registry import media
from semnet.sim.link import LinkQueue
from semnet.sim.message import Message

__all__ = ["DedicatedMedium", "Medium", "Transmission", "make_medium", "nominal_rate_bps"]


class Transmission:
    """A message handed to a deferring medium, until its fate is known.

    ``waiter`` is what waits for it (a task's stage, or a ``send``); ``snr_db`` and
    ``h`` are the realised channel at its start on a channel over time (NaN, 1 else);
    ``sinr_db`` the SINR its fate was decided with under interference (NaN: none).
    """

    __slots__ = ("message", "queue", "t_submit_s", "due_s", "label", "waiter", "snr_db", "h", "sinr_db")

    def __init__(self, message: Message, queue: LinkQueue, t_submit_s: float, due_s: float | None, label: dict,
                 waiter=None):
        self.message = message
        self.queue = queue
        self.t_submit_s = t_submit_s
        self.due_s = due_s
        self.label = label
        self.waiter = waiter
        self.snr_db = math.nan
        self.h = 1.0 + 0j
        self.sinr_db = math.nan

    def plan(self, start_s: float) -> TransmissionOutcome:
        """Draw the message's airtime on its link alone, as if it started at ``start_s``
        (the realised channel at the start is kept for the event record)."""
        m, queue = self.message, self.queue
        outcome = queue.plan(start_s, m.bits, m.symbols)
        if queue.fading is not None:
            self.snr_db, self.h = queue.last_snr_db, queue.last_h
        if queue.interference is not None:  # what the message was decided with (module interference)
            self.sinr_db = queue.last_on_air.sinr_db(known_only=True)
        return outcome


class Medium:
    """The seam: how messages share the air. Subclasses override :meth:`book`
    (immediate media) or :meth:`submit` (deferring media, ``defers = True``). A medium
    is built as ``cls(sim, settings)``: the simulator it serves and its
    :class:`~semnet.net.link_params.MediumSettings`."""

    name = "medium"
    defers = False

    def __init__(self, sim=None, settings: MediumSettings | None = None):
        pass

    def book(self, queue: LinkQueue, now_s: float, bits: int, symbols: int) -> tuple[float, float, TransmissionOutcome]:
        """Book one message submitted at ``now_s`` on ``queue``'s link; return
        (start_s, arrival_s, outcome). The sender transmits for ``outcome.airtime_s``."""
        raise NotImplementedError

    def submit(self, transmission: Transmission) -> None:
        """Take ``transmission``; resolve it through the simulator when its fate is known."""
        raise NotImplementedError

    def finish(self) -> None:
        """Resolve every transmission still on the air as if nothing more were sent
        (the end of a run: their records must still be written)."""

    # live images (:mod:`semnet.sim.traffic`) travel between users only and are booked
    # at once, on every medium (a cell's users talk to each other on their radios)

    def book_image(self, queue: LinkQueue, t_s: float, symbols: int,
                   bits: int = 0) -> tuple[float, float, TransmissionOutcome]:
        """Book an image arriving at ``t_s`` on ``queue``'s link: ``symbols`` channel uses
        (JSCC), or a packet of ``bits`` on the link's message path (``traffic.digital``);
        return (start_s, arrival_s, outcome)."""
        return self.book(queue, t_s, bits, symbols)

    def earliest_start(self, queue: LinkQueue, now_s: float) -> float:
        """When a message submitted at ``now_s`` on ``queue``'s link could start, were
        nothing else booked first (a model message whose airtime an image may share)."""
        return now_s if now_s > queue.busy_until_s else queue.busy_until_s

    def occupy(self, queue: LinkQueue, start_s: float, end_s: float) -> None:
        """An image placed from ``start_s`` to ``end_s`` (``traffic.queue: images_first``
        puts images in idle time): whatever it holds is busy until at least ``end_s``."""
        if end_s > queue.busy_until_s:
            queue.busy_until_s = end_s

    def resources(self, src, dst) -> tuple:
        """What a transmission ``src -> dst`` holds while it is sent: two transmissions
        share airtime when they hold something in common."""
        return (("link", src, dst),)

    def attach(self, sim) -> None:
        """Serve simulator ``sim`` (after being unpickled, between rounds): a medium's
        pickled state leaves out the simulator and its SimPy environment."""


@media.register("dedicated", "every directed link its own FIFO pipe (the ideal reference)")
class DedicatedMedium(Medium):
    """Every directed link is its own FIFO pipe: today's booking, unchanged."""

    name = "dedicated"

    def book(self, queue: LinkQueue, now_s: float, bits: int, symbols: int) -> tuple[float, float, TransmissionOutcome]:
        return queue.reserve(now_s, bits, symbols)


def nominal_rate_bps(params: LinkParams) -> float:
    """A link's bit rate at its average SNR: ``rate_bps`` (fixed), the Shannon
    target rate ``backoff * B * log2(1 + snr)`` (shannon), or the rate of the CQI entry
    its average SNR picks (mcs)."""
    if params.rate_mode == "fixed":
        return params.rate_bps
    if params.rate_mode == "mcs":
        return choose_mcs(params.snr_db, params.mcs_margin_db, params.bandwidth_hz).target_bps
    return params.backoff * params.bandwidth_hz * math.log1p(10.0 ** (params.snr_db / 10.0)) / math.log(2.0)


def make_medium(settings: MediumSettings, sim) -> Medium:
    """The medium ``settings`` asks for, for simulator ``sim``."""
    return media.get(settings.kind)(sim, settings)
