"""The SimPy engine: message transfers, local computation and rounds of tasks.

The simulator knows links and nodes, never the learning algorithm: strategies hand
it ``Task``s (downloads, compute, uploads) and get back which tasks finished in time.
Simulated time comes only from message sizes, link parameters and compute profiles,
never from the wall clock, so a seed fixes every timestamp.

Links and CPUs are FIFO servers whose service times are known when a job is
submitted, so booking one is arithmetic (``start = max(now, busy_until)``), not a
SimPy resource. A message's whole fate (start, arrival, attempts, outcome) is thus
decided when it is submitted: its record goes to the sink then, so a message still
in flight when a round or a run ends is logged too, and the sink sees records in
submission order. A task only needs the clock between its stages (downloads ->
compute -> uploads): each wait is one timeout, and the last stage settles the task
without any event. This keeps large networks cheap (see
``benchmarks/bench_network.py``).

Who shares airtime is the simulator's medium (:mod:`semnet.sim.medium`, from
``network.medium``). Dedicated links and node radios book as above. A cell's shared
band cannot: a message's end depends on who else arrives while it is sent, so the
medium *resolves* it later (:meth:`Simulator.resolve`), and its record reaches the sink
then; a task's stage goes on once all its messages are resolved.

Playing a round of tasks (their stages, waits and outcomes) is :mod:`semnet.sim.rounds`,
which the simulator inherits.
"""

from __future__ import annotations

from typing import Callable

import simpy

from semnet.net.interference_gains import PairFading
from semnet.net.network import Network
from semnet.seeding import numpy_rng
from semnet.sim.interference import InterferenceBook
from semnet.sim.ledger import UsageLedger
from semnet.sim.link import LinkQueue
from semnet.sim.medium import Transmission, make_medium
from semnet.sim.medium_state import pickle_medium, unpickle_medium
from semnet.sim.message import Message
# _Round and _Stage lived here: a resume state written before they moved names them here
from semnet.sim.rounds import RoundPlayer, _Round, _Stage  # noqa: F401
from semnet.sim.traffic import TrafficPlan, TrafficSource

EventSink = Callable[[dict], None]

class _Sent:
    """A ``send`` on a deferring medium: its event fires at the arrival with the record."""

    __slots__ = ("event",)

    def __init__(self, event: simpy.Event):
        self.event = event


class Simulator(RoundPlayer):
    """Discrete-event network emulator.

    Parameters
    ----------
    network : Network
        Users, aggregator and directed links.
    seed : int
        Root seed; each link gets its own stream for outage draws.
    compute_speed : dict
        Node -> training samples per second (simulated compute profile).
    sink : callable, optional
        Receives one dict per message (the ``events.jsonl`` record) when the
        message is submitted; its times are those it will have.
    start_s : float
        Initial clock (a control experiment branches off at the main run's time).
    stream : str
        Names the random streams, so branches draw outages independently.
    ledger : UsageLedger, optional
        Receives every node's radio seconds and training samples (energy accounting).
    traffic : TrafficPlan, optional
        Live images on the image links (:mod:`semnet.sim.traffic`); they queue with
        the model messages, and each is kept in ``traffic.sent`` when booked.
    """

    def __init__(
        self,
        network: Network,
        *,
        seed: int,
        compute_speed: dict,
        sink: EventSink | None = None,
        start_s: float = 0.0,
        stream: str = "main",
        ledger: UsageLedger | None = None,
        traffic: TrafficPlan | None = None,
    ):
        self.network = network
        self.env = simpy.Environment(initial_time=start_s)
        self._sink = sink
        self.seed, self.stream = seed, stream  # what a medium's own random stream derives from
        # Only faded Shannon links draw random numbers; seeding a generator costs
        # tens of microseconds, which adds up over thousands of links.
        process = network.channel
        if process is None:
            self._queues = {
                key: LinkQueue(params, numpy_rng(seed, "link", stream, params.src, params.dst) if _random(params) else None)
                for key, params in network.links.items()
            }
        else:  # every link reads its channel over time from its own stream of this branch
            self._queues = {}
            for key, params in network.links.items():
                rng = numpy_rng(seed, "link", stream, params.src, params.dst)
                self._queues[key] = LinkQueue(params, rng, fading=process.link(key, rng, start_s))
        # realised SNR of every message at its start, per link: (t_start_s, snr_db) (time-varying channel only)
        self.realised: dict[tuple, list[tuple[float, float]]] = {}
        # links.interference.model sinr: the transmissions on the air, and per link what each met
        # once final: (sinr_db, airtime_s, interfered_s, is_image)
        self.book: InterferenceBook | None = None
        if network.interference.enabled:
            self.book = InterferenceBook(network.interference, network.cross_gains, PairFading(network),
                                         numpy_rng(seed, "interference", stream))
            for queue in self._queues.values():
                queue.interference = self.book
        self._speed = dict(compute_speed)
        self._cpu_free_s = {node: start_s for node in compute_speed}
        self.label: dict = {}
        self.bits_total = 0
        self.messages_total = 0
        self.compute_samples_total = 0
        self.ledger = ledger
        self.medium = make_medium(network.medium, self)
        self._defers = self.medium.defers
        self.traffic = None if traffic is None else TrafficSource(traffic, self, seed=seed, stream=stream,
                                                                  start_s=start_s)
        # (tag, arrival_s, delivered) of every tagged message once its arrival is known
        # (a strategy's model deployments, semnet.fl.loop.deployment); taken by the caller
        self.arrivals: list[tuple] = []

    @property
    def sinr_log(self) -> dict[tuple, list[tuple[float, float, float, bool]]]:
        """Per link, what each transmission met once final (the book's ``final``; empty without one)."""
        return {} if self.book is None else self.book.final

    @property
    def now_s(self) -> float:
        return float(self.env.now)

    def channel_state(self, src, dst, t_s: float | None = None) -> tuple[complex, float]:
        """(complex gain ``h``, large-scale SNR in dB) of link ``src -> dst`` for a block
        sent at ``t_s`` (default: now), read from the same process as the link's model
        packets: an image and a packet sent at the same time see the same ``h``.
        Times must not go back before the link's last message (its first attempt may be
        read again). Without a channel over time: ``(1, snr_db)`` of today's fixed link."""
        queue = self._queues.get((src, dst))
        if queue is None:
            raise KeyError(f"no link {src} -> {dst}")
        if queue.fading is None:
            return 1.0 + 0j, queue.params.snr_db
        return queue.fading.state(self.env.now if t_s is None else float(t_s))

    @property
    def bytes_total(self) -> int:
        return self.bits_total // 8

    def queue(self, src, dst) -> LinkQueue:
        """Link ``src -> dst``'s queue."""
        queue = self._queues.get((src, dst))
        if queue is None:
            raise KeyError(f"no link {src} -> {dst}")
        return queue

    def catch_up(self) -> None:
        """Book every live image that has arrived by now (see :mod:`semnet.sim.traffic`);
        a caller does so before it changes ``label`` or reads ``traffic.sent``."""
        if self.traffic is not None:
            self.traffic.catch_up(self.env.now)

    # ------------------------------------------------------------------ checkpoints

    def state(self) -> dict:
        """Everything a resumed run needs to continue this simulator between rounds: the
        clock, every link's queue (with its random stream and fading), the nodes' compute
        queues, the counters and the realised SNRs. Between rounds no event is pending
        (bookings are arithmetic), so a fresh SimPy environment at the same clock
        continues exactly."""
        return {
            "now_s": self.env.now,
            "queues": {key: queue.state() for key, queue in self._queues.items() if queue.used},
            "realised": {key: list(samples) for key, samples in self.realised.items()},
            "cpu_free_s": dict(self._cpu_free_s),
            "label": dict(self.label),
            "bits_total": self.bits_total,
            "messages_total": self.messages_total,
            "compute_samples_total": self.compute_samples_total,
            "medium": pickle_medium(self.medium),
            **({} if self.book is None else {"book": self.book.state()}),
            **({} if self.traffic is None else {"traffic": self.traffic.state(), "arrivals": list(self.arrivals)}),
        }

    def load_state(self, state: dict) -> None:
        """Continue from :meth:`state` (of a simulator over the same network and seed)."""
        self.env = simpy.Environment(initial_time=state["now_s"])
        if any(queue.used for key, queue in self._queues.items() if key not in state["queues"]):
            raise ValueError("a simulator that has carried messages cannot go back to a checkpoint")
        for key, queue_state in state["queues"].items():
            self._queues[key].load_state(queue_state)
        self.realised = {key: list(samples) for key, samples in state["realised"].items()}
        self._cpu_free_s = dict(state["cpu_free_s"])
        self.label = dict(state["label"])
        self.bits_total = state["bits_total"]
        self.messages_total = state["messages_total"]
        self.compute_samples_total = state["compute_samples_total"]
        self.medium = unpickle_medium(state["medium"], self._queues)
        if self.book is not None:
            self.book.load_state(state["book"])
            for queue in self._queues.values():
                queue.find_on_air(self.book)
        self.medium.attach(self)
        if self.traffic is not None:
            self.traffic.load_state(state["traffic"])
            self.arrivals = list(state["arrivals"])

    # ------------------------------------------------------------------ primitives

    def send(self, message: Message, deadline_s: float | None = None) -> simpy.Process:
        """Submit a transfer now; the process ends at its arrival with its event record (a dict).

        ``deadline_s`` is absolute: a message arriving after it is recorded 'late'.
        """
        if self._defers:
            sent = _Sent(self.env.event())
            self._submit_deferred(message, deadline_s, sent)
            return self.env.process(self._await(sent.event))
        record = self._submit(message, deadline_s, need_record=True)[0]
        return self.env.process(self._arrive(record))

    def _arrive(self, record: dict):
        yield self.env.timeout(record["t_end_s"] - self.env.now)
        return record

    def _await(self, event: simpy.Event):
        return (yield event)

    def _submit(self, message: Message, due: float | None, need_record: bool = False):
        """Book ``message`` on its link now; return (record or None, arrival_s, delivered)."""
        queue = self._queues.get((message.src, message.dst))
        if queue is None:
            raise KeyError(f"no link {message.src} -> {message.dst}")
        now = self.env.now
        traffic = self.traffic
        if self.book is not None:  # nothing booked from now on starts before the images still to come or now
            self.book.prune(now if traffic is None else min(now, traffic.caught_s))
        if traffic is not None:  # the images that arrived before it are booked first
            traffic.catch_up(now)
        start, arrival, outcome = self.medium.book(queue, now, message.bits, message.symbols)
        if traffic is not None and traffic.fills_gaps:  # images first: it waits for those in its way
            start = traffic.place_model(queue, start, outcome.airtime_s)
            arrival = start + outcome.airtime_s + queue.params.latency_s
        if message.tag is not None:
            self.arrivals.append((message.tag, arrival, outcome.delivered))
        self.bits_total += message.bits
        self.messages_total += 1
        if self.ledger is not None:
            self.ledger.radio(self.label, message.src, message.dst, outcome.airtime_s, outcome.airtime_s)
        record = None
        if need_record or self._sink is not None:
            fading = queue.fading is not None
            record = self._record(message, now, start, arrival, outcome, due, self.label,
                                  queue.last_snr_db if fading else None, queue.last_h)
            if queue.interference is not None:  # what the message was decided with (module interference)
                record["sinr_db"] = round(queue.last_on_air.sinr_db(known_only=True), 4)
            if queue.params.rate_mode == "mcs" and message.bits and not message.symbols:
                record["cqi"] = queue.last_cqi  # the entry link adaptation picked (semnet.net.mcs)
            if self._sink is not None:
                self._sink(record)
        if queue.fading is not None:
            self.realised.setdefault((message.src, message.dst), []).append((start, queue.last_snr_db))
        return record, arrival, outcome.delivered

    def _submit_deferred(self, message: Message, due: float | None, waiter) -> None:
        """Hand ``message`` to a deferring medium; ``waiter`` hears of it in :meth:`resolve`."""
        queue = self._queues.get((message.src, message.dst))
        if queue is None:
            raise KeyError(f"no link {message.src} -> {message.dst}")
        if self.book is not None:  # a medium starts what it holds now or later (as _submit)
            self.book.prune(self.env.now if self.traffic is None else min(self.env.now, self.traffic.caught_s))
        if self.traffic is not None:
            self.traffic.catch_up(self.env.now)
        self.bits_total += message.bits
        self.messages_total += 1
        self.medium.submit(Transmission(message, queue, self.env.now, due, self.label, waiter))

    def resolve(self, tx: Transmission, start_s: float, end_s: float, outcome, tx_s: float, rx_s: float) -> None:
        """A deferring medium settled ``tx``: it was sent from ``start_s`` to ``end_s``
        (arriving a latency later) with ``outcome``; its sender transmitted ``tx_s`` and
        its receiver listened ``rx_s`` seconds. Writes the record and tells its waiter."""
        message, queue = tx.message, tx.queue
        arrival = end_s + queue.params.latency_s
        if message.tag is not None:
            self.arrivals.append((message.tag, arrival, outcome.delivered))
        if self.ledger is not None:
            self.ledger.radio(tx.label, message.src, message.dst, tx_s, rx_s)
        if queue.fading is not None:
            self.realised.setdefault((message.src, message.dst), []).append((start_s, tx.snr_db))
        waiter = tx.waiter
        record = None
        if self._sink is not None or isinstance(waiter, _Sent):
            record = self._record(message, tx.t_submit_s, start_s, arrival, outcome, tx.due_s, tx.label,
                                  tx.snr_db if queue.fading is not None else None, tx.h)
            sinr_db = getattr(tx, "sinr_db", None)  # (a transmission pickled before it had one: None)
            if sinr_db is not None and sinr_db == sinr_db:  # planned in the interference book (not NaN)
                record["sinr_db"] = round(sinr_db, 4)
            if self._sink is not None:
                self._sink(record)
        if isinstance(waiter, _Sent):
            self.env.timeout(max(0.0, arrival - self.env.now)).callbacks.append(_Fire(waiter.event, record))
        elif waiter is not None:
            waiter.pending -= 1
            if arrival > waiter.last_s:
                waiter.last_s = arrival
            waiter.delivered = waiter.delivered and outcome.delivered
            if waiter.pending == 0:
                self._stage_done(waiter)

    @staticmethod
    def _record(message: Message, t_submit: float, start: float, arrival: float, outcome, due, label: dict,
                snr_db: float | None, h: complex) -> dict:
        if not outcome.delivered:
            status = "outage"
        elif due is not None and arrival > due:
            status = "late"
        else:
            status = "delivered"
        record = {
            "t_submit_s": t_submit,
            "t_start_s": start,
            "t_end_s": arrival,
            "src": message.src,
            "dst": message.dst,
            "kind": message.kind,
            "bits": message.bits,
            "outcome": status,
            "attempts": outcome.attempts,
        }
        record.update(label)
        if message.symbols:
            record["symbols"] = message.symbols
        if snr_db is not None:
            record["snr_db"] = round(snr_db, 4)
            if message.symbols:
                record["h"] = [round(h.real, 6), round(h.imag, 6)]
        return record

    def finish(self) -> None:
        """End of the run: messages still on a shared band are resolved as if nothing
        more were sent, so that every message has its record. A no-op elsewhere.
        Live images are booked up to the clock: the run's whole duration carries them."""
        self.catch_up()
        self.medium.finish()
        if self.book is not None:
            self.book.finish()

    def compute(self, node, samples: int):
        """Process: ``node`` trains on ``samples`` images, one job at a time per node."""
        return self.env.process(self._compute(node, samples))

    def _compute(self, node, samples: int):
        if samples <= 0:
            return
        end = self._reserve_cpu(node, samples)
        yield self.env.timeout(end - self.env.now)

    def _reserve_cpu(self, node, samples: int) -> float:
        """Queue ``samples`` of training on ``node`` now (FIFO); return when it ends."""
        try:
            speed = self._speed[node]
        except KeyError:
            raise KeyError(f"node {node!r} has no compute speed") from None
        now = self.env.now
        free = self._cpu_free_s[node]
        end = (now if now > free else free) + samples / speed
        self._cpu_free_s[node] = end
        self.compute_samples_total += samples
        if self.ledger is not None:
            self.ledger.compute(self.label, node, samples)
        return end

    def wait(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` (e.g. aggregation time at the server)."""
        if seconds < 0:
            raise ValueError(f"Negative delay {seconds}")
        if seconds:
            self.env.run(until=self.env.now + seconds)

class _Fire:
    """A callback that succeeds ``event`` with ``value`` (picklable, unlike a lambda)."""

    __slots__ = ("event", "value")

    def __init__(self, event: simpy.Event, value):
        self.event = event
        self.value = value

    def __call__(self, _timeout) -> None:
        self.event.succeed(self.value)


def _random(params) -> bool:
    """Whether a link's transmissions draw random numbers (faded Shannon-rate links)."""
    if params.rate_mode == "fixed":
        return False
    return params.fading_model.random if params.fading_model is not None else params.fading != "none"
