"""A small CNN that tells which photograph an embedded patch comes from (or, in
general, the class of a small image): three 3x3 convolutions (``w``, ``2w``, ``4w``
filters; ``w = 16`` gives about 24k parameters) with batch norm and ReLU,
max-pooling after the first two, global average pooling and one linear layer.

A checkpoint (:func:`save_classifier`) is a plain dict — the state dict, the class
names, the data set it was trained on, its input size and its architecture (``arch``:
``patch_cnn``, this module's net, or ``small_resnet``, :mod:`semnet.task.resnet`, with
its ``widths``) — read back without running code by :func:`load_classifier`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from semnet.errors import ModelError
from semnet.safe_load import load_torch_file

__all__ = ["ARCHITECTURES", "PatchClassifier", "load_classifier", "save_classifier"]


class PatchClassifier(nn.Module):
    def __init__(self, classes: int, width: int = 32):
        super().__init__()
        w = width

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(*block(3, w), nn.MaxPool2d(2), *block(w, 2 * w), nn.MaxPool2d(2),
                                      *block(2 * w, 4 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(4 * w, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, classes)`` of images ``(B, 3, H, W)`` in [0, 1]."""
        return self.head(self.features((x - 0.5) / 0.25))


def _small_resnet(classes: int, meta: dict) -> nn.Module:
    from semnet.task.resnet import SmallResNet

    return SmallResNet(classes, tuple(int(w) for w in meta["widths"]))


#: How a checkpoint's ``arch`` builds its net from the class count and the metadata
#: (a checkpoint without ``arch`` is a ``patch_cnn``, the first format).
ARCHITECTURES = {
    "patch_cnn": lambda classes, meta: PatchClassifier(classes, int(meta.get("width", 32))),
    "small_resnet": _small_resnet,
}


def save_classifier(model: nn.Module, path: str | Path, *, classes: tuple[str, ...], data: str,
                    image_hw: tuple[int, int], **meta) -> None:
    """Write ``model``'s state dict and plain metadata: ``width`` for a ``patch_cnn``,
    ``arch="small_resnet"`` and ``widths`` for a :class:`~semnet.task.resnet.SmallResNet`,
    and anything else worth keeping (plain data only)."""
    torch.save({"state_dict": model.state_dict(), "classes": list(classes), "data": data,
                "image_hw": list(image_hw), **meta}, path)


def load_classifier(path: str | Path) -> tuple[nn.Module, dict]:
    """The classifier of checkpoint ``path`` (in eval mode) and its metadata."""
    try:
        raw = load_torch_file(path)
    except Exception as err:  # noqa: BLE001 (any unreadable file is one line)
        raise ModelError(f"classifier checkpoint '{path}' cannot be read: {str(err).splitlines()[0][:160]}") from None
    if not isinstance(raw, dict) or "state_dict" not in raw or "classes" not in raw:
        raise ModelError(f"classifier checkpoint '{path}' is not a semnet classifier (no state_dict and classes)")
    arch = raw.get("arch", "patch_cnn")
    if arch not in ARCHITECTURES:
        raise ModelError(f"classifier checkpoint '{path}' has arch {arch!r}; allowed: {', '.join(ARCHITECTURES)}")
    model = ARCHITECTURES[arch](len(raw["classes"]), raw)
    model.load_state_dict(raw["state_dict"])
    return model.eval(), {k: v for k, v in raw.items() if k != "state_dict"}
