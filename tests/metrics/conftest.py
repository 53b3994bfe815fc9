"""Shared fixtures: run these small-tensor tests single-threaded.

The tensors are tiny, so extra intra-op threads buy little, and on a busy
machine OpenMP spin-waiting makes multi-threaded runs many times slower.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
