"""A small ResNet-style CIFAR-10 classifier in the spirit of the fast-training recipes
(ResNet-9 / airbench): a 3x3 stem, then three groups that each convolve, max-pool by
two, normalise and add one residual 3x3 block; global max pooling and one linear
layer whose logits are scaled down (a fixed temperature that keeps early training
stable at a high learning rate). ``widths = (16, 32, 64, 128)`` (the committed
``models/classifier_cifar10.pt``) has about 0.29 M parameters (1.2 MB as float32).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SmallResNet"]

#: Per-channel mean and spread of CIFAR-10 training pixels in [0, 1] (the usual figures).
_MEAN = (0.4914, 0.4822, 0.4465)
_STD = (0.2470, 0.2435, 0.2616)


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class _Group(nn.Module):
    """conv -> max-pool /2 -> BN -> ReLU, then ``x + relu(bn(conv(x)))``."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.MaxPool2d(2),
                                  nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
        self.residual = nn.Sequential(*_conv_bn(cout, cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)
        return x + self.residual(x)


class SmallResNet(nn.Module):
    def __init__(self, classes: int, widths: tuple[int, int, int, int] = (16, 32, 64, 128),
                 logit_scale: float = 0.125):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.stem = nn.Sequential(*_conv_bn(3, w0))
        self.groups = nn.Sequential(_Group(w0, w1), _Group(w1, w2), _Group(w2, w3))
        self.head = nn.Linear(w3, classes, bias=False)
        self.logit_scale = logit_scale
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, classes)`` of images ``(B, 3, 32, 32)`` in [0, 1]."""
        x = self.groups(self.stem((x - self.mean) / self.std))
        return self.head(torch.amax(x, dim=(2, 3))) * self.logit_scale
