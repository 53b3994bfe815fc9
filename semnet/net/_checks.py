"""Small argument checks shared by the ``semnet.net`` modules.

User-facing values (counts, probabilities, radii, kinds) raise
:class:`semnet.errors.ScenarioError` with a message that names the argument, the
bad value and what is allowed.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from semnet.errors import ScenarioError


def show(value: object) -> str:
    """``repr`` of ``value`` with numpy scalars shown as plain Python numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """Return ``value`` as ``int`` if it is an integer ``>= minimum``; else raise ScenarioError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ScenarioError(f"{name} must be an integer, got {show(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ScenarioError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` within ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ScenarioError(f"{name} must be a finite number, got {show(value)}")
    value = float(value)
    if low is not None and (value <= low if low_open else value < low):
        op = ">" if low_open else ">="
        raise ScenarioError(f"{name} must be {op} {low:g}, got {value:g}")
    if high is not None and value > high:
        raise ScenarioError(f"{name} must be <= {high:g}, got {value:g}")
    return value


def make_rng(seed: object) -> np.random.Generator:
    """A numpy Generator from an integer seed (or an existing Generator, used as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ScenarioError(
            f"seed must be a non-negative integer or a numpy Generator, got {show(seed)}"
        )
    return np.random.default_rng(int(seed))
