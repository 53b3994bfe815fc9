"""Record the reference numbers of ``reference.json``.

They were recorded once, before the fading registry (:mod:`semnet.channels`) replaced
the per-layer if-chains of ``semnet.net.fading`` and ``semnet.models.channel``; this
script is kept to show how they were made. Do not re-record to make a failing
regression test pass: a difference means the draws or the statistics changed.

    .venv/bin/python -m tests.channels.record_reference

Every value is stored exactly (JSON floats round-trip), so ``test_reference.py``
compares bit for bit: the same draws from the same generators in the same order (the
generators' next draws are recorded too), and the same outage probabilities and
capacities.
"""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy
import torch

from semnet.channels import FadingModel, make_fading
from semnet.channels.layer.channel import Channel
from semnet.net.rate import plan_transmission
from tests.reference_machine import simd

def law(kind, k_factor=0.0):
    """The fading law ``kind`` (a name, with ``k_factor`` where it takes one, or a built model)."""
    if isinstance(kind, FadingModel):
        return kind
    return make_fading(SimpleNamespace(fading=kind, channel_options={}, k_factor=k_factor))


def _linear(snr_db):
    return np.power(10.0, np.asarray(snr_db, dtype=float) / 10.0)


def outage_of(model, snr_db, threshold):
    """``P(|h|^2 snr < threshold)`` from the law's CDF."""
    return np.asarray(model.power_gain_cdf(np.asarray(threshold, dtype=float) / _linear(snr_db)), dtype=float)[()]


def rate_outage_of(model, snr_db, rate_bps_hz):
    """``P(log2(1 + |h|^2 snr) < R)``."""
    return outage_of(model, snr_db, np.expm1(np.asarray(rate_bps_hz, dtype=float) * math.log(2.0)))


def capacity_of(model, snr_db):
    """``E[log2(1 + |h|^2 snr)]``."""
    return np.asarray(model.ergodic_capacity_bps_hz(np.asarray(_linear(snr_db), dtype=float)), dtype=float)[()]


PATH = Path(__file__).with_name("reference.json")

# (network-layer name, JSCC-layer name, k_factor): the names each layer used before the registry
KINDS = [("none", "awgn", 0.0), ("rayleigh", "rayleigh", 0.0), ("rician", "rician", 0.0),
         ("rician", "rician", 3.0), ("rician", "rician", 10.0)]
SNRS_DB = [-10.0, -3.0, 0.0, 7.5, 20.0, 35.0]
THRESHOLDS = [0.0, 0.1, 1.0, 3.0]
PLANS = [(0.0, 1.0, 0), (5.0, 0.8, 2), (12.0, 0.5, 4)]  # (snr_db, backoff, max_retries)


def environment() -> dict:
    return {"numpy": np.__version__, "scipy": scipy.__version__, "torch": torch.__version__,
            "machine": platform.machine(), "simd": simd()}


def _c(a) -> list:
    a = np.asarray(a)
    return [np.real(a).ravel().tolist(), np.imag(a).ravel().tolist(), list(a.shape)]


def _t(t: torch.Tensor) -> list:
    t = t.detach()
    return [t.real.reshape(-1).tolist(), t.imag.reshape(-1).tolist(), list(t.shape), str(t.dtype)]


def _symbols(batch: int, k: int, dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(99)
    real = torch.randn(batch, k, generator=g, dtype=dtype)
    imag = torch.randn(batch, k, generator=g, dtype=dtype)
    return torch.complex(real, imag)


def record_net(kind: str, k: float) -> dict:
    """Network layer: draws (and the generator's next draws), outage and capacity."""
    rng = np.random.default_rng(7)
    h = law(kind, k).sample_numpy((2, 3), rng)
    g = law(kind, k).power_gain(5, rng)
    after = rng.random(2)
    outage = [[outage_of(law(kind, k), s, t).item() for t in THRESHOLDS] for s in SNRS_DB]
    outage_vec = np.asarray(outage_of(law(kind, k), SNRS_DB, 1.0)).tolist()
    rate_outage = [rate_outage_of(law(kind, k), s, 1.5).item() for s in SNRS_DB]
    capacity = [float(capacity_of(law(kind, k), s)) for s in SNRS_DB]
    capacity_vec = np.asarray(capacity_of(law(kind, k), SNRS_DB)).tolist()
    plans = []
    for snr_db, backoff, retries in PLANS:
        rng = np.random.default_rng(3)
        outcome = plan_transmission(100_000, mode="shannon", rng=rng, bandwidth_hz=1e6, snr_db=snr_db,
                                    fading=law(kind, k), backoff=backoff, packet_bits=12_000,
                                    max_retries=retries)
        plans.append([outcome.airtime_s, outcome.attempts, outcome.delivered, rng.random(2).tolist()])
    return {
        "kind": kind, "k_factor": k, "gain": _c(h), "power_gain": g.tolist(), "after": after.tolist(),
        "outage": outage, "outage_vec": outage_vec, "rate_outage": rate_outage,
        "capacity": capacity, "capacity_vec": capacity_vec, "plans": plans,
    }


def record_torch(kind: str, k: float) -> dict:
    """JSCC layer: gains and channel outputs (and the generator's next draws), both precisions."""
    entry: dict = {"kind": kind, "k_factor": k, "gain": {}, "channel": {}}
    for dtype in (torch.float32, torch.float64):
        gen = torch.Generator().manual_seed(11)
        gain = law(kind, k).sample_torch(6, gen, torch.device("cpu"), dtype)
        entry["gain"][str(dtype)] = [_t(gain), torch.rand(2, generator=gen).tolist()]
        z = _symbols(4, 5, dtype)
        snr = torch.tensor([-2.0, 3.0, 10.0, 25.0], dtype=dtype)
        for csi in (True, False):
            gen = torch.Generator().manual_seed(13)
            y = Channel(law(kind, k), csi=csi)(z, snr, generator=gen)
            entry["channel"][f"{dtype}/{csi}"] = [_t(y), torch.rand(2, generator=gen).tolist()]
    torch.manual_seed(17)  # generator=None: PyTorch's default generator
    entry["default_generator"] = _t(Channel(law(kind, k), csi=True)(_symbols(3, 4, torch.float32), 5.0))
    entry["default_after"] = torch.rand(2).tolist()
    return entry


def record() -> dict:
    return {
        "environment": environment(),
        "net": [record_net(net_kind, k) for net_kind, _, k in KINDS],
        "torch": [record_torch(torch_kind, k) for _, torch_kind, k in KINDS],
    }


if __name__ == "__main__":
    PATH.write_text(json.dumps(record(), indent=1) + "\n")
    print(f"wrote {PATH}")
