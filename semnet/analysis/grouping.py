"""Like with like: which runs may be averaged together, and groups the user asks for.

Runs are averaged over seeds only. Two runs of one method that differ in any other
setting of their resolved scenario (``scenario.yaml``) are different settings, and
the tables and figures of ``semnet analyse`` refuse to pool them silently: the user
either separates them (``--group-by KEY``: the scenario's ``name`` or any dotted key,
several allowed) or asks for the pool (``--pool``), and the output then names what
differed.

Settings that never make two runs different: the seed, the scenario's ``name`` and
``description`` (a group-by key of their own), the ``output`` section and how the run
was executed (``simulation.workers``, ``threads``, ``device``, ``trainer``, ``backend``),
which do not change what is computed. ``model.checkpoint`` differs between seeds when
each seed continues its own start (a sweep zipping the seed with the checkpoint): it
counts as a difference only where it does not go one-to-one with the seed.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from typing import Iterable, Mapping

from .run_files import AnalysisError
from .runs import Run

#: Keys (and sections, by prefix) that never make two runs different settings.
IGNORED = ("seed", "name", "description", "output", "simulation.workers", "simulation.threads",
           "simulation.device", "simulation.trainer", "simulation.backend")
#: Keys that may differ with the seed, one value per seed.
SEED_BOUND = ("model.checkpoint",)
#: ``--group-by`` spellings of the scenario's name.
NAME_KEYS = ("name", "scenario")


def flat_settings(run: Run) -> dict[str, str]:
    """The resolved scenario as ``dotted.key -> JSON text`` of each leaf (lists are leaves)."""
    out: dict[str, str] = {}

    def walk(node, prefix: str) -> None:
        if isinstance(node, Mapping) and node:
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            out[prefix[:-1]] = json.dumps(node, sort_keys=True, default=str)

    walk(run.scenario, "")
    return out


def _ignored(key: str, allowed: Iterable[str]) -> bool:
    return any(key == k or key.startswith(k + ".") for k in (*IGNORED, *allowed))


def differences(runs: list[Run], allowed: Iterable[str] = ()) -> dict[str, list[str]]:
    """Settings in which ``runs`` differ other than the seed (and ``allowed`` keys or
    sections): key -> the distinct values (JSON text), in first-seen order."""
    allowed = tuple(allowed)
    settings = [flat_settings(r) for r in runs]
    keys = sorted({k for s in settings for k in s})
    out: dict[str, list[str]] = {}
    for key in keys:
        if _ignored(key, allowed):
            continue
        values = [s.get(key, "(absent)") for s in settings]
        if len(set(values)) < 2:
            continue
        if key in SEED_BOUND and _one_to_one([r.seed for r in runs], values):
            continue
        out[key] = list(dict.fromkeys(values))
    return out


def _one_to_one(seeds: list, values: list[str]) -> bool:
    by_seed, by_value = defaultdict(set), defaultdict(set)
    for seed, value in zip(seeds, values):
        by_seed[seed].add(value)
        by_value[value].add(seed)
    return all(len(v) == 1 for v in by_seed.values()) and all(len(s) == 1 for s in by_value.values())


def describe(diff: dict[str, list[str]], limit: int = 3) -> str:
    """``links.medium (cell, dedicated), traffic.images_per_s (5.0, 10.0)`` for a message."""
    parts = []
    for key, values in list(diff.items())[:limit]:
        shown = ", ".join(values[:4]) + (", ..." if len(values) > 4 else "")
        parts.append(f"{key} ({shown})")
    more = len(diff) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def check_pooling(buckets: Mapping[str, list[Run]], *, pool: bool, allowed: Iterable[str] = (),
                  what: str = "") -> list[str]:
    """Refuse (one :class:`AnalysisError` line) when the runs of one bucket — one row or
    one point of a figure — differ in anything but the seed; with ``pool``, return one
    note per pooled bucket naming what differed instead."""
    allowed = tuple(allowed)
    notes = []
    for label, runs in buckets.items():
        unique = list({id(r): r for r in runs}.values())
        diff = differences(unique, allowed)
        if not diff:
            continue
        if not pool:
            keys = " ".join(f"--group-by {k}" for k in list(diff)[:2])
            raise AnalysisError(
                f"{what}{': ' if what else ''}the {len(unique)} runs of '{label}' differ in more than the seed: "
                f"{describe(diff)}; separate them with {keys} (or --group-by name), or average them anyway "
                "with --pool")
        notes.append(f"'{label}' pools {len(unique)} runs that differ in {describe(diff, limit=len(diff))}")
    return notes


def group_label(run: Run, keys: Iterable[str]) -> str:
    """``links.medium=cell, traffic.images_per_s=5`` for ``keys``; the scenario's name for
    ``name``; ``(absent)`` where the run's scenario lacks a key."""
    parts = []
    for key in keys:
        if key in NAME_KEYS:
            parts.append(f"name={run.name}")
            continue
        node = run.scenario
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        text = "(absent)" if node is None else (node if isinstance(node, str) else json.dumps(node, default=str))
        parts.append(f"{key}={text}")
    return ", ".join(parts)


def with_groups(runs: list[Run], keys: Iterable[str]) -> list[Run]:
    """``runs`` with each one's ``group`` set from ``keys`` (unchanged without keys).

    Raises
    ------
    AnalysisError
        If a key is set in no run (a misspelt key would otherwise group nothing).
    """
    keys = list(keys)
    if not keys:
        return runs
    known = {k for r in runs for k in flat_settings(r)}
    for key in keys:
        if key in NAME_KEYS:
            continue
        if not any(k == key or k.startswith(key + ".") for k in known):
            raise AnalysisError(f"--group-by {key}: no run's scenario has this key (a dotted key of "
                                "scenario.yaml, e.g. links.medium, or name)")
    return [dataclasses.replace(r, group=group_label(r, keys)) for r in runs]
