"""The codecs of one run, per message kind, and the state their senders keep.

A scenario's ``method.codec`` names one codec for every model message or one per
kind (:data:`KINDS`). Strategies ask this book for a message's size when they plan a
round (:meth:`MessageCodecs.bits`) and for what the receiver reads once the round has
been played: a whole state (:meth:`MessageCodecs.send_state`: a download) or a
difference from the version the receiver holds (:meth:`MessageCodecs.send_difference`:
an update), the latter with error feedback where the codec uses it. A codec meant for
differences only (top-k) leaves whole states of its kind in ``float32``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from semnet.codecs.base import Codec
from semnet.registry import codecs

KINDS = ("global_model", "decoders", "updates", "control_variates")
"""Message kinds a codec can be set for: the global model (or FedPer's shared encoder)
sent to clients, FineFed's decoder copies sent to transmitters, every client-to-server
update, SCAFFOLD's control variates (both directions)."""

DEFAULT = "float32"


def codec_names(spec: Any) -> dict[str, str]:
    """``method.codec`` (a name, or a mapping / section per kind) as kind -> codec name."""
    if spec is None:
        return dict.fromkeys(KINDS, DEFAULT)
    if isinstance(spec, str):
        return dict.fromkeys(KINDS, spec)
    if not isinstance(spec, Mapping):
        spec = spec.model_dump()
    unknown = set(spec) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown message kinds {sorted(unknown)}; allowed: {', '.join(KINDS)}")
    return {kind: spec.get(kind) or DEFAULT for kind in KINDS}


def is_default(spec: Any) -> bool:
    """Whether ``spec`` sends every message as raw float32 (the behaviour before codecs)."""
    return all(codecs.canonical(n) == DEFAULT for n in codec_names(spec).values())


def label(spec: Any) -> str:
    """Short text for ``spec``: ``int8``, or ``updates=topk1,global_model=float16``."""
    names = codec_names(spec)
    if len(set(names.values())) == 1:
        return next(iter(names.values()))
    return ",".join(f"{k}={v}" for k, v in names.items() if v != DEFAULT)


class MessageCodecs:
    """Codecs per message kind for one run (or one control branch), with the senders'
    error-feedback residuals.

    Parameters
    ----------
    spec : str or mapping
        ``method.codec``.
    generator : callable
        ``generator(*purpose)`` -> a seeded ``torch.Generator``; stochastic codecs
        draw from one per message, so a run stays fixed by its seed.
    """

    def __init__(self, spec: Any = DEFAULT, generator: Callable[..., torch.Generator] | None = None):
        self.names = codec_names(spec)
        self.codecs: dict[str, Codec] = {kind: codecs.get(name)() for kind, name in self.names.items()}
        self._float32 = codecs.get(DEFAULT)()
        self._generator = generator
        self.residuals: dict[Hashable, list[Tensor]] = {}  # error feedback, per (kind, sender, receiver)

    def state(self) -> dict:
        """The senders' error-feedback residuals (a resumed run continues from them)."""
        return {key: [(t.detach().cpu().clone(), str(t.device)) for t in tensors]
                for key, tensors in self.residuals.items()}

    def load_state(self, state: dict) -> None:
        self.residuals = {key: [t.to(device) for t, device in tensors] for key, tensors in state.items()}

    def codec(self, kind: str, *, difference: bool) -> Codec:
        """The codec of a message of ``kind`` carrying a difference or a whole state."""
        codec = self.codecs[kind]
        if codec.differences_only and not difference:
            return self._float32
        return codec

    def lossless(self, kind: str, *, difference: bool) -> bool:
        return self.codec(kind, difference=difference).lossless

    def bits(self, kind: str, tensors: Sequence[Tensor], *, difference: bool) -> int:
        """Size on the wire of a message of ``kind`` carrying tensors shaped like ``tensors``."""
        return self.codec(kind, difference=difference).bits([tuple(t.shape) for t in tensors])

    def _draw(self, kind: str, src: Hashable, dst: Hashable) -> torch.Generator | None:
        if self._generator is None:
            return None
        return self._generator("codec", kind, src, dst)

    def send_state(self, kind: str, tensors: Sequence[Tensor], src: Hashable, dst: Hashable) -> list[Tensor]:
        """What ``dst`` reads when ``src`` sends it a whole state (e.g. the global model)."""
        codec = self.codec(kind, difference=False)
        gen = self._draw(kind, src, dst) if codec.stochastic else None
        return codec.roundtrip(tensors, gen)

    def send_difference(self, kind: str, difference: Sequence[Tensor], src: Hashable, dst: Hashable) -> list[Tensor]:
        """What ``dst`` reads when ``src`` sends it ``difference`` (its new version minus the
        one ``dst`` holds). With error feedback the sender adds what it dropped from its
        earlier differences to ``dst`` and keeps what it drops now."""
        codec = self.codec(kind, difference=True)
        if codec.lossless:
            return list(difference)
        gen = self._draw(kind, src, dst) if codec.stochastic else None
        if not codec.error_feedback:
            return codec.roundtrip(difference, gen)
        key = (kind, src, dst)
        residual = self.residuals.get(key)
        corrected = list(difference) if residual is None else [d + r for d, r in zip(difference, residual, strict=True)]
        sent = codec.roundtrip(corrected, gen)
        self.residuals[key] = [c - s for c, s in zip(corrected, sent, strict=True)]
        return sent
