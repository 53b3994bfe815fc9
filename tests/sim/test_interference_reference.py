"""Regression: the interference book reproduces, bit for bit, what it computed before it
was made fast (``interference_reference.json``, written by
``record_interference_reference.py`` against commit 3b384d7's book): every message's
record and SINR, every hit of the records still on the air (a digest), the book's
random stream position, and the per-link final SINR records.

The Python walk of the attempts an interferer starts or ends inside (numba absent)
is checked against the same records. The comparison is exact when numpy matches the
recorded version; on another numpy
build only the counts are compared, since random-number kernels may change there.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from semnet.sim import interference_scan
from tests.sim.record_interference_reference import CASES, PATH, run

REFERENCE = json.loads(PATH.read_text())
EXACT = REFERENCE["environment"]["numpy"] == np.__version__


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_book_reproduces_the_recorded_runs(case):
    check(case)


@pytest.mark.parametrize("case", ["static_dedicated", "wide_cutoff_edge"])
def test_the_python_walk_of_split_attempts_gives_the_same_bits(case, monkeypatch):
    """Without numba the attempts an interferer starts or ends inside are walked in Python."""
    monkeypatch.setattr(interference_scan, "_split_compiled", lambda: None)
    check(case)


def check(case: str) -> None:
    want, got = REFERENCE["cases"][case], run(case)
    assert len(got["events"]) == len(want["events"])
    if not EXACT:
        pytest.skip(f"numpy {np.__version__} is not the recorded {REFERENCE['environment']['numpy']}")
    for i, (g, w) in enumerate(zip(got["events"], want["events"])):
        assert g == w, f"event {i} differs"
    assert got["on_air"] == want["on_air"]  # every hit of the records still on the air
    assert got["next_draw"] == want["next_draw"]  # as many fading draws, in the same stream
    assert got["final"] == want["final"]
