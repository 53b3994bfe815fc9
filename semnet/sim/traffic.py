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
    Images and model messages in the order they arrive (a message that has not
    started yet holds its place; ties go to images).
``images_first``
    Before a model message is booked, the images that arrive by the time it could
    start, on the links that share its link or radios, are booked ahead of it
    (:meth:`TrafficSource.ahead_of`), over and over until none arrives before its
    start: non-preemptive priority. Exact on dedicated links. On shared radios the
    look-ahead only follows the message's own two radios, and bookings are still
    made in submission order, so an image booked ahead of one message can keep a
    third radio busy for a message booked after it.

The simulator records each image as it is booked (:class:`ImageSent`); which models
decode it, and how well, is the learning side's business
(:mod:`semnet.fl.traffic`): the network never sees a model.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from semnet.seeding import numpy_rng

__all__ = ["ImageSent", "TrafficPlan", "TrafficSource"]


@dataclass(frozen=True)
class TrafficPlan:
    """What the network carries: ``images_per_s`` on each of ``links``, ``symbols``
    complex channel uses per image, arrivals ``periodic`` or ``poisson``, queue
    policy ``fifo`` or ``images_first``."""

    images_per_s: float
    symbols: int
    links: tuple[tuple, ...]
    arrivals: str = "poisson"
    queue: str = "fifo"

    def __post_init__(self):
        if not self.images_per_s > 0:
            raise ValueError(f"images_per_s must be > 0, got {self.images_per_s!r}")
        if self.symbols < 1:
            raise ValueError(f"an image needs at least one channel use, got symbols={self.symbols!r}")
        if self.arrivals not in ("periodic", "poisson"):
            raise ValueError(f"unknown arrivals {self.arrivals!r}; allowed: periodic, poisson")
        if self.queue not in ("fifo", "images_first"):
            raise ValueError(f"unknown queue policy {self.queue!r}; allowed: fifo, images_first")


class ImageSent:
    """One image as booked: link ``src -> dst``, its number ``n`` on the link, when it
    was generated, started and received (``t_end_s``, latency included), the link's
    large-scale SNR at its start and the gain ``h`` it met (None: the link has no
    channel over time, so the decoder side draws ``h`` from the fading law), and the
    round's label when it was generated."""

    __slots__ = ("src", "dst", "n", "t_gen_s", "t_start_s", "t_end_s", "snr_db", "h", "label")

    def __init__(self, src, dst, n, t_gen_s, t_start_s, t_end_s, snr_db, h, label):
        self.src, self.dst, self.n = src, dst, n
        self.t_gen_s, self.t_start_s, self.t_end_s = t_gen_s, t_start_s, t_end_s
        self.snr_db, self.h, self.label = snr_db, h, label

    def as_tuple(self) -> tuple:
        return (self.src, self.dst, self.n, self.t_gen_s, self.t_start_s, self.t_end_s, self.snr_db, self.h,
                dict(self.label))

    @classmethod
    def of(cls, values: tuple) -> "ImageSent":
        return cls(*values)


class _Stream:
    """One link's arrivals: the next image's time and number, and its random stream."""

    __slots__ = ("src", "dst", "rng", "next_s", "n", "phase_s")

    def __init__(self, src, dst, rng, next_s: float, phase_s: float):
        self.src, self.dst, self.rng = src, dst, rng
        self.next_s = next_s
        self.phase_s = phase_s  # periodic: time of image 0 (later ones are phase + n / rate, no drift)
        self.n = 0


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
        self._sharing: dict = {}  # (src, dst) of a model message -> indices of the image links it shares airtime with

    # ------------------------------------------------------------------ booking

    def catch_up(self, t_s: float) -> None:
        """Book every image that arrives by ``t_s``, in arrival order."""
        heap, streams = self._heap, self.streams
        while heap and heap[0][0] <= t_s:
            _, index, n = heap[0]
            stream = streams[index]
            if n != stream.n:  # booked ahead of a model message already
                heapq.heappop(heap)
                continue
            self._book(stream)
            heapq.heapreplace(heap, (stream.next_s, index, stream.n))

    def ahead_of(self, src, dst, now_s: float) -> None:
        """``images_first``: before a model message ``src -> dst`` submitted at ``now_s``
        is booked, book the images that arrive by the time it could start on the links
        that share its airtime, until none does."""
        medium = self.sim.medium
        sharing = self._sharing.get((src, dst))
        if sharing is None:
            sharing = self._sharing[(src, dst)] = self._links_sharing(src, dst)
        if not sharing:
            return
        queue = self.sim.queue(src, dst)
        streams = self.streams
        while True:
            start_s = medium.earliest_start(queue, now_s)
            first = min(sharing, key=lambda i: streams[i].next_s)
            stream = streams[first]
            if stream.next_s > start_s:
                return
            self._book(stream)  # its heap entry goes stale (its number moved on)
            heapq.heappush(self._heap, (stream.next_s, first, stream.n))

    def _links_sharing(self, src, dst) -> list[int]:
        mine = set(self.sim.medium.resources(src, dst))
        if not mine:
            return []
        return [i for i, s in enumerate(self.streams) if mine.intersection(self.sim.medium.resources(s.src, s.dst))]

    def _book(self, stream: _Stream) -> None:
        sim = self.sim
        t_gen = stream.next_s
        queue = sim.queue(stream.src, stream.dst)
        start, arrival, outcome = sim.medium.book_image(queue, t_gen, self.plan.symbols)
        if queue.fading is not None:
            h, snr_db = queue.last_h, queue.fading.snr_db(start)
        else:
            h, snr_db = None, queue.params.snr_db
        self.sent.append(ImageSent(stream.src, stream.dst, stream.n, t_gen, start, arrival, snr_db, h, sim.label))
        self.images_total += 1
        if sim.ledger is not None:
            sim.ledger.radio(sim.label, stream.src, stream.dst, outcome.airtime_s, outcome.airtime_s)
        stream.n += 1
        if self._poisson:
            stream.next_s = t_gen + stream.rng.exponential(self._gap_s)
        else:
            stream.next_s = stream.phase_s + stream.n * self._gap_s

    def take(self) -> list[ImageSent]:
        """The images booked since the last call (the decoder side takes them)."""
        sent, self.sent = self.sent, []
        return sent

    # ------------------------------------------------------------------ checkpoints

    def state(self) -> dict:
        return {
            "streams": [(s.rng.bit_generator.state, s.next_s, s.n, s.phase_s) for s in self.streams],
            "sent": [image.as_tuple() for image in self.sent],
            "images_total": self.images_total,
        }

    def load_state(self, state: dict) -> None:
        for stream, (rng_state, next_s, n, phase_s) in zip(self.streams, state["streams"], strict=True):
            stream.rng.bit_generator.state = rng_state
            stream.next_s, stream.n, stream.phase_s = next_s, n, phase_s
        self._heap = [(s.next_s, index, s.n) for index, s in enumerate(self.streams)]
        heapq.heapify(self._heap)
        self.sent = [ImageSent.of(values) for values in state["sent"]]
        self.images_total = state["images_total"]
