"""Which encoder and decoder each user runs, over simulated time.

Live images (:mod:`semnet.fl.loop.traffic`) are encoded by the encoder their sender has
deployed when they are sent and decoded by the decoder their receiver has deployed
when they arrive. A strategy says when its models take effect, without knowing the
transport:

* a model a message carries takes effect when the message arrives: the strategy
  marks the message (:meth:`RunContext.deploys <semnet.fl.loop.context.RunContext.deploys>`),
  the network reports the tagged message's arrival, and an outage deploys nothing;
* a model trained or aggregated where it is used takes effect at a time the strategy
  gives (:meth:`RunContext.deploy <semnet.fl.loop.context.RunContext.deploy>`): when the
  local training ends, or when the round's aggregation ends.

A deployed model is kept as a *version*: its state on the CPU at the moment it was
sent or trained, stored once however many users deploy it (states are compared by
content). Each (user, role) has a timeline of (time, version); deployments may be
recorded out of time order (a local training's end is known after a later message's
arrival), so the timeline is kept sorted. Versions that no image can need any more are
dropped (:meth:`Deployments.prune`).
"""

from __future__ import annotations

import bisect
import hashlib

import torch
from torch import nn

ROLES = ("encoder", "decoder")


def state_digest(module: nn.Module) -> str:
    """A digest of ``module``'s state (names, shapes, dtypes and values)."""
    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in module.state_dict().items():
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tuple(value.shape)}|{value.dtype}".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class Deployments:
    """The deployed versions of every user's encoder and decoder (module docstring)."""

    def __init__(self):
        self.states: dict[int, dict] = {}  # version -> state dict on the CPU
        self._by_digest: dict[str, int] = {}
        self._next_version = 0
        # (node, role) -> sorted [(t_s, order, version)]; order breaks ties: the later recorded wins
        self.timeline: dict[tuple, list[tuple[float, int, int]]] = {}
        self._order = 0
        self.pending: dict[int, tuple] = {}  # tag -> (node, encoder version, decoder version, via)
        self._next_tag = 0
        self.new: list[dict] = []  # deployments recorded since the last take_new() (for the records)

    # ------------------------------------------------------------------ versions

    def version_of(self, module: nn.Module | None) -> int | None:
        """The version holding ``module``'s current state (a new one if unseen)."""
        if module is None:
            return None
        digest = state_digest(module)
        version = self._by_digest.get(digest)
        if version is None or version not in self.states:
            version = self._next_version
            self._next_version += 1
            self.states[version] = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
            self._by_digest[digest] = version
        return version

    # ------------------------------------------------------------------ deploying

    def expect(self, node, encoder: int | None, decoder: int | None, via: str, phase: str = "") -> int:
        """A message will carry these versions to ``node`` (sent in ``phase``); return its tag."""
        tag = self._next_tag
        self._next_tag += 1
        self.pending[tag] = (node, encoder, decoder, via, phase)
        return tag

    def arrived(self, tag: int, t_s: float, delivered: bool) -> None:
        """The message tagged ``tag`` arrived at ``t_s`` (or was lost)."""
        node, encoder, decoder, via, phase = self.pending.pop(tag)
        if delivered:
            self.deploy(node, t_s, encoder, decoder, via, phase)

    def deploy(self, node, t_s: float, encoder: int | None, decoder: int | None, via: str, phase: str = "") -> None:
        """From ``t_s`` on, ``node`` uses these versions (None: that role is unchanged);
        ``via`` and ``phase`` say how and when it was decided (for the records)."""
        for role, version in zip(ROLES, (encoder, decoder)):
            if version is None or self.at(node, role, t_s) == version:
                continue
            line = self.timeline.setdefault((node, role), [])
            bisect.insort(line, (float(t_s), self._order, version))
            self._order += 1
            self.new.append({"phase": phase, "node": node, "role": role, "t_s": float(t_s), "version": version,
                             "via": via})

    def at(self, node, role: str, t_s: float) -> int | None:
        """The version ``node`` uses as its ``role`` at ``t_s`` (None: none deployed yet)."""
        line = self.timeline.get((node, role))
        if not line:
            return None
        index = bisect.bisect_right(line, (float(t_s), float("inf"), 0)) - 1
        return line[index][2] if index >= 0 else None

    def has(self, node, role: str) -> bool:
        return bool(self.timeline.get((node, role)))

    def take_new(self) -> list[dict]:
        new, self.new = self.new, []
        return new

    def prune(self, before_s: float) -> None:
        """Forget what only images before ``before_s`` could use: per timeline, the
        entries older than the one in effect at ``before_s``, then unused states."""
        for key, line in self.timeline.items():
            index = bisect.bisect_right(line, (float(before_s), float("inf"), 0)) - 1
            if index > 0:
                del line[:index]
        used = {version for line in self.timeline.values() for _, _, version in line}
        used.update(v for _, enc, dec, _, _ in self.pending.values() for v in (enc, dec) if v is not None)
        for version in [v for v in self.states if v not in used]:
            del self.states[version]
        self._by_digest = {d: v for d, v in self._by_digest.items() if v in self.states}

    # ------------------------------------------------------------------ checkpoints

    def state(self) -> dict:
        # copies: a checkpoint keeps this state while the run goes on (the tensors are never changed)
        return {
            "states": dict(self.states), "by_digest": dict(self._by_digest), "next_version": self._next_version,
            "timeline": {key: list(line) for key, line in self.timeline.items()}, "order": self._order,
            "pending": dict(self.pending), "next_tag": self._next_tag, "new": list(self.new),
        }

    def load_state(self, state: dict) -> None:
        self.states = dict(state["states"])
        self._by_digest = dict(state["by_digest"])
        self._next_version = state["next_version"]
        self.timeline = {key: list(line) for key, line in state["timeline"].items()}
        self._order = state["order"]
        self.pending = dict(state["pending"])
        self._next_tag = state["next_tag"]
        self.new = list(state["new"])
