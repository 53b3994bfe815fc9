"""``semnet run --resume RUN_DIR``: continue an interrupted run from its checkpoint.

What is checkpointed and how a run replays up to it is :mod:`semnet.fl.loop.resume`; this
module checks that a directory can be resumed (one line for each reason it cannot)
and runs its scenario from the checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from semnet import __version__
from semnet.errors import SemnetError
from semnet.fl.loop.resume import FORMAT, RESUME_CHECKPOINT, call_file, scenario_digest
from semnet.metrics.rundir import check_target, run_state


def load_resume_point(run_dir: str | Path) -> tuple[Path, dict]:
    """The scenario file and checkpoint of the interrupted run in ``run_dir``; raises
    :class:`SemnetError` (one line) when it cannot be resumed."""
    path = Path(run_dir)
    state = run_state(path)
    if state is None:
        raise SemnetError(f"--resume {path}: no run there (no run files); give a run directory that "
                          "'semnet run' wrote")
    if state["status"] == "complete":
        raise SemnetError(f"--resume {path}: the run has finished (summary.json is there); nothing to resume")
    if state["status"] == "failed":
        error = str(state.get("error") or "")
        error = error if len(error) <= 200 else error[:197] + "..."
        raise SemnetError(f"--resume {path}: the run failed{f' ({error})' if error else ''}; resuming would repeat it: "
                          "change the scenario and start afresh with --overwrite")
    check_target(path, overwrite=True)  # a run still writing there: one line
    scenario_file = path / "scenario.yaml"
    checkpoint_file = path / "checkpoints" / RESUME_CHECKPOINT
    if not checkpoint_file.is_file() or not scenario_file.is_file():
        raise SemnetError(f"--resume {path}: no resume checkpoint (the run stopped before its first one, or "
                          "output.checkpoints is false); start it afresh with --overwrite")
    checkpoint = _load(checkpoint_file)
    if checkpoint.get("format") != FORMAT or checkpoint.get("semnet_version") != __version__:
        raise SemnetError(f"--resume {path}: the checkpoint was written by semnet {checkpoint.get('semnet_version')} "
                          f"(format {checkpoint.get('format')}), this is semnet {__version__} (format {FORMAT}); "
                          "resume it with that version, or start afresh with --overwrite")
    try:
        scenario_text = scenario_file.read_text()
    except (OSError, UnicodeDecodeError):
        scenario_text = None
    if scenario_text is None or checkpoint.get("scenario_sha256") != scenario_digest(scenario_text):
        raise SemnetError(f"--resume {path}: scenario.yaml is not the scenario the checkpoint was written for; "
                          "restore it, or start afresh with --overwrite")
    completed = checkpoint["completed"]
    if not isinstance(completed, int) or isinstance(completed, bool) or completed < 0 \
            or not isinstance(checkpoint["offsets"], dict):
        raise SemnetError(f"--resume: {checkpoint_file} is not a semnet resume checkpoint; start the run afresh "
                          "with --overwrite")
    calls = []
    for index in range(completed):  # each completed call's own file
        call = path / "checkpoints" / call_file(index)
        if not call.is_file():
            raise SemnetError(f"--resume {path}: the checkpoint's call file {call} is missing; start the run "
                              "afresh with --overwrite")
        calls.append(_load(call, what="call"))
    checkpoint["completed"] = calls
    return scenario_file, checkpoint


def _load(checkpoint_file: Path, what: str = "checkpoint") -> dict:
    """A resume checkpoint or call file, read without running code (tensors and plain
    data only: :mod:`semnet.safe_load`); one line for anything else."""
    from semnet.safe_load import load_torch_file

    try:
        checkpoint = load_torch_file(checkpoint_file)
    except SemnetError as err:
        raise SemnetError(f"--resume: {err}; start the run afresh with --overwrite") from None
    keys = {"completed", "offsets"} if what == "checkpoint" else {"strategy", "ctx", "shared"}
    if not isinstance(checkpoint, dict) or not keys <= set(checkpoint):
        raise SemnetError(f"--resume: {checkpoint_file} is not a semnet resume {what}; start the run afresh "
                          "with --overwrite")
    _check_simulator(checkpoint_file, checkpoint.get("partial") if what == "checkpoint" else checkpoint)
    return checkpoint


def _check_simulator(checkpoint_file: Path, snapshot) -> None:
    """The one object graph a checkpoint carries as bytes, its simulator's medium, holds
    only the classes a medium is made of (checked here, before the run starts)."""
    from semnet.safe_load import CHECKPOINT_RULE, unreadable_reason
    from semnet.sim.medium_state import check_medium_state

    if snapshot is None:
        return
    try:
        medium = snapshot["ctx"]["sim"]["medium"]
        check_medium_state(medium)
    except Exception as err:  # noqa: BLE001 - a missing key, a torn or unsafe pickle: the same line
        why = unreadable_reason(err) if not isinstance(err, (KeyError, TypeError)) else "no simulator state"
        raise SemnetError(f"--resume: cannot read {checkpoint_file}: its simulator state: {why} "
                          f"({CHECKPOINT_RULE}); start the run afresh with --overwrite") from None


def resume_run(run_dir: str | Path, progress=None):
    """Continue the interrupted run in ``run_dir``; returns the runner's ``RunResult``."""
    from semnet.runner import run_scenario
    from semnet.scenario import load_scenario

    scenario_file, checkpoint = load_resume_point(run_dir)
    scenario = load_scenario(scenario_file)
    return run_scenario(scenario, out_dir=run_dir, progress=progress, resume=checkpoint)
