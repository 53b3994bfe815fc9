"""What the network did to a run's messages and tasks, per branch and phase.

Messages are counted from the event records as the simulator submits them (each
says its branch, phase and outcome: ``delivered``, ``outage`` or ``late``); tasks
from the round outcomes (a task fails by ``outage`` when a message of it is lost, by
``deadline`` when it ends after the round deadline). The summary's ``delivery``
section is built from here, so losses and deadline misses are visible without
reading ``events.jsonl``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

MESSAGE_OUTCOMES = ("delivered", "outage", "late")
TASK_FAILURES = ("outage", "deadline")


class _Row:
    __slots__ = ("messages", "bits", "outcomes", "tasks", "task_failures")

    def __init__(self):
        self.messages = 0
        self.bits = 0
        self.outcomes = dict.fromkeys(MESSAGE_OUTCOMES, 0)
        self.tasks = 0
        self.task_failures = dict.fromkeys(TASK_FAILURES, 0)

    def add(self, other: "_Row") -> None:
        self.messages += other.messages
        self.bits += other.bits
        self.tasks += other.tasks
        for key in self.outcomes:
            self.outcomes[key] += other.outcomes[key]
        for key in self.task_failures:
            self.task_failures[key] += other.task_failures[key]

    def as_dict(self) -> dict:
        failed = sum(self.task_failures.values())
        return {
            "messages": self.messages,
            "bytes": self.bits // 8,
            "messages_delivered": self.outcomes["delivered"],
            "messages_outage": self.outcomes["outage"],
            "messages_late": self.outcomes["late"],
            "tasks": self.tasks,
            "tasks_ok": self.tasks - failed,
            "tasks_outage": self.task_failures["outage"],
            "tasks_deadline_missed": self.task_failures["deadline"],
        }


class DeliveryTally:
    """Counts per (branch, phase), in the order they first appear."""

    def __init__(self):
        self._rows: dict[tuple[str, str], _Row] = {}

    def _row(self, branch: str, phase: str) -> _Row:
        row = self._rows.get((branch, phase))
        if row is None:
            row = self._rows[(branch, phase)] = _Row()
        return row

    def sink(self, forward: Callable[[dict], None], branch: str = "main") -> Callable[[dict], None]:
        """An event sink that counts each message record, then hands it to ``forward``."""

        def count(record: dict) -> None:
            row = self._row(record.get("branch", branch), record.get("phase", ""))
            row.messages += 1
            row.bits += record["bits"]
            row.outcomes[record["outcome"]] += 1
            forward(record)

        return count

    def tasks(self, branch: str, phase: str, outcomes: Iterable) -> None:
        """Count one round's task outcomes (``ok`` and ``reason`` of each)."""
        row = self._row(branch, phase)
        for outcome in outcomes:
            row.tasks += 1
            if not outcome.ok:
                row.task_failures[outcome.reason] = row.task_failures.get(outcome.reason, 0) + 1

    def state(self) -> dict:
        """The counts so far (a resumed run continues them)."""
        return {key: {name: (dict(v) if isinstance(v, dict) else v) for name, v in
                      ((slot, getattr(row, slot)) for slot in _Row.__slots__)} for key, row in self._rows.items()}

    def load_state(self, state: dict) -> None:
        self._rows = {}
        for key, values in state.items():
            row = self._rows[key] = _Row()
            for name, value in values.items():
                setattr(row, name, dict(value) if isinstance(value, dict) else value)

    def as_dict(self) -> dict:
        """``{"branches": {branch: {totals..., "phases": {phase: {...}}}}, "all_branches": {...}}``."""
        branches: dict[str, dict] = {}
        totals: dict[str, _Row] = {}
        everything = _Row()
        for (branch, phase), row in self._rows.items():
            total = totals.setdefault(branch, _Row())
            total.add(row)
            everything.add(row)
            branches.setdefault(branch, {"phases": {}})["phases"][phase] = row.as_dict()
        for branch, total in totals.items():
            branches[branch] = {**total.as_dict(), "phases": branches[branch]["phases"]}
        return {"branches": branches, "all_branches": {**everything.as_dict(), "branches": list(branches)}}
