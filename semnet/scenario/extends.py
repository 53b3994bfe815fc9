"""Read a scenario file and the files it ``extends:``.

``extends: base.yaml`` starts from another scenario; ``extends: [base.yaml, a.yaml,
b.yaml]`` starts from several, merged in order (a later entry wins), and the file's
own keys go over the result. Mappings merge key by key, lists and values replace, and
a ``topology`` of another kind drops the keys of the kind it replaces. Every mistake is
one ``ScenarioError`` line naming the file and the entry at fault.
"""

from __future__ import annotations

import copy
from pathlib import Path

from semnet.errors import ScenarioError
from semnet.scenario.topology import inherit as inherit_topology
from semnet.scenario.yaml_text import MAX_EXTENDS, MAX_FILE_BYTES, YamlLimitError, load_yaml_text
from semnet.scenario.yaml_text import short_repr as _short


def read_yaml(path: str | Path, _chain: tuple = (), _read: list | None = None) -> dict:
    """Load a scenario mapping with the safe loader, its ``extends:`` resolved; one-line
    errors for missing or bad files.

    ``extends`` paths are relative to the file that names them. A file over
    :data:`MAX_FILE_BYTES`, or over the other limits of its YAML, is refused before it
    is read; a scenario that reads more than :data:`MAX_EXTENDS` files through its
    ``extends`` (a chain, lists, or both) is refused too, so a file listing the same
    parent many times over cannot make the read grow exponentially.
    """
    path = Path(path)
    data = _read_mapping(path)
    entries = data.pop("extends", None)
    if entries is None:
        return data
    read = [0] if _read is None else _read  # files read for this scenario so far, shared down the tree
    if isinstance(entries, str):
        labelled = [("extends", entries)]
    elif isinstance(entries, list) and entries:
        labelled = [(f"extends[{i}]", entry) for i, entry in enumerate(entries)]
    else:
        raise ScenarioError(f"{path}: extends = {_short(entries)}: expected the path of another scenario file, "
                            "or a list of them (later ones win)")
    merged = None
    for label, entry in labelled:
        parent = _read_parent(path, label, entry, _chain, read)
        merged = parent if merged is None else _merge_over(merged, parent)
    return _merge_over(merged, data)


def deep_merge(base: dict, update: dict) -> dict:
    """``update`` over ``base``: mappings merge key by key, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_over(base: dict, update: dict) -> dict:
    """``update`` deep-merged over ``base``; a topology of another kind drops the old kind's keys."""
    merged = deep_merge(base, update)
    if isinstance(merged.get("topology"), dict):
        merged["topology"] = inherit_topology(base.get("topology"), merged["topology"], update.get("topology") or ())
    return merged


def _read_parent(path: Path, label: str, entry, chain: tuple, read: list) -> dict:
    """The scenario ``entry`` (the value of ``label`` in ``path``) names, its own extends resolved."""
    if not isinstance(entry, str):
        raise ScenarioError(f"{path}: {label} = {_short(entry)}: expected the path of another scenario file")
    base_path = (path.parent / entry).resolve()
    if base_path in chain or base_path == path.resolve():
        raise ScenarioError(f"{path}: {label} = {_short(entry)} makes a cycle")
    read[0] += 1
    if len(chain) >= MAX_EXTENDS or read[0] > MAX_EXTENDS:
        raise ScenarioError(f"{path}: {label} = {_short(entry)}: more than {MAX_EXTENDS} files extend each other")
    if not base_path.is_file():
        raise ScenarioError(f"{path}: {label} = {_short(entry)}: no such scenario file ({base_path})")
    try:
        return read_yaml(base_path, chain + (path.resolve(),), read)
    except ScenarioError as err:
        raise ScenarioError(f"{path}: {label} = {_short(entry)}: {err}") from None


def _read_mapping(path: Path) -> dict:
    """The top-level mapping of the YAML file at ``path`` (``{}`` for an empty file)."""
    if path.is_dir():
        raise ScenarioError(f"{path}: is a directory, not a scenario file")
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file does not exist")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read the file ({err.strerror or type(err).__name__})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise YamlLimitError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes, the most a scenario or sweep file "
                             "may have") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ScenarioError(
            f"{path}: not a UTF-8 text file (byte 0x{err.object[err.start]:02x} at offset {err.start})"
        ) from None
    data = load_yaml_text(text, str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: the top level must be a mapping of sections, got {type(data).__name__}")
    return data
