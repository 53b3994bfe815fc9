"""Regression: the fading registry reproduces, bit for bit, what the network layer
(``semnet.net.fading``, ``plan_transmission``) and the JSCC layer
(``sample_channel_gain``, ``Channel``) computed before it replaced their if-chains.

``reference.json`` was written by ``record_reference.py`` against the code before the
registry. The comparison is exact (JSON floats round-trip, ``-0.0`` included) when the
library versions and the CPU's vector instruction sets match the recorded ones; on
another numpy/scipy/torch build, or another instruction set (AVX2 against AVX-512),
only a tight tolerance is asserted, since random-number kernels, vectorised functions
and quadrature may change there in the last bits. The reference predates recording the
instruction sets, so it is compared within the tolerance everywhere (a last-bit change
of one value on an AVX2 machine with the recorded library versions showed the need).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from .record_reference import KINDS, PATH, environment, record_net, record_torch

REFERENCE = json.loads(PATH.read_text())
SAME_ENVIRONMENT = REFERENCE["environment"] == environment()


def _flatten(value) -> list[float]:
    if isinstance(value, dict):
        return [x for key in sorted(value) for x in _flatten(value[key])]
    if isinstance(value, list):
        return [x for item in value for x in _flatten(item)]
    if isinstance(value, (bool, str)):
        return []
    return [float(value)]


def _assert_same(new: dict, old: dict) -> None:
    if SAME_ENVIRONMENT:
        assert json.dumps(new, indent=1) == json.dumps(old, indent=1)
    else:
        np.testing.assert_allclose(_flatten(new), _flatten(old), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("index", "kind"), list(enumerate(KINDS)), ids=[f"{k[0]}-K{k[2]:g}" for k in KINDS])
def test_network_layer_matches_reference(index, kind):
    net_kind, _, k = kind
    _assert_same(record_net(net_kind, k), REFERENCE["net"][index])


@pytest.mark.parametrize(("index", "kind"), list(enumerate(KINDS)), ids=[f"{k[1]}-K{k[2]:g}" for k in KINDS])
def test_jscc_layer_matches_reference(index, kind):
    _, torch_kind, k = kind
    _assert_same(record_torch(torch_kind, k), REFERENCE["torch"][index])


def test_awgn_and_none_are_the_same_model_in_both_layers():
    """The network used 'none' and the JSCC channel 'awgn': each name now gives the other's numbers."""
    _assert_same({**record_net("awgn", 0.0), "kind": "none"}, REFERENCE["net"][0])
    _assert_same({**record_torch("none", 0.0), "kind": "awgn"}, REFERENCE["torch"][0])
