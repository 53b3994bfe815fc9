"""Task-aware training (``method.task_loss_weight``): a frozen classifier's
cross-entropy on the decoded images, added to each decoded batch's image loss.

The training batches carry no labels (a JSCC model learns from pixels alone), so the
target of each decoded image is the classifier's own decision on the image that was
sent: the term asks the decoder to keep what the classifier sees in the image, the
meaning a task would act on. The classifier never moves: its parameters need no
gradient and it stays in eval mode (batch-norm running statistics, not the batch's).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["TaskLossTerm"]


@dataclass(frozen=True)
class TaskLossTerm:
    """``weight * CE(classifier(x_hat), argmax classifier(x))``, mean over the batch."""

    classifier: nn.Module
    weight: float

    def __post_init__(self):
        self.classifier.eval()
        for parameter in self.classifier.parameters():
            parameter.requires_grad_(False)

    def __call__(self, x_hat: Tensor, x: Tensor) -> Tensor:
        with torch.no_grad():
            target = self.classifier(x).argmax(dim=1)
        return self.weight * nn.functional.cross_entropy(self.classifier(x_hat), target)
