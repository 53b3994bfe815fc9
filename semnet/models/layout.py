"""Where a parameter sits in a JSCC model's stack of layers, whatever a family calls it.

A *layer* is one convolution and what follows it: its activation and, in SNR-aware
models, its SNR module. ``deep_jscc`` holds (convolution, activation) pairs in one
``nn.Sequential`` (``layers.2L`` and ``layers.2L+1`` are layer L); ``adjscc`` keeps
them in lists (``convs.L``, ``acts.L``, ``attention.L``). FedRep's head (the layers at
each image-facing end) and loading one family's weights into another (the
SNR-conditioned control's ``backbone`` start) both read layers from here.
"""

from __future__ import annotations

_ROLES = {"convs": "conv", "acts": "act", "attention": "snr"}


def layer_of(name: str) -> tuple[int, str] | None:
    """``(layer, role)`` of a parameter named inside an encoder or a decoder (role
    ``conv``, ``act`` or ``snr``); None when it belongs to no layer."""
    parts = name.split(".")
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    index = int(parts[1])
    if parts[0] == "layers":  # a Sequential of (convolution, activation) pairs
        return index // 2, ("conv" if index % 2 == 0 else "act")
    role = _ROLES.get(parts[0])
    return None if role is None else (index, role)


def canonical_name(qualified: str) -> str | None:
    """``encoder.conv2.weight``-style name of a model's parameter or buffer
    (``encoder.layers.4.weight`` in deep_jscc, ``encoder.convs.2.weight`` in adjscc), the
    same in every family; None outside the layer stack."""
    part, _, rest = qualified.partition(".")
    where = layer_of(rest)
    if where is None:
        return None
    tail = rest.split(".", 2)[2:]
    return ".".join([part, f"{where[1]}{where[0]}", *tail])
