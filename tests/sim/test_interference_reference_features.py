"""Regression: with carrier sensing, several cells, broadcasts and MCS on, the column
book gives, bit for bit, what the list book of 9691b54 gave
(``interference_reference_features.json``, written by
``record_interference_reference_features.py``): the events, every hit of the records
still on the air, the book's random stream position and the final SINR records.
Exact when numpy matches the recorded version; otherwise only the event counts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.sim.record_interference_reference_features import CASES, PATH, run

REFERENCE = json.loads(PATH.read_text())
EXACT = REFERENCE["environment"]["numpy"] == np.__version__


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_book_reproduces_the_recorded_feature_runs(case):
    want, got = REFERENCE["cases"][case], run(case)
    assert got["events"] == want["events"]
    if not EXACT:
        pytest.skip(f"numpy {np.__version__} is not the recorded {REFERENCE['environment']['numpy']}")
    assert got["events_digest"] == want["events_digest"]  # every message's record and SINR
    assert got["on_air"] == want["on_air"]  # every hit of the records still on the air
    assert got["next_draw"] == want["next_draw"]  # as many fading draws, in the same stream
    assert got["final"] == want["final"]
