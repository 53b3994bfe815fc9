"""Live image traffic: every image link carries images while the run learns.

Each image link has its own arrival stream (``periodic``: evenly spaced at a random
phase; ``poisson``: exponential gaps), drawn from its own random stream of the
simulator's branch. An image is a transmission of ``k`` complex channel uses on the
link's medium, so it queues with the model messages there (on a dedicated link, on
the node radios, on a cell's device-to-device radios) and reads the link's channel at
its start, the ``h(t)`` a model packet sent then would see.

Images cost no SimPy event. Arrivals are known in advance and bookings are
arithmetic, so the source books every image *lazily*, in arrival order, before
anything else is booked at a later time (:meth:`TrafficSource.catch_up`): the
simulator calls it before each model message and the context before each round's
label changes. Booking order is then time order, which is what a FIFO queue means.

Queue policies (``traffic.queue``):

``fifo``
    Images and model messages in the order they arrive, on every link or radio they
    use (ties go to images). As for model messages alone, a transmission that waits
    for one of its radios holds its place on the other (a node's queue is one FIFO).
``images_first``
    Images go ahead of model messages that have not started (non-preemptive
    priority: nothing on the air is cut). An image takes the first idle time of its
    link or radios at or after its arrival (:meth:`TrafficSource._fit`), before model
    messages booked to start later, never ahead of an earlier transmission on its own
    link (one link, one queue); it waits for the end of what is on the air, and of a
    booked message it does not fit before. Model messages keep their FIFO order among
    themselves (the medium's booking), and each then starts at the first time its
    link and radios are free of images, after every image that arrives on its own
    link before that time (:meth:`TrafficSource.place_model`, over and over until
    none does). On a dedicated link this is exactly a non-preemptive priority queue.
    On shared radios the images of the other links that share a radio are not booked
    ahead of a model message (booking them out of time order would let them claim
    airtime that the messages booked after them should have had): they take the idle
    time left around it when they arrive, so they may wait for a message that started
    just before them. Images do not move the medium's bookings; the busy times of
    links and radios are kept as intervals for this (:class:`_Busy`), from the oldest
    time a booking can still take. On a channel over time a shifted message keeps the
    channel read at the start it was first booked for.

Digital images (``traffic.digital``, :attr:`TrafficPlan.digital`) are packets: the
plan's sender (:class:`semnet.digital.live.DigitalImages`) says how many bits image
``n`` of a link takes, given the link's large-scale SNR at its generation and the
realised SNR of the link's previous image (the transmitter's feedback), and the medium
books those bits on the link's message path, as a model message of that size: the
link's rate, its outages and retransmissions. An image is lost when the message path
fails to deliver it or, at a rate with a decoding threshold (``mcs``), when the SNR it
meets at its start is below that threshold (on a channel over time the realised SNR of
its first attempt, else the link's SNR). An image of 0 bits (no encoding fits) is not
sent: it takes no airtime and is due at once, as a loss (:class:`PacketSent`); the
records leave it out of the latencies.

The simulator records each image as it is booked (:class:`ImageSent`); which models
decode it, and how well, is the learning side's business
(:mod:`semnet.fl.loop.traffic`): the network never sees a model.
"""

from __future__ import annotations

import bisect
import heapq
import math

from semnet.net.rate import TransmissionOutcome
from semnet.seeding import numpy_rng
from semnet.sim.image_records import ImageSent, PacketPlan, PacketSent, TrafficPlan
from semnet.sim.medium import nominal_rate_bps

__all__ = ["ImageSent", "PacketPlan", "PacketSent", "TrafficPlan", "TrafficSource"]


class _Stream:
    """One link's arrivals: the next image's time and number, and its random stream."""

    __slots__ = ("src", "dst", "rng", "next_s", "n", "phase_s", "learnt_snr_db")

    def __init__(self, src, dst, rng, next_s: float, phase_s: float):
        self.src, self.dst, self.rng = src, dst, rng
        self.next_s = next_s
        self.phase_s = phase_s  # periodic: time of image 0 (later ones are phase + n / rate, no drift)
        self.n = 0
        self.learnt_snr_db: float | None = None  # digital: the SNR the link's last image met (None: none sent)


class _Busy:
    """When one link or radio transmits: sorted, non-overlapping ``[start, end)``."""

    __slots__ = ("starts", "ends")

    def __init__(self, starts=(), ends=()):
        self.starts, self.ends = list(starts), list(ends)

    def first_fit(self, t_s: float, air_s: float) -> float:
        """The earliest ``s >= t_s`` with ``[s, s + air_s)`` idle."""
        starts, ends = self.starts, self.ends
        i = bisect.bisect_right(ends, t_s)  # the first interval still busy after t_s
        s = t_s
        while i < len(starts) and starts[i] < s + air_s:
            if ends[i] > s:
                s = ends[i]
            i += 1
        return s

    def add(self, start_s: float, end_s: float) -> None:
        i = bisect.bisect_right(self.starts, start_s)
        self.starts.insert(i, start_s)
        self.ends.insert(i, end_s)

    def prune(self, before_s: float) -> None:
        i = bisect.bisect_right(self.ends, before_s)
        del self.starts[:i], self.ends[:i]


class TrafficSource:
    """The image arrivals of one simulator and their bookings (module docstring).

    Parameters
    ----------
    plan : TrafficPlan
    sim : Simulator
        Whose links, medium, clock label and ledger the images use.
    seed, stream : int, str
        Each link's arrivals come from ``numpy_rng(seed, "traffic", stream, src, dst)``.
    start_s : float
        No image arrives before this (the simulator's initial clock).
    """

    def __init__(self, plan: TrafficPlan, sim, *, seed: int, stream: str, start_s: float):
        self.plan = plan
        self.sim = sim
        self._gap_s = 1.0 / plan.images_per_s
        self._poisson = plan.arrivals == "poisson"
        self.streams: list[_Stream] = []
        for src, dst in plan.links:
            rng = numpy_rng(seed, "traffic", stream, src, dst)
            # periodic links start at a random phase, so that they do not all send at once
            first = start_s + (rng.exponential(self._gap_s) if self._poisson else rng.uniform(0.0, self._gap_s))
            self.streams.append(_Stream(src, dst, rng, first, first))
        self._heap = [(s.next_s, index, 0) for index, s in enumerate(self.streams)]
        heapq.heapify(self._heap)
        self.sent: list[ImageSent] = []  # booked, not yet taken by the decoder side
        self.images_total = 0
        self._sharing: dict = {}  # (src, dst) of a model message -> the index of its own link's images, if any
        self._resources: dict = {}  # (src, dst) -> what a transmission on it holds (medium.resources)
        self._image_resources: set | None = None  # everything an image link holds
        # images_first: busy intervals per link or radio, and each link's latest start
        self.fills_gaps = plan.queue == "images_first"
        self._busy: dict = {}
        self._last_start: dict = {}
        self._caught_s = start_s  # every image arriving by then is booked: no booking goes before it
        self._prune_at_s = start_s

    # ------------------------------------------------------------------ booking

    def catch_up(self, t_s: float) -> None:
        """Book every image that arrives by ``t_s``, in arrival order."""
        if self.fills_gaps and t_s >= self._prune_at_s:  # keep the intervals short, now and then
            for busy in self._busy.values():
                busy.prune(self._caught_s)
            self._prune_at_s = t_s + 1.0
        if t_s > self._caught_s:
            self._caught_s = t_s
        heap, streams = self._heap, self.streams
        while heap and heap[0][0] <= t_s:
            _, index, n = heap[0]
            stream = streams[index]
            if n != stream.n:  # booked ahead of a model message already
                heapq.heappop(heap)
                continue
            self._book(stream)
            heapq.heapreplace(heap, (stream.next_s, index, stream.n))

    def place_model(self, queue, start_s: float, air_s: float) -> float:
        """``images_first``: a model message the medium booked at ``start_s`` for ``air_s``
        on ``queue``'s link starts instead once its link and radios are free of images,
        after the images that arrive on them before then; return that start."""
        src, dst = queue.params.src, queue.params.dst
        held = self._held(src, dst)
        if not self._shared(held):
            return start_s  # nothing it holds carries images (a base station's band, a link of its own)
        sharing = self._sharing.get((src, dst))
        if sharing is None:  # its own link's images (module docstring)
            sharing = self._sharing[(src, dst)] = [i for i, s in enumerate(self.streams) if (s.src, s.dst) == (src, dst)]
        if start_s > self._last_start.get((src, dst), -math.inf):
            self._last_start[(src, dst)] = start_s  # its own link's images go after it (its channel is read)
        streams = self.streams
        while True:
            start = self._first_fit(held, start_s, air_s)
            first = min(sharing, key=lambda i: streams[i].next_s) if sharing else None
            if first is None or streams[first].next_s > start:
                break
            stream = streams[first]
            self._book(stream)  # its heap entry goes stale (its number moved on)
            heapq.heappush(self._heap, (stream.next_s, first, stream.n))
        self.occupied(src, dst, start, start + air_s)
        if start > start_s:  # the medium's booking follows
            self.sim.medium.occupy(queue, start, start + air_s)
        return start

    def _shared(self, held: tuple) -> bool:
        """Whether an image link holds any of ``held``."""
        if self._image_resources is None:
            self._image_resources = {r for stream in self.streams for r in self._held(stream.src, stream.dst)}
        return any(r in self._image_resources for r in held)

    def _held(self, src, dst) -> tuple:
        held = self._resources.get((src, dst))
        if held is None:
            held = self._resources[(src, dst)] = tuple(self.sim.medium.resources(src, dst))
        return held

    def occupied(self, src, dst, start_s: float, end_s: float) -> None:
        """``images_first``: a model message holds link ``src -> dst`` (and what it shares)
        from ``start_s`` to ``end_s``."""
        held = self._held(src, dst)
        if not held:
            return
        for resource in held:
            busy = self._busy.get(resource)
            if busy is None:
                busy = self._busy[resource] = _Busy()
            busy.add(start_s, end_s)
        if start_s > self._last_start.get((src, dst), -math.inf):
            self._last_start[(src, dst)] = start_s

    def _first_fit(self, held: tuple, t_s: float, air_s: float) -> float:
        """The earliest ``s >= t_s`` at which everything ``held`` is idle for ``air_s``."""
        start, moved = t_s, math.nan
        while moved != start:  # until one pass over the resources moves it no more
            moved = start
            for resource in held:
                busy = self._busy.get(resource)
                if busy is not None:
                    start = busy.first_fit(start, air_s)
        return start

    def _fit(self, queue, t_gen: float, bits: int = 0) -> tuple[float, float, object]:
        """``images_first``: book an image in the first idle time of its link or radios
        (the medium's bookings, which order the model messages, are left alone). A
        packet's airtime (retransmissions included) is drawn at the first idle time
        long enough for its bits at the link's nominal rate; if all of it does not fit
        there it goes to the first time that fits, keeping the channel read at the
        first (as a shifted model message does)."""
        src, dst = queue.params.src, queue.params.dst
        held = self._held(src, dst)
        earliest = max(t_gen, self._last_start.get((src, dst), -math.inf))
        if bits:
            symbols, air = 0, bits / nominal_rate_bps(queue.params)
        else:
            symbols, air = self.plan.symbols, self.plan.symbols / queue.params.bandwidth_hz
        start = self._first_fit(held, earliest, air)
        outcome = queue.plan(start, bits, symbols)
        if outcome.airtime_s > air:
            start = self._first_fit(held, start, outcome.airtime_s)
        end = start + outcome.airtime_s
        self.occupied(src, dst, start, end)
        return start, end + queue.params.latency_s, outcome

    def _book(self, stream: _Stream) -> None:
        sim = self.sim
        t_gen = stream.next_s
        queue = sim.queue(stream.src, stream.dst)
        packet = None
        if self.plan.digital is not None:
            start, arrival, outcome, packet = self._book_packet(stream, queue, t_gen)
        elif self.fills_gaps:
            start, arrival, outcome = self._fit(queue, t_gen)
        else:
            start, arrival, outcome = sim.medium.book_image(queue, t_gen, self.plan.symbols)
        if queue.fading is not None:
            h, snr_db = (None if packet else queue.last_h), queue.fading.snr_db(start)
        else:
            h, snr_db = None, queue.params.snr_db
        on_air = None if queue.interference is None else queue.last_on_air
        self.sent.append(ImageSent(stream.src, stream.dst, stream.n, t_gen, start, arrival, snr_db, h, sim.label,
                                   packet, on_air))
        self.images_total += 1
        if sim.ledger is not None:
            sim.ledger.radio(sim.label, stream.src, stream.dst, outcome.airtime_s, outcome.airtime_s)
        stream.n += 1
        if self._poisson:
            stream.next_s = t_gen + stream.rng.exponential(self._gap_s)
        else:
            stream.next_s = stream.phase_s + stream.n * self._gap_s

    def _book_packet(self, stream: _Stream, queue, t_gen: float) -> tuple:
        """A digital image: its bits from the plan's sender, booked on the message path."""
        params = queue.params
        known_db = params.snr_db if queue.fading is None else queue.fading.snr_db(t_gen)
        plan = PacketPlan(*self.plan.digital.packet(stream.src, stream.dst, stream.n, known_db, stream.learnt_snr_db))
        if plan.bits <= 0:  # nothing fits: nothing is sent, the receiver shows its fallback at once
            return t_gen, t_gen, TransmissionOutcome(0.0, 0, False), PacketSent(plan, False, 0, math.nan)
        if self.fills_gaps:
            start, arrival, outcome = self._fit(queue, t_gen, plan.bits)
        else:
            start, arrival, outcome = self.sim.medium.book_image(queue, t_gen, 0, plan.bits)
        realised = queue.last_snr_db if queue.fading is not None else params.snr_db
        decoded = outcome.delivered and (plan.threshold_db is None or realised >= plan.threshold_db)
        stream.learnt_snr_db = realised
        return start, arrival, outcome, PacketSent(plan, decoded, outcome.attempts, realised)

    @property
    def caught_s(self) -> float:
        """Every image arriving by then is booked: none booked later starts before it."""
        return self._caught_s

    def take(self) -> list[ImageSent]:
        """The images booked since the last call (the decoder side takes them)."""
        sent, self.sent = self.sent, []
        return sent

    # ------------------------------------------------------------------ checkpoints

    def state(self) -> dict:
        return {
            "streams": [(s.rng.bit_generator.state, s.next_s, s.n, s.phase_s) for s in self.streams],
            **({} if self.plan.digital is None else {"learnt_snr_db": [s.learnt_snr_db for s in self.streams]}),
            "sent": [image.as_tuple() for image in self.sent],
            "images_total": self.images_total,
            "busy": {key: (list(b.starts), list(b.ends)) for key, b in self._busy.items()},
            "last_start": dict(self._last_start),
            "caught_s": self._caught_s,
            "prune_at_s": self._prune_at_s,
        }

    def load_state(self, state: dict) -> None:
        for stream, (rng_state, next_s, n, phase_s) in zip(self.streams, state["streams"], strict=True):
            stream.rng.bit_generator.state = rng_state
            stream.next_s, stream.n, stream.phase_s = next_s, n, phase_s
        self._heap = [(s.next_s, index, s.n) for index, s in enumerate(self.streams)]
        heapq.heapify(self._heap)
        self.sent = [ImageSent.of(values, self.sim.book) for values in state["sent"]]
        self.images_total = state["images_total"]
        self._busy = {key: _Busy(starts, ends) for key, (starts, ends) in state["busy"].items()}
        self._last_start = dict(state["last_start"])
        self._caught_s, self._prune_at_s = state["caught_s"], state["prune_at_s"]
        for stream, learnt in zip(self.streams, state.get("learnt_snr_db", ()), strict=False):
            stream.learnt_snr_db = learnt

