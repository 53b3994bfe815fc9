"""Rounds of tasks on the simulator: downloads, then compute, then uploads, per task.

:class:`RoundPlayer` is the part of :class:`~semnet.sim.engine.Simulator` that plays a
round (:meth:`RoundPlayer.play_round`): it walks each task through its stages, waits on
the clock only between them (one timeout each), and settles the task when its last stage
is booked. It needs of its host the clock ``env``, ``_defers`` (whether the medium
resolves messages later), ``_submit`` / ``_submit_deferred`` (book one message) and
``_reserve_cpu`` (book training on a node), which the simulator has.
"""

from __future__ import annotations

import math
from typing import Iterable

import simpy

from semnet.sim.message import Message, Task, TaskOutcome

__all__ = ["RoundPlayer"]

# task stages, in order
_DOWNLOADS, _COMPUTE, _UPLOADS = 0, 1, 2


class _Round:
    """Book-keeping of one ``play_round``.

    ``pending`` counts unsettled tasks; ``end_s`` is the latest time a settled task
    needs (its last arrival or compute end); ``settled`` fires when nothing is pending
    or the deadline passes; once ``closed``, tasks still waiting stop where they are.
    """

    __slots__ = ("due", "pending", "end_s", "settled", "closed")

    def __init__(self, due: float | None, pending: int):
        self.due = due
        self.pending = pending
        self.end_s = -math.inf
        self.settled: simpy.Event | None = None
        self.closed = False

    def expire(self, _event=None) -> None:
        if self.settled is not None and not self.settled.triggered:
            self.settled.succeed()


class _Stage:
    """A task's stage of messages on a deferring medium: goes on once all are resolved."""

    __slots__ = ("task", "out", "rnd", "stage", "pending", "last_s", "delivered")

    def __init__(self, task: Task, out: TaskOutcome, rnd: _Round, stage: int, pending: int, now_s: float):
        self.task = task
        self.out = out
        self.rnd = rnd
        self.stage = stage
        self.pending = pending
        self.last_s = now_s
        self.delivered = True


class RoundPlayer:
    """Plays rounds of tasks on its host simulator (module docstring)."""

    def _submit_all(self, messages: tuple[Message, ...], due: float | None, out: TaskOutcome) -> tuple[float, bool]:
        """Submit a group of messages together; return (last arrival, whether all are delivered)."""
        last = self.env.now
        delivered = True
        for message in messages:
            _, arrival, ok = self._submit(message, due)
            out.bits += message.bits
            if arrival > last:
                last = arrival
            delivered = delivered and ok
        return last, delivered

    def play_round(self, tasks: Iterable[Task], deadline_s: float | None = None) -> list[TaskOutcome]:
        """Run ``tasks`` concurrently until all finish or ``deadline_s`` (relative) passes.

        Returns one outcome per task, in order. A task fails with reason 'outage' when a
        message of a stage is lost (the task stops after that stage), or 'deadline'
        when it ends after the deadline. Messages still in flight at the deadline keep
        their links busy afterwards and are recorded 'late'; a task past the deadline
        sends nothing more. The clock stops when the last task ends, or at the
        deadline if some task would end later.
        """
        env = self.env
        tasks = list(tasks)
        start = env.now
        due = None if deadline_s is None else start + deadline_s
        rnd = _Round(due, len(tasks))
        outcomes = [TaskOutcome(key=t.key, ok=False, reason="deadline") for t in tasks]
        for task, out in zip(tasks, outcomes):
            self._advance(task, out, rnd, _DOWNLOADS)
        if rnd.pending:
            rnd.settled = env.event()
            if due is not None:
                # Scheduled before the tasks' later waits, but ``settled`` fires one
                # step after it, so a stage ending exactly at the deadline still counts.
                env.timeout(due - start).callbacks.append(rnd.expire)
            env.run(until=rnd.settled)
        rnd.closed = True
        rnd.settled = None  # stragglers on a shared band keep the round: no SimPy event in it
        end = rnd.end_s if due is None else min(rnd.end_s, due)
        if end > env.now:
            env.run(until=end)
        return outcomes

    def _advance(self, task: Task, out: TaskOutcome, rnd: _Round, stage: int) -> None:
        """Run ``task`` from ``stage`` at the current time, up to its next wait."""
        if rnd.closed:
            return  # the round is over: a straggler does not go on
        now = self.env.now
        if stage == _DOWNLOADS and task.downloads:
            if self._defers:
                self._submit_stage(task.downloads, task, out, rnd, _DOWNLOADS)
                return
            arrival, delivered = self._submit_all(task.downloads, rnd.due, out)
            self._downloaded(task, out, rnd, arrival, delivered)
            return
        if stage <= _COMPUTE and task.samples > 0:
            end = self._reserve_cpu(task.node, task.samples)
            out.compute_end_s = end
            if task.uploads:
                self._resume(end - now, task, out, rnd, _UPLOADS)
            else:
                self._settle(rnd, out, end)
            return
        if task.uploads:
            if self._defers:
                self._submit_stage(task.uploads, task, out, rnd, _UPLOADS)
                return
            arrival, delivered = self._submit_all(task.uploads, rnd.due, out)
            self._settle(rnd, out, arrival, None if delivered else "outage")
            return
        self._settle(rnd, out, now)

    def _downloaded(self, task: Task, out: TaskOutcome, rnd: _Round, arrival: float, delivered: bool) -> None:
        """A task's downloads are booked: they all arrive by ``arrival``."""
        if not delivered:
            self._settle(rnd, out, arrival, "outage")
        elif task.samples > 0 or task.uploads:
            self._resume(arrival - self.env.now, task, out, rnd, _COMPUTE)
        else:
            self._settle(rnd, out, arrival)

    def _submit_stage(self, messages: tuple[Message, ...], task: Task, out: TaskOutcome, rnd: _Round,
                      stage: int) -> None:
        """Hand a stage's messages to a deferring medium; :meth:`_stage_done` goes on."""
        waiter = _Stage(task, out, rnd, stage, len(messages), self.env.now)
        for message in messages:
            out.bits += message.bits
            self._submit_deferred(message, rnd.due, waiter)

    def _stage_done(self, stage: _Stage) -> None:
        rnd, out = stage.rnd, stage.out
        if rnd.closed:
            return  # the round is over and its outcomes handed back: a straggler changes nothing
        if stage.stage == _DOWNLOADS:
            # a band's end may sit a rounding error behind the clock
            self._downloaded(stage.task, out, rnd, max(stage.last_s, self.env.now), stage.delivered)
        else:
            self._settle(rnd, out, stage.last_s, None if stage.delivered else "outage")

    def _resume(self, delay: float, task: Task, out: TaskOutcome, rnd: _Round, stage: int) -> None:
        self.env.timeout(delay).callbacks.append(lambda _event: self._advance(task, out, rnd, stage))

    @staticmethod
    def _settle(rnd: _Round, out: TaskOutcome, end_s: float, failure: str | None = None) -> None:
        """The task's last stage is booked: it ends at ``end_s``, in time or not."""
        if failure is not None:
            out.reason = failure
        elif rnd.due is None or end_s <= rnd.due:
            out.ok = True
            out.reason = None
            out.finished_s = end_s
        if end_s > rnd.end_s:
            rnd.end_s = end_s
        rnd.pending -= 1
        if rnd.pending == 0:
            rnd.expire()
