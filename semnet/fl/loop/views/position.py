"""Where one branch of a run is: its phase and round, and the run-wide record of where
any branch is (what an interrupted or diverged run reports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

from semnet.errors import RunDiverged


@dataclass
class Position:
    branch: str
    phase: str = ""
    round: int = 0
    # shared by every branch of the run: the branch, phase and round being played now
    where: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.where:
            self.where.update(branch=self.branch, phase="", round=0)

    def enter_phase(self, name: str) -> None:
        self.phase, self.round = name, 0
        self.where.update(branch=self.branch, phase=name, round=0)

    def next_round(self) -> None:
        self.round += 1
        self.where.update(branch=self.branch, phase=self.phase, round=self.round)

    def stop(self, what: str, user=None, verb: str = "diverged") -> NoReturn:
        """Stop the run here: ``RunDiverged`` naming the phase, branch, round and user."""
        where = {"branch": self.branch, "phase": self.phase, "round": self.round, "user": user}
        branch = "" if self.branch == "main" else f" of branch '{self.branch}'"
        raise RunDiverged(f"run {verb}: {what}, in phase '{self.phase}'{branch}, round {self.round}", **where)
