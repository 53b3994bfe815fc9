"""The SimPy engine: message transfers, local computation and rounds of tasks.

The simulator knows links and nodes, never the learning algorithm: strategies hand
it ``Task``s (downloads, compute, uploads) and get back which tasks finished in time.
Simulated time comes only from message sizes, link parameters and compute profiles,
never from the wall clock, so a seed fixes every timestamp.
"""

from __future__ import annotations

from typing import Callable, Iterable

import simpy

from semnet.net.network import Network
from semnet.seeding import numpy_rng
from semnet.sim.link import LinkQueue
from semnet.sim.message import Message, Task, TaskOutcome

EventSink = Callable[[dict], None]


class Simulator:
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
        Receives one dict per finished message (the ``events.jsonl`` record).
    start_s : float
        Initial clock (a control experiment branches off at the main run's time).
    stream : str
        Names the random streams, so branches draw outages independently.
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
    ):
        self.network = network
        self.env = simpy.Environment(initial_time=start_s)
        self._sink = sink
        self._queues = {
            key: LinkQueue(params, numpy_rng(seed, "link", stream, params.src, params.dst))
            for key, params in network.links.items()
        }
        self._cpu = {node: simpy.Resource(self.env, capacity=1) for node in compute_speed}
        self._speed = dict(compute_speed)
        self.label: dict = {}
        self.bits_total = 0
        self.messages_total = 0
        self.compute_samples_total = 0

    @property
    def now_s(self) -> float:
        return float(self.env.now)

    @property
    def bytes_total(self) -> int:
        return self.bits_total // 8

    # ------------------------------------------------------------------ primitives

    def send(self, message: Message, deadline_s: float | None = None) -> simpy.Process:
        """Start a transfer; the process's value is its event record (a dict)."""
        return self.env.process(self._transfer(message, deadline_s))

    def _transfer(self, message: Message, deadline_s: float | None):
        env = self.env
        queue = self._queues.get((message.src, message.dst))
        if queue is None:
            raise KeyError(f"no link {message.src} -> {message.dst}")
        now = env.now
        start, arrival, outcome = queue.reserve(now, message.bits, message.symbols)
        yield env.timeout(arrival - now)
        if not outcome.delivered:
            status = "outage"
        elif deadline_s is not None and arrival > deadline_s:
            status = "late"
        else:
            status = "delivered"
        self.bits_total += message.bits
        self.messages_total += 1
        record = {
            "t_submit_s": now,
            "t_start_s": start,
            "t_end_s": arrival,
            "src": message.src,
            "dst": message.dst,
            "kind": message.kind,
            "bits": message.bits,
            "outcome": status,
            "attempts": outcome.attempts,
            **self.label,
        }
        if message.symbols:
            record["symbols"] = message.symbols
        if self._sink is not None:
            self._sink(record)
        return record

    def compute(self, node, samples: int):
        """Process: ``node`` trains on ``samples`` images, one job at a time per node."""
        return self.env.process(self._compute(node, samples))

    def _compute(self, node, samples: int):
        if samples <= 0:
            return
        self.compute_samples_total += samples
        with self._cpu[node].request() as req:
            yield req
            yield self.env.timeout(samples / self._speed[node])

    def wait(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` (e.g. aggregation time at the server)."""
        if seconds < 0:
            raise ValueError(f"Negative delay {seconds}")
        if seconds:
            self.env.run(until=self.env.now + seconds)

    # ------------------------------------------------------------------ rounds

    def play_round(self, tasks: Iterable[Task], deadline_s: float | None = None) -> list[TaskOutcome]:
        """Run ``tasks`` concurrently until all finish or ``deadline_s`` (relative) passes.

        Messages still in flight at the deadline keep their links busy afterwards
        and are recorded as 'late'; their tasks are reported failed.
        """
        env = self.env
        tasks = list(tasks)
        due = None if deadline_s is None else env.now + deadline_s
        outcomes = [TaskOutcome(key=t.key, ok=False, reason="deadline") for t in tasks]
        procs = [env.process(self._task(t, due, out)) for t, out in zip(tasks, outcomes)]
        everything = simpy.AllOf(env, procs)
        if due is None:
            env.run(until=everything)
        else:
            timer = env.timeout(due - env.now)
            env.run(until=simpy.AnyOf(env, [everything, timer]))
            if not everything.triggered:
                env.run(until=due)
        return outcomes

    def _task(self, task: Task, due: float | None, out: TaskOutcome):
        env = self.env
        if task.downloads:
            records = yield simpy.AllOf(env, [self.send(m, due) for m in task.downloads])
            out.bits += sum(m.bits for m in task.downloads)
            if any(r["outcome"] == "outage" for r in records.values()):
                out.reason = "outage"
                return
        if task.samples:
            yield self.compute(task.node, task.samples)
        if task.uploads:
            records = yield simpy.AllOf(env, [self.send(m, due) for m in task.uploads])
            out.bits += sum(m.bits for m in task.uploads)
            if any(r["outcome"] == "outage" for r in records.values()):
                out.reason = "outage"
                return
        out.finished_s = env.now
        if due is None or env.now <= due:
            out.ok = True
            out.reason = None
