"""When a federation has stopped improving: the plateau rule of ``federated.converge``,
and the learning-rate floor that keeps a shrinking step size from passing for it."""

from __future__ import annotations

import math

# a rate computed to sit exactly on the floor (e.g. cos at 2/3 of a cosine) may come
# out a few ulps below it; that is the floor, not a decayed rate
_FLOOR_SLACK = 1e-9


class ConvergenceCheck:
    """Validation PSNR history of one phase, the plateau rule over it, and the verdict.

    ``spec`` has ``min_gain_db``, ``window_frac``, ``min_rounds``, ``eval_every`` and
    ``min_lr_frac`` (see ``ConvergeSpec``). The phase is *converged* only if the
    plateau rule holds while the learning rate of that round is at least
    ``min_lr_frac`` of the base rate: a plateau reached at a decayed rate says the
    steps became small, not that the model stopped improving.
    """

    def __init__(self, spec):
        self.spec = spec
        self.history: dict[int, float] = {}
        self.converged = False
        self.decision: dict | None = None  # set by decide() or finish()

    @property
    def min_lr_frac(self) -> float:
        return getattr(self.spec, "min_lr_frac", 0.0)

    def due(self, rnd: int) -> bool:
        return rnd % self.spec.eval_every == 0

    def record(self, rnd: int, psnr_db: float) -> None:
        self.history[rnd] = psnr_db

    def value_at(self, rnd: int) -> float | None:
        return self.history.get(rnd)

    def rule_holds(self, rnd: int) -> bool:
        """The plateau rule alone (no rate floor), from ``min_rounds`` on."""
        spec = self.spec
        return rnd >= spec.min_rounds and plateaued(self.history, rnd, spec.window_frac, spec.min_gain_db,
                                                    spec.eval_every)

    def decide(self, rnd: int, lr: float | None, base_lr: float | None) -> bool:
        """After round ``rnd``'s validation: True (and the verdict recorded) once the
        plateau rule holds; ``converged`` only if ``lr`` (the rate of round ``rnd``)
        was at least ``min_lr_frac`` of ``base_lr``. A strategy that reports no rate
        (``None``) is judged on the plateau rule alone."""
        if self.decision is not None or not self.rule_holds(rnd):
            return False
        frac = None if lr is None or not base_lr else lr / base_lr
        above = frac is None or frac >= self.min_lr_frac - _FLOOR_SLACK
        if above:
            reason = f"plateau at round {rnd}" + ("" if frac is None else f" at {frac:.3g} of the base rate")
        else:
            reason = (f"plateau at round {rnd} only at a decayed learning rate, {frac:.3g} of the base rate "
                      f"(below the floor min_lr_frac = {self.min_lr_frac:g})")
        self._set(rnd, above, reason, lr, frac)
        return True

    def finish(self, rnd: int, lr: float | None, base_lr: float | None) -> None:
        """The rounds ran out at ``rnd`` before any plateau: not converged."""
        if self.decision is None:
            frac = None if lr is None or not base_lr else lr / base_lr
            self._set(rnd, False, f"no plateau within {rnd} rounds", lr, frac)

    def _set(self, rnd: int, converged: bool, reason: str, lr: float | None, frac: float | None) -> None:
        self.converged = converged
        spec = self.spec
        self.decision = {
            "converged": converged,
            "reason": reason,
            "rule": {"min_gain_db": spec.min_gain_db, "window_frac": spec.window_frac,
                     "min_rounds": spec.min_rounds, "eval_every": spec.eval_every,
                     "min_lr_frac": self.min_lr_frac},
            "decision_round": rnd,
            "lr_at_decision": lr,
            "lr_frac_at_decision": None if frac is None else round(frac, 6),
            "validation_gain_db": window_gain(self.history, rnd, spec.window_frac, spec.eval_every),
        }


def _windows(history: dict[int, float], rnd: int, window_frac: float, every: int) -> tuple[list, list]:
    window = max(math.ceil(window_frac * rnd), 3 * every)
    recent = [v for r, v in history.items() if rnd - window < r <= rnd]
    before = [v for r, v in history.items() if rnd - 2 * window < r <= rnd - window]
    return recent, before


def window_gain(history: dict[int, float], rnd: int, window_frac: float, every: int) -> float | None:
    """Mean validation PSNR of the last window minus that of the window before it (dB);
    None before there are two windows."""
    recent, before = _windows(history, rnd, window_frac, every)
    if not recent or not before:
        return None
    return sum(recent) / len(recent) - sum(before) / len(before)


def plateaued(history: dict[int, float], rnd: int, window_frac: float, min_gain_db: float, every: int) -> bool:
    """True when the mean validation PSNR of the last window of rounds beats the
    window before it by less than ``min_gain_db``.

    The window is ``window_frac`` of the rounds so far (at least three evaluations),
    and comparing window means rather than single points keeps round-to-round noise
    of local training from stopping a federation that is still improving (two
    evaluations per window proved too few: a CIFAR-10 start still gaining 0.1 dB
    every 5 rounds was stopped by one low evaluation).
    """
    gain = window_gain(history, rnd, window_frac, every)
    return gain is not None and gain < min_gain_db
