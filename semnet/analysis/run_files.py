"""The files of a finished run directory, read with one line for anything unreadable:
``summary.json`` (through :mod:`semnet.summary`), ``scenario.yaml`` and
``metrics.jsonl`` (or its gzip copy)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import yaml

from semnet.summary import SummaryError, read_summary_json

METRICS = "metrics.jsonl"


class AnalysisError(Exception):
    """A user's input the analysis cannot use (no runs found, unknown key, ...)."""



def read_scenario(file: Path) -> dict:
    """A run's resolved ``scenario.yaml`` as a mapping; {} where there is none."""
    if not file.is_file():
        return {}
    try:
        scenario = yaml.safe_load(file.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, RecursionError) as err:
        raise AnalysisError(f"'{file}' is not a readable scenario ({type(err).__name__})") from None
    if not isinstance(scenario, dict):
        raise AnalysisError(f"'{file}' is not a scenario (a mapping of sections)")
    return scenario


def read_metrics(path: Path) -> list[dict]:
    """The records of a run directory's ``metrics.jsonl`` (or its gzip copy), in order."""
    metrics: list[dict] = []
    try:
        for line in _metrics_text(path).splitlines():
            if line.strip():
                metrics.append(json.loads(line))
    except (OSError, UnicodeDecodeError, ValueError, EOFError) as err:  # EOFError: a torn .gz
        raise AnalysisError(f"'{path}': its metrics are not readable JSON lines ({_why(err)})") from None
    if any(not isinstance(record, dict) for record in metrics):
        raise AnalysisError(f"'{path}': its metrics hold a line that is not a record (a JSON object)")
    return metrics


def read_summary(file: str | Path) -> dict:
    """A run's ``summary.json``: a JSON object; one-line :class:`AnalysisError` for a file
    that is torn, binary, or not one."""
    file = Path(file)
    try:
        summary = read_summary_json(file)  # bounded, strict JSON, an object
    except SummaryError as err:
        raise AnalysisError(f"{err}; run the scenario again or remove that directory") from None
    for key, kind in _SUMMARY_SHAPES.items():
        value = summary.get(key)
        fits = value is None or (isinstance(value, dict) if kind is dict else
                                 isinstance(value, list) and all(isinstance(item, dict) for item in value))
        if not fits:
            what = "an object" if kind is dict else "a list of objects"
            raise AnalysisError(f"'{file}' is not a summary semnet wrote: '{key}' should be {what}, it holds a "
                                f"{type(value).__name__}; run the scenario again or remove that directory")
    return summary


# the sections of a summary that readers walk into, and what each must be
_SUMMARY_SHAPES = {"network": dict, "delivery": dict, "energy": dict, "traffic": dict, "channel_over_time": dict,
                   "phases": list, "controls": list, "links": list, "test_snr_sweep": list}


def _why(err: BaseException) -> str:
    if isinstance(err, UnicodeDecodeError):
        return f"not UTF-8 text: byte 0x{err.object[err.start]:02x} at offset {err.start}"
    if isinstance(err, json.JSONDecodeError):
        return f"not JSON: {err.msg} (line {err.lineno} column {err.colno})"
    if isinstance(err, OSError):
        return err.strerror or type(err).__name__
    return type(err).__name__


def _metrics_text(path: Path) -> str:
    """``metrics.jsonl`` of a run directory, or its gzip copy (records kept compressed); "" if neither."""
    if (path / METRICS).is_file():
        return (path / METRICS).read_text()
    if (path / f"{METRICS}.gz").is_file():
        return gzip.decompress((path / f"{METRICS}.gz").read_bytes()).decode()
    return ""
