"""Read back what semnet wrote without running code from it.

A pickle can name any function and have the reader call it (``__reduce__`` returning
``os.system``), so no file semnet reads back is unpickled freely:

* checkpoints (resume state, completed calls, model checkpoints, data caches) are read
  with ``torch.load(..., weights_only=True)``: tensors and plain data (dict, list,
  tuple, str, int, float, complex, bool, None, bytes) only;
* the one object graph a checkpoint carries as bytes, a simulator's medium between
  rounds, is read by :class:`RestrictedUnpickler`, which builds only the classes its
  owner lists and refuses every other name.

Anything else in a file is refused with one line: ``cannot read FILE: ... (a
checkpoint holds only tensors and plain data)``.
"""

from __future__ import annotations

import io
import pickle
import re
import warnings
from pathlib import Path
from typing import Any, Callable

from semnet.errors import SemnetError

__all__ = ["CHECKPOINT_RULE", "RestrictedUnpickler", "UnreadableFile", "UnsafeData", "load_torch_file", "unreadable_reason"]

CHECKPOINT_RULE = "a checkpoint holds only tensors and plain data"


class UnreadableFile(SemnetError):
    """A file semnet reads back is missing, torn, not a checkpoint or refers to code;
    ``reason`` is the few words why."""

    def __init__(self, path, reason: str):
        super().__init__(f"cannot read {path}: {reason} ({CHECKPOINT_RULE})")
        self.path, self.reason = path, reason


class UnsafeData(pickle.UnpicklingError):
    """A pickle names a function or class that is not allowed (it is never imported or called)."""


def unreadable_reason(err: BaseException) -> str:
    """Why a checkpoint could not be read, in a few words (never torch's paragraph)."""
    text = str(err)
    found = re.search(r"GLOBAL ([\w.]+)", text) or re.search(r"refers to ([\w.]+)", text)
    if found:
        return f"it refers to code ({found.group(1)}), which is never loaded"
    return f"unreadable ({type(err).__name__})"


def load_torch_file(path: str | Path) -> Any:
    """``torch.load`` of ``path`` with ``weights_only=True`` (no code runs); one-line
    :class:`UnreadableFile` (``cannot read PATH: why (a checkpoint holds only ...)``) for a
    file that is missing, torn, not a checkpoint, or that refers to code."""
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about protocols and formats on stderr
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a damaged or unsafe file
        raise UnreadableFile(path, unreadable_reason(err)) from None


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only the classes in ``allowed`` (pairs of module and
    name, classes only: never a function); any other name raises :class:`UnsafeData`
    before it is imported. ``persistent`` resolves persistent ids (objects kept by
    reference)."""

    def __init__(self, data: bytes, allowed: frozenset[tuple[str, str]],
                 persistent: Callable[[Any], Any] | None = None):
        super().__init__(io.BytesIO(data))
        self._allowed = allowed
        self._persistent = persistent

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._allowed:
            raise UnsafeData(f"the data refers to {module}.{name}, which is not allowed")
        found = super().find_class(module, name)
        if not isinstance(found, type):
            raise UnsafeData(f"the data refers to {module}.{name}, which is not a class")
        return found

    def persistent_load(self, pid: Any) -> Any:
        if self._persistent is None:
            raise UnsafeData("the data refers to an object kept elsewhere")
        return self._persistent(pid)
