"""Capture and restore, in place, the state a round strategy keeps between rounds.

A resumed run re-executes its method's code, so every strategy object is built
again, with the same structure, by the same code; what differs is the values its
rounds changed. :func:`capture` walks an object's attributes and records those
values (module and optimiser state dicts, tensors, random generators, numbers,
containers of them); :func:`restore` writes them back *into the objects already
there*, so that a model shared with the method's other phases (a global model, the
personal models) is the same object, with the checkpoint's weights.

Skipped on purpose: the run context (it is checkpointed on its own), pydantic specs
(immutable settings), codecs' bookkeeping owned by the context, and callables.
An object with ``state()``/``load_state()`` (a batch stream) is checkpointed through them.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel
from torch import nn

_SCALARS = (int, float, complex, str, bool, bytes, type(None))


class SnapshotError(RuntimeError):
    """A strategy holds state that cannot be restored in place (see the message)."""


@functools.cache
def _owned_elsewhere() -> tuple[type, ...]:
    """Types a strategy refers to but the context checkpoints (imported late: the
    context imports the strategies' modules)."""
    from semnet.codecs import MessageCodecs
    from semnet.fl.loop.context import RunContext, StrategyView

    return RunContext, StrategyView, MessageCodecs, BaseModel, type


def _skipped(value: Any) -> bool:
    return (isinstance(value, _owned_elsewhere()) or callable(value)
            and not isinstance(value, (nn.Module, torch.optim.Optimizer)) and not hasattr(value, "state_dict"))


def capture(value: Any, *, exclude: tuple[str, ...] = (), _seen: set | None = None) -> Any:
    """The restorable values in ``value`` (a strategy): see the module docstring.
    ``exclude`` names top-level attributes not to capture."""
    seen = set() if _seen is None else _seen
    if isinstance(value, _SCALARS):
        return ("value", value)
    if id(value) in seen:
        return ("seen",)
    if _skipped(value):
        return ("skip",)
    seen.add(id(value))
    if isinstance(value, nn.Module):
        return ("module", {k: v.detach().cpu().clone() for k, v in value.state_dict().items()})
    if isinstance(value, torch.Tensor):
        return ("tensor", value.detach().cpu().clone(), str(value.device))
    if isinstance(value, torch.Generator):
        return ("torch_generator", value.get_state())
    if isinstance(value, np.random.Generator):
        return ("numpy_generator", copy.deepcopy(value.bit_generator.state))
    if isinstance(value, torch.optim.Optimizer) or (hasattr(value, "state_dict") and hasattr(value, "load_state_dict")):
        return ("state_dict", copy.deepcopy(value.state_dict()))
    if hasattr(value, "state") and hasattr(value, "load_state") and callable(value.state):
        return ("state", value.state())
    if isinstance(value, dict):
        return ("dict", [(k, capture(v, _seen=seen)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return ("list" if isinstance(value, list) else "tuple", [capture(v, _seen=seen) for v in value])
    if isinstance(value, (set, frozenset)) and all(isinstance(v, _SCALARS) for v in value):
        return ("value", copy.copy(value))
    attrs = _attributes(value)
    if attrs is None:
        raise SnapshotError(f"cannot checkpoint a {type(value).__name__}: give its owner state()/load_state()")
    return ("object", {name: capture(v, _seen=seen) for name, v in attrs.items() if name not in exclude})


def _attributes(value: Any) -> dict | None:
    if hasattr(value, "__dict__"):
        return dict(vars(value))
    slots = [s for cls in type(value).__mro__ for s in getattr(cls, "__slots__", ())]
    if slots:
        return {s: getattr(value, s) for s in slots if hasattr(value, s)}
    return None


def restore(target: Any, snap: tuple, where: str = "strategy") -> Any:
    """Write ``snap`` (from :func:`capture`) into ``target`` in place where it is
    mutable; return the value to keep (``target`` itself, or a new immutable value)."""
    kind = snap[0]
    if kind in ("seen", "skip"):
        return target
    if kind == "value":
        return copy.copy(snap[1])
    if kind == "module":
        if not isinstance(target, nn.Module):
            raise SnapshotError(f"cannot restore {where}: the checkpoint holds a module that the resumed run "
                                "has not built (hold such per-round data in the strategy's round_scoped)")
        target.load_state_dict(snap[1])
        return target
    if kind == "tensor":
        value, device = snap[1], snap[2]
        if isinstance(target, torch.Tensor) and target.shape == value.shape and target.dtype == value.dtype:
            with torch.no_grad():
                target.copy_(value)
            return target
        return value.to(device)
    if kind == "torch_generator":
        if isinstance(target, torch.Generator):
            target.set_state(snap[1])
            return target
        generator = torch.Generator()
        generator.set_state(snap[1])
        return generator
    if kind == "numpy_generator":
        generator = target if isinstance(target, np.random.Generator) else np.random.default_rng()
        generator.bit_generator.state = snap[1]
        return generator
    if kind == "state_dict":
        if target is None:
            raise SnapshotError(f"cannot restore {where}: the resumed run has no object to load its state into")
        target.load_state_dict(copy.deepcopy(snap[1]))
        return target
    if kind == "state":
        target.load_state(snap[1])
        return target
    if kind == "dict":
        out = target if isinstance(target, dict) else {}
        keys = set()
        for key, sub in snap[1]:
            keys.add(key)
            out[key] = restore(out.get(key), sub, f"{where}[{key!r}]")
        for key in [k for k in out if k not in keys]:
            del out[key]
        return out
    if kind in ("list", "tuple"):
        old = list(target) if isinstance(target, (list, tuple)) else []
        items = [restore(old[n] if n < len(old) else None, sub, f"{where}[{n}]") for n, sub in enumerate(snap[1])]
        if kind == "tuple":
            return tuple(items)
        if isinstance(target, list):
            target[:] = items
            return target
        return items
    if kind == "object":
        if target is None:
            raise SnapshotError(f"cannot restore {where}: the resumed run has not built this object")
        for name, sub in snap[1].items():
            setattr(target, name, restore(getattr(target, name, None), sub, f"{where}.{name}"))
        return target
    raise SnapshotError(f"unknown snapshot kind {kind!r} at {where}")
