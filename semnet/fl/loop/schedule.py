"""The local learning rate of a federation, round by round (``federated.lr_schedule``).

``constant``
    ``local.lr`` in every round.
``cosine``
    cosine decay from ``local.lr`` towards 0 at round ``rounds``.
``plateau_then_cosine``
    ``local.lr`` until the plateau rule of ``federated.converge`` holds (or ``rounds``
    run out), then cosine decay over ``decay_rounds`` more rounds. The plateau is
    then reached at the full rate, so it says the model stopped improving, not that
    its steps had shrunk; the decay's own gain is reported apart.
"""

from __future__ import annotations

import math


class RateSchedule:
    """Learning rate of round ``rnd`` (1-based); ``start_decay`` switches a
    ``plateau_then_cosine`` schedule to its decay after a given round."""

    def __init__(self, base: float, kind: str = "constant", rounds: int = 0, decay_rounds: int = 0):
        self.base = base
        self.kind = kind
        self.rounds = rounds
        self.decay_rounds = decay_rounds if kind == "plateau_then_cosine" else 0
        self.decay_after: int | None = None  # the last round at the full rate, once the decay started

    @classmethod
    def of(cls, spec) -> "RateSchedule":
        """The schedule of a ``FederatedSpec``."""
        return cls(spec.local.lr, spec.lr_schedule, spec.rounds, getattr(spec, "decay_rounds", 0))

    @property
    def decays_after_plateau(self) -> bool:
        return self.decay_rounds > 0

    def start_decay(self, after_round: int) -> None:
        """Decay from round ``after_round + 1`` on, over ``decay_rounds`` rounds."""
        if not self.decays_after_plateau:
            raise RuntimeError(f"a {self.kind} schedule has no decay to start")
        self.decay_after = after_round

    def lr(self, rnd: int) -> float:
        base = self.base
        if self.kind == "cosine":
            # decays over the maximum rounds, so a longer budget means a slower decay
            return base * 0.5 * (1.0 + math.cos(math.pi * (rnd - 1) / max(self.rounds, 1)))
        if self.kind == "plateau_then_cosine" and self.decay_after is not None and rnd > self.decay_after:
            k = rnd - self.decay_after - 1  # 0 in the decay's first round: it starts at the full rate
            return base * 0.5 * (1.0 + math.cos(math.pi * k / self.decay_rounds))
        return base
