"""Which model versions each node holds: a model is sent only to a node that lacks it.

A model's *version* is a digest of its weights (:func:`version_of`), so it changes
exactly when its weights change (an aggregation, a training step) and two copies with
the same weights (each receiver's decoder ``D_j`` right after a federated start and
the global decoder) are one version. Every branch of a run keeps one
:class:`Holdings` (in its :class:`~semnet.fl.loop.context.RunContext`, checkpointed with it).

The protocol (``docs/design``: one protocol for bytes):

* a strategy asks :meth:`Holdings.holds` before it plans a download and leaves the
  message out when the node holds that version;
* a plan names the versions its downloads carry (``ClientPlan.receives``); the node
  holds them once the task has finished in time (the sender learns it from the reply;
  a task lost to an outage or the deadline leaves the node without them);
* with a lossy codec a node holds the version *as it decoded it*: the strategy keeps
  that copy (:meth:`Holdings.keep_copy`) and trains from it when the download is left
  out later; with a lossless codec the owner's model, at that version, is the copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Sequence

import torch
from torch import Tensor, nn


def version_of(module: nn.Module) -> str:
    """The version of ``module``: a digest of the floating-point state it would send
    (shapes and bytes, in state-dict order)."""
    digest = hashlib.blake2b(digest_size=16)
    for tensor in module.state_dict().values():
        if not tensor.is_floating_point():
            continue
        flat = tensor.detach().reshape(-1).cpu().contiguous()
        digest.update(f"{tuple(tensor.shape)}{flat.dtype}".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class Holdings:
    """The versions each node holds, and the decoded copies lossy codecs left them.

    ``held``: node -> versions it holds (it keeps what it received); ``copies``: node ->
    slot -> (version, tensors), one decoded copy per slot (e.g. ``global.decoder``,
    ``decoder/3``), the latest received.
    """

    def __init__(self):
        self.held: dict[Hashable, set[str]] = {}
        self.copies: dict[Hashable, dict[str, tuple[str, list[Tensor]]]] = {}

    def holds(self, node: Hashable, *versions: str) -> bool:
        """Whether ``node`` holds every one of ``versions``."""
        have = self.held.get(node, ())
        return all(v in have for v in versions)

    def give(self, node: Hashable, versions: Iterable[str]) -> None:
        """``node`` now holds ``versions`` (its task carrying them got through)."""
        self.held.setdefault(node, set()).update(versions)

    def give_all(self, nodes: Iterable[Hashable], versions: Sequence[str]) -> None:
        for node in nodes:
            self.give(node, versions)

    def keep_copy(self, node: Hashable, slot: str, version: str, tensors: Sequence[Tensor]) -> None:
        """What ``node`` decoded of ``version`` (a lossy codec): it trains from this copy
        whenever the version is not sent again."""
        self.copies.setdefault(node, {})[slot] = (version, [t.detach().clone() for t in tensors])

    def copy(self, node: Hashable, version: str) -> list[Tensor] | None:
        """``node``'s decoded copy of ``version``, if a lossy codec left it one (None: it
        holds the version exactly, or not at all)."""
        for kept, tensors in self.copies.get(node, {}).values():
            if kept == version:
                return [t.clone() for t in tensors]
        return None

    def clone(self) -> "Holdings":
        other = Holdings()
        other.load_state(self.state())
        return other

    def state(self) -> dict:
        return {
            "held": {node: sorted(versions) for node, versions in self.held.items()},
            "copies": {node: {slot: (v, [(t.detach().cpu().clone(), str(t.device)) for t in tensors])
                              for slot, (v, tensors) in slots.items()}
                       for node, slots in self.copies.items()},
        }

    def load_state(self, state: dict) -> None:
        self.held = {node: set(versions) for node, versions in state["held"].items()}
        self.copies = {node: {slot: (v, [t.to(device) for t, device in tensors]) for slot, (v, tensors) in slots.items()}
                       for node, slots in state["copies"].items()}


# --------------------------------------------------------------------------- models made of parts


def versions_of(parts: Sequence[nn.Module]) -> tuple[str, ...]:
    """The versions of a model sent as ``parts`` (the global model: encoder, decoder),
    one per part, so that a decoder copied from the global one is the version a node
    got with the global model."""
    return tuple(version_of(part) for part in parts)


def held_state(holdings: Holdings, node: Hashable, versions: Sequence[str],
               parts: Sequence[nn.Module]) -> list[Tensor] | None:
    """The state ``node`` holds of the model made of ``parts`` at ``versions`` (it must
    hold them): its decoded copy of each part where a lossy codec left one, the part
    itself elsewhere; None when it holds every part exactly."""
    copies = [holdings.copy(node, v) for v in versions]
    if all(c is None for c in copies):
        return None
    return [t for c, part in zip(copies, parts, strict=True)
            for t in (c if c is not None else _floating(part))]


def keep_state(holdings: Holdings, node: Hashable, slots: Sequence[str], versions: Sequence[str],
               parts: Sequence[nn.Module], tensors: Sequence[Tensor]) -> None:
    """Keep what ``node`` decoded of the model made of ``parts`` (``tensors``: the parts'
    floating-point states one after another), part by part under ``slots``."""
    start = 0
    for slot, version, part in zip(slots, versions, parts, strict=True):
        count = len(_floating(part))
        holdings.keep_copy(node, slot, version, tensors[start:start + count])
        start += count


def _floating(module: nn.Module) -> list[Tensor]:
    return [t.detach().clone() for t in module.state_dict().values() if t.is_floating_point()]
