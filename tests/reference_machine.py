"""What decides whether numbers recorded on one machine are reproduced bit for bit on
another: the library builds, and the vector instruction sets their kernels dispatch to
(the same numpy rounds some functions differently in the last bit on AVX2 and on
AVX-512; seen on this project's machines)."""

from __future__ import annotations

import math

import torch


def simd() -> dict:
    """The instruction-set targets numpy's and torch's CPU kernels use on this machine."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return {"numpy": [target for target in __cpu_dispatch__ if __cpu_features__.get(target)],
            "torch": torch.backends.cpu.get_cpu_capability()}


def assert_close(got, want, path: str = "", rel: float = 1e-9) -> None:
    """``got == want`` but floats within ``rel`` (relative; 1e-300 absolute): for records
    compared across instruction sets, where only the last bits may move."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{path}: keys differ"
        for key in want:
            assert_close(got[key], want[key], f"{path}.{key}", rel)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: lengths differ"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, f"{path}[{i}]", rel)
    elif isinstance(want, float) and not isinstance(got, bool):
        assert math.isclose(got, want, rel_tol=rel, abs_tol=1e-300) or (math.isnan(got) and math.isnan(want)), \
            f"{path}: {got!r} != {want!r}"
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"
