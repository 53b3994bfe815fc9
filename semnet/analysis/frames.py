"""Run directories as pandas DataFrames: one row per run, per phase, or per link.

The three frames are read with the same reader as the tables and figures
(:func:`semnet.analysis.runs.load_run`), so they find the same runs: each path is a
run directory or a folder searched recursively for ``summary.json``; a folder
without it (a run still going, or one that was interrupted) is skipped. Every frame
starts with the same four columns, which identify the run and join the frames:

``run_dir``
    The run directory (absolute path, str).
``name``
    The scenario's name.
``method``
    The method, ``<name>@<algorithm>`` when its global model came from a federated
    algorithm other than FedAvg (as in the methods table).
``seed``
    The scenario seed (nullable integer).

Units follow the run files: PSNR in dB, SSIM in 0..1, bytes in bytes, simulated and
wall times in seconds. A value the run does not have is NaN (None for text).

Examples
--------
>>> from semnet.analysis import runs_frame, phases_frame, links_frame     # doctest: +SKIP
>>> runs = runs_frame("results/quickstart")                                # doctest: +SKIP
>>> runs.groupby("method")[["psnr_db", "bytes_total"]].mean()             # doctest: +SKIP
>>> phases = phases_frame("results/paper")                                 # doctest: +SKIP
>>> phases[phases.kind == "control"][["method", "phase", "psnr_db", "bytes_cumulative"]]  # doctest: +SKIP
>>> links_frame("results/quickstart").plot.scatter("snr_db", "psnr_db")   # doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Sequence, Union

import pandas as pd

from semnet.outcomes import ENERGIES, IMAGES, branch_outcomes, image_outcomes, phase_outcomes
from semnet.summary import PhaseSummary

from .runs import CONTROL_BRANCH_PREFIX, MAIN_BRANCH, Run, find_run_dirs, load_run, scenario_value, variants_of

#: Columns that identify a run; every frame starts with them.
RUN_COLUMNS = ("run_dir", "name", "method", "seed")

#: ``runs_frame`` columns before the summary's other fields.
RUNS_COLUMNS = RUN_COLUMNS + (
    "status", "psnr_db", "worst_link_psnr_db", "ssim", "bytes_total", "sim_time_s", "wall_time_s",
    "local_steps", "n_phases", "n_controls", "n_links", *IMAGES, *ENERGIES,
)
#: ``phases_frame`` columns before a phase record's other fields.
PHASES_COLUMNS = RUN_COLUMNS + (
    "order", "phase", "kind", "branch", "psnr_db", "worst_link_psnr_db", "ssim", "bytes", "bytes_cumulative",
    "sim_time_s", "sim_time_end_s", "local_steps", "rounds", "wall_time_s", *IMAGES, *ENERGIES,
)
#: ``links_frame`` columns before a link record's other fields.
LINKS_COLUMNS = RUN_COLUMNS + ("label", "kind", "phase", "src", "dst", "images", "snr_db", "psnr_db", "ssim")

# Summary fields that are numbers; None in the file (a NaN the runner wrote as null) reads as NaN.
_RUN_NUMBERS = ("psnr_db", "worst_link_psnr_db", "ssim", "bytes_total", "sim_time_s", "wall_time_s", "local_steps")
_PHASE_NUMBERS = ("psnr_db", "worst_link_psnr_db", "ssim", "bytes", "sim_time_s", "local_steps", "rounds",
                  "wall_time_s")
_LINK_NUMBERS = ("images", "snr_db", "psnr_db", "ssim")

#: What the frames read: run directories, folders of them, loaded runs, or several of these.
Paths = Union[str, Path, Run, Iterable[Union[str, Path, Run]]]

def runs_frame(paths: Paths, *, scenario_keys: Sequence[str] = ()) -> pd.DataFrame:
    """One row per finished run: its final quality and its total cost.

    Parameters
    ----------
    paths : str, Path, Run or iterable of them
        Run directories, folders searched recursively for them, or runs already
        loaded with :func:`semnet.analysis.runs.load_runs`.
    scenario_keys : sequence of str, optional
        Dotted keys of the resolved scenario (``links.snr_offset_db``,
        ``topology.num_users``) to add as columns named by the key, e.g. the
        parameters a sweep varied; None where a run's scenario lacks the key.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RUNS_COLUMNS`, then the summary's other scalar fields
        (``messages_total``, ``device``, ...), then the scalar fields of its
        sections as ``<section>.<field>`` (``network.users``,
        ``network.snr_db_mean``, ``model.bandwidth_ratio``, ...), then
        ``scenario_keys``. ``psnr_db``, ``worst_link_psnr_db`` and ``ssim`` (dB,
        dB, 0..1) are the final model's, the mean over image links;
        ``bytes_total``, ``sim_time_s`` and ``local_steps`` count the whole run,
        FineFed's control branches excluded; ``wall_time_s`` is the whole run's
        wall seconds as the summary has it (set-up and controls included, unlike
        the methods table's, which adds the phases only: see
        :func:`phases_frame`). ``n_phases``, ``n_controls`` and ``n_links`` count
        the summary's phases, FineFed controls and image links. The live images'
        outcomes (``images``, ``image_loss_share``, ``delivered_psnr_db``,
        ``delivered_psnr_p5_db``, ``latency_p50_s``, ``latency_p99_s``) and the
        energies (``energy_j``, ``radio_energy_j``, ``users_energy_j``,
        ``aggregator_energy_j``) are the main branch's, as
        :mod:`semnet.outcomes` defines them; NaN in runs without ``traffic:`` or
        energy accounting. Rows are sorted
        by run directory; with no finished run, the frame is empty but has the
        columns.

    Raises
    ------
    semnet.analysis.runs.AnalysisError
        If a path does not exist or is a file other than ``summary.json``.
    """
    rows = []
    for run in _runs(paths):
        typed, s = run.typed, run.summary
        row = {
            **_ids(run),
            "status": typed.status,
            **{k: _num(getattr(typed, k)) for k in _RUN_NUMBERS},
            "n_phases": len(typed.phases),
            "n_controls": len(typed.controls),
            "n_links": len(typed.links),
            **branch_outcomes(typed, MAIN_BRANCH),
        }
        _add_scalars(row, s)
        for section, value in s.items():
            if isinstance(value, dict):  # network, model, data, ...: one level, scalars only
                _add_scalars(row, value, prefix=f"{section}.")
        for key in scenario_keys:
            row[key] = scenario_value(run, key)
        rows.append(row)
    return _frame(rows, RUNS_COLUMNS, tail=tuple(scenario_keys))


def phases_frame(paths: Paths, *, controls: bool = True) -> pd.DataFrame:
    """One row per phase of each run, and per FineFed control branch, in run order.

    A run's phases are its steps on the main branch (a federated start, then for
    FineFed each fine-tuning phase; ``summary.json``'s ``phases``). FineFed's
    fair-comparison controls (``summary.json``'s ``controls``) continue from the
    federated start on a branch of their own; they come after the phases, with
    ``kind`` ``"control"``.

    Parameters
    ----------
    paths : str, Path, Run or iterable of them
        Run directories, folders searched recursively for them, or loaded runs.
    controls : bool, optional
        Include the control rows (default True).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PHASES_COLUMNS`, then the records' other scalar fields
        (``validation_psnr_db``, ``converged``, ...). ``order`` numbers a run's
        rows from 0 (phases first, then controls); ``phase`` is the phase's or
        control's name; ``kind`` is ``"phase"`` or ``"control"``; ``branch`` the
        ``metrics.jsonl`` branch that traces the row (``"main"`` or
        ``"control_<name>"``). Quality (dB, dB, 0..1) is at the end of the phase.
        ``bytes``, ``sim_time_s``, ``local_steps``, ``rounds`` and
        ``wall_time_s`` are the row's own; ``bytes_cumulative`` and
        ``sim_time_end_s`` count from the start of the run: for a control, the
        federated start's plus the control's own (the methods table's
        convention, since a control branch keeps its own counters), NaN where the
        run has no federated start to add it to. The live images' outcomes and
        the energies (as in :func:`runs_frame`) are the row's own: the images that
        travelled during the phase, or on the control's branch.
    """
    rows = []
    for run in _runs(paths):
        typed = run.typed
        for order, record in enumerate(typed.phases):
            rows.append(_phase_row(run, order, record, kind="phase", branch=MAIN_BRANCH,
                                   cumulative=(record.bytes_cumulative, record.sim_time_end_s),
                                   outcomes=phase_outcomes(typed, record.name)))
        if not controls:
            continue
        # The control variants carry the costs from the start of the run; use them, not a second sum.
        from_start = {v.phase: v.values for v in variants_of(run) if v.kind == "control"}
        for k, record in enumerate(typed.controls):
            values = from_start.get(record.name)
            cumulative = (None, None) if values is None else (values["bytes"], values["sim_time_s"])
            branch = f"{CONTROL_BRANCH_PREFIX}{record.name}"
            rows.append(_phase_row(run, len(typed.phases) + k, record, kind="control", branch=branch,
                                   cumulative=cumulative, outcomes=branch_outcomes(typed, branch)))
    return _frame(rows, PHASES_COLUMNS)


def links_frame(paths: Paths, *, controls: bool = False, phases: bool = False) -> pd.DataFrame:
    """One row per image link of each run: the link's SNR and the quality of the
    images sent over it by the run's final models.

    Parameters
    ----------
    paths : str, Path, Run or iterable of them
        Run directories, folders searched recursively for them, or loaded runs.
    controls : bool, optional
        Also add the links as each FineFed control's models served them, one set
        of rows per control (default False: exactly one row per link per run).
    phases : bool, optional
        Also add the links at the end of every phase but the last (the federated
        start, each fine-tuning step), ``kind`` ``"phase"``; runs written before
        phases kept their links add none (default False).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LINKS_COLUMNS`, then the link records' other scalar
        fields. ``label`` is the methods-table row the values belong to
        (``finefed``, ``finefed/compute_matched``); ``kind`` is ``"final"`` or
        ``"control"``; ``phase`` the phase or control whose models were
        evaluated; ``src`` and ``dst`` the sending and receiving users;
        ``images`` the test images sent; ``snr_db`` the link's mean SNR (dB);
        ``psnr_db`` and ``ssim`` the received images' quality (dB, 0..1). With
        ``phases``, ``label`` of a phase row is ``<method>/<phase>``. Runs with
        live images (``traffic:``) add what that link's images met during the
        row's phase, on the row's branch (:mod:`semnet.outcomes`):
        ``live_images``, ``image_loss_share``, ``delivered_psnr_db``,
        ``delivered_psnr_p5_db``, ``latency_p50_s``, ``latency_p99_s``; NaN
        without.
    """
    rows = []
    for run in _runs(paths):
        if phases:
            for record in run.typed.phases[:-1]:  # the last phase's are the final rows
                for link in record.links:
                    row = {**_ids(run), "label": f"{run.method}/{record.name}", "kind": "phase",
                           "phase": record.name, "src": link.src, "dst": link.dst,
                           **{k: _num(getattr(link, k)) for k in _LINK_NUMBERS},
                           **_link_images(run, MAIN_BRANCH, record.name, link.src, link.dst)}
                    _add_scalars(row, link.model_dump(mode="json", exclude_unset=True))
                    rows.append(row)
        for variant in variants_of(run):
            if variant.kind == "final" or (controls and variant.kind == "control"):
                for link in variant.links:
                    row = {**_ids(run), "label": variant.label, "kind": variant.kind, "phase": variant.phase,
                           "src": link.get("src"), "dst": link.get("dst"),
                           **{k: _num(link.get(k)) for k in _LINK_NUMBERS},
                           **_link_images(run, variant.branch, variant.phase, link.get("src"), link.get("dst"))}
                    _add_scalars(row, link)
                    rows.append(row)
    return _frame(rows, LINKS_COLUMNS)


# ---------------------------------------------------------------------- helpers


def _link_images(run: Run, branch: str, phase: str, src, dst) -> dict:
    """One link's live-image outcomes in one phase of one branch (``images`` renamed
    ``live_images``: this frame's ``images`` counts test images)."""
    traffic = run.typed.traffic
    stats = None
    if traffic is not None and branch in traffic.branches:
        record = traffic.branches[branch].phases.get(phase)
        if record is not None:
            stats = next((q for q in record.links if (q.src, q.dst) == (src, dst)), None)
    out = image_outcomes(stats)
    out["live_images"] = out.pop("images")
    return out


def _runs(paths: Paths) -> list[Run]:
    """Loaded runs from paths and/or runs; folders without a finished run add none."""
    if isinstance(paths, (str, Path, Run)):
        paths = [paths]
    items = list(paths)
    loaded = [r for r in items if isinstance(r, Run)]
    dirs = find_run_dirs([p for p in items if not isinstance(p, Run)])
    runs = loaded + [load_run(d) for d in dirs]
    return sorted(runs, key=lambda r: str(r.path))


def _ids(run: Run) -> dict:
    return {"run_dir": str(run.path), "name": run.name, "method": run.method, "seed": run.seed}


def _num(value) -> float:
    return math.nan if value is None else float(value)


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _add_scalars(row: dict, record: dict, prefix: str = "") -> None:
    """Copy the record's scalar fields not yet in ``row`` (lists and sections are left out)."""
    for key, value in record.items():
        column = f"{prefix}{key}"
        if column not in row and _is_scalar(value):
            row[column] = value


def _phase_row(run: Run, order: int, record: PhaseSummary, *, kind: str, branch: str, cumulative: tuple,
               outcomes: dict) -> dict:
    row = {**_ids(run), "order": order, "phase": record.name, "kind": kind, "branch": branch,
           **{k: _num(getattr(record, k)) for k in _PHASE_NUMBERS},
           "bytes_cumulative": _num(cumulative[0]), "sim_time_end_s": _num(cumulative[1]),
           **{k: outcomes[k] for k in IMAGES + ENERGIES}}
    # ``name`` is the run's; the record's own name is in ``phase``.
    _add_scalars(row, {k: v for k, v in record.model_dump(mode="json", exclude_unset=True).items() if k != "name"})
    return row


def _frame(rows: list[dict], head: Sequence[str], tail: Sequence[str] = ()) -> pd.DataFrame:
    """Rows as a frame: ``head`` columns first, then other columns in first-seen order, ``tail`` last."""
    seen = dict.fromkeys(head)
    for row in rows:
        seen.update(dict.fromkeys(k for k in row if k not in tail))
    seen.update(dict.fromkeys(tail))
    frame = pd.DataFrame(rows, columns=list(seen))
    frame["seed"] = frame["seed"].astype("Int64")  # None for a run without a seed, ints otherwise
    return frame
