"""Checkpoints a run can resume from, byte for byte.

A method is ordinary Python code around calls of :func:`~semnet.fl.loop.strategy.run_rounds`,
and a Python call stack cannot be saved. So a resumed run *re-executes* the method
from its start, and this log makes the calls cheap until the checkpoint is reached:

* every ``run_rounds`` call gets the next index; when a call ends, its phase record,
  its strategy's state, its branch's state (counters, batch streams, codecs, the
  simulator) and the state all branches share are kept as a *completed call*;
* every ``every_rounds`` rounds, and at each call's end, ``checkpoints/resume.pt`` is
  written (atomically) with the offsets of ``events.jsonl`` and ``metrics.jsonl`` at
  that moment, the number of completed calls (each written once, to
  ``checkpoints/resume/callNNNNN.pt``, when it ended) and the call in progress as a
  *partial call* (round, the loop's convergence history, its strategy and branch);
* a resumed run replays: a completed call is not played again, its strategy and
  branch are set to their state at its end and its record is returned; the partial
  call restores its state and plays on from its next round. Everything the method
  does between calls (copying models, branching off a control) runs again for real
  and is deterministic. While the run replays, nothing is written to the streams
  (they were cut back to the checkpoint's offsets) and no progress is shown.

State added by later features must join :meth:`RunContext.state` or the strategies'
attributes; the kill-and-resume equality tests say when something is missing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# bump when the checkpoint's layout changes (older checkpoints are then refused);
# 2: holdings of model versions, closing rounds; 3: one file per completed call; 4: strategies
# hold client terms and views, the medium's and channels' classes moved (issue 24)
FORMAT = 4
RESUME_CHECKPOINT = "resume.pt"  # under the run directory's checkpoints/
RESUME_CALLS = "resume"  # checkpoints/resume/call00000.pt ...: the completed calls


def call_file(index: int) -> str:
    """A completed call's checkpoint file, under the run directory's ``checkpoints/``."""
    return f"{RESUME_CALLS}/call{index:05d}.pt"


def scenario_digest(scenario_text: str) -> str:
    """SHA-256 of a run's resolved ``scenario.yaml``: a checkpoint belongs to one scenario."""
    return hashlib.sha256(scenario_text.encode()).hexdigest()


@dataclass
class CallPlan:
    """What :func:`run_rounds` does with one call: play it afresh (both None), skip it
    (``done``: its snapshot at the end) or continue it (``partial``)."""

    index: int
    done: dict | None = None
    partial: dict | None = None


class ResumeStore:
    """Where a run's checkpoints go (the runner gives one writing into the run directory).

    A completed call is written once, to its own file (it never changes again); a
    checkpoint then only writes the call in progress and the count of completed calls,
    so its cost does not grow with the number of phases already played."""

    def save_call(self, index: int, snapshot: dict) -> None:
        raise NotImplementedError

    def save_point(self, payload: dict) -> None:
        raise NotImplementedError


class ResumeLog:
    """The run's completed calls and its checkpoints (see the module docstring).

    Parameters
    ----------
    store : ResumeStore
        Where checkpoints are written; None: no checkpoints.
    every_rounds : int
        A checkpoint every this many rounds of a call (0: at calls' ends only).
    loaded : dict, optional
        The checkpoint to resume from: ``completed`` (the completed calls' snapshots,
        in order) and ``partial``.
    on_caught_up : callable
        Called once the replay has reached the checkpoint: the run is live again.
    """

    def __init__(self, store: ResumeStore | None, every_rounds: int = 0, *,
                 loaded: dict | None = None, on_caught_up: Callable[[], None] | None = None):
        self._store = store
        self.every_rounds = every_rounds
        self.completed = 0  # calls ended so far (their snapshots are in the store)
        self._next = 0
        self._loaded = loaded
        self._on_caught_up = on_caught_up
        self.replaying = loaded is not None

    def enter(self) -> CallPlan:
        """The next call's plan."""
        index = self._next
        self._next += 1
        loaded = self._loaded
        if loaded is None:
            return CallPlan(index)
        if index < len(loaded["completed"]):
            return CallPlan(index, done=loaded["completed"][index])
        partial = loaded.get("partial")
        if partial is not None and partial["call"] == index:
            return CallPlan(index, partial=partial)
        raise RuntimeError(f"resume: call {index} is not in the checkpoint; the method did not replay the same way")

    def restored(self, plan: CallPlan) -> None:
        """A skipped or continued call has been restored: once the checkpoint's own point
        is reached, the run is live again."""
        loaded = self._loaded
        if loaded is None:
            return
        if plan.done is not None:
            self.completed += 1  # its file is in the store already
        partial = loaded.get("partial")
        last = plan.partial is not None or (partial is None and plan.index == len(loaded["completed"]) - 1)
        if last:
            self._loaded = None
            self.replaying = False
            if self._on_caught_up is not None:
                self._on_caught_up()

    def due(self, rounds_done_in_call: int) -> bool:
        return self._store is not None and self.every_rounds > 0 and rounds_done_in_call % self.every_rounds == 0

    def complete(self, snapshot: dict) -> None:
        """A call ended (``snapshot`` from :func:`call_snapshot`): store it and checkpoint."""
        if self._store is not None and not self.replaying:
            self._store.save_call(self.completed, snapshot)
        self.completed += 1
        self.save(None)

    def save(self, partial: dict | None) -> None:
        if self._store is None or self.replaying:
            return
        self._store.save_point({"format": FORMAT, "completed": self.completed, "partial": partial})


def call_snapshot(ctx, strategy, *, record: Any = None, loop: dict | None = None, index: int | None = None) -> dict:
    """One call's state: its strategy, its branch, what branches share and, for a
    completed call, its phase record (a partial call has its loop state instead)."""
    from semnet.fl.loop.snapshot import capture

    snapshot = {
        "strategy": capture(strategy, exclude=tuple(strategy.round_scoped) + ("ctx",)),
        "ctx": ctx.state(),
        "shared": ctx.shared_state(),
    }
    if loop is None:
        snapshot["record"] = None if record is None else record.as_dict()
    else:
        snapshot["call"], snapshot["loop"] = index, loop
    return snapshot


def restore_call(ctx, strategy, snapshot: dict) -> None:
    """Set ``strategy`` and ``ctx`` (and what branches share) to ``snapshot``."""
    from semnet.fl.loop.snapshot import restore

    restore(strategy, snapshot["strategy"], type(strategy).__name__)
    ctx.load_state(snapshot["ctx"])
    ctx.load_shared_state(snapshot["shared"])
