"""Record the reference numbers of ``reference.json``.

They were recorded once, before the fading registry (:mod:`semnet.channels`) replaced
the per-layer if-chains of ``semnet.net.fading`` and ``semnet.models.channel``; this
script is kept to show how they were made. Do not re-record to make a failing
regression test pass: a difference means the draws or the statistics changed.

    .venv/bin/python tests/channels/record_reference.py

Every value is stored exactly (JSON floats round-trip), so ``test_reference.py``
compares bit for bit: the same draws from the same generators in the same order (the
generators' next draws are recorded too), and the same outage probabilities and
capacities.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import scipy
import torch

from semnet.models.channel import Channel, sample_channel_gain
from semnet.net import fading
from semnet.net.rate import plan_transmission

PATH = Path(__file__).with_name("reference.json")

# (network-layer name, JSCC-layer name, k_factor): the names each layer used before the registry
KINDS = [("none", "awgn", 0.0), ("rayleigh", "rayleigh", 0.0), ("rician", "rician", 0.0),
         ("rician", "rician", 3.0), ("rician", "rician", 10.0)]
SNRS_DB = [-10.0, -3.0, 0.0, 7.5, 20.0, 35.0]
THRESHOLDS = [0.0, 0.1, 1.0, 3.0]
PLANS = [(0.0, 1.0, 0), (5.0, 0.8, 2), (12.0, 0.5, 4)]  # (snr_db, backoff, max_retries)


def environment() -> dict:
    return {"numpy": np.__version__, "scipy": scipy.__version__, "torch": torch.__version__,
            "machine": platform.machine()}


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
    h = fading.sample_gain(kind, (2, 3), rng, k_factor=k)
    g = fading.sample_power_gain(kind, 5, rng, k_factor=k)
    after = rng.random(2)
    outage = [[fading.outage_probability(kind, s, t, k_factor=k).item() for t in THRESHOLDS] for s in SNRS_DB]
    outage_vec = np.asarray(fading.outage_probability(kind, SNRS_DB, 1.0, k_factor=k)).tolist()
    rate_outage = [fading.rate_outage_probability(kind, s, 1.5, k_factor=k).item() for s in SNRS_DB]
    capacity = [float(fading.ergodic_capacity_bps_hz(kind, s, k_factor=k)) for s in SNRS_DB]
    capacity_vec = np.asarray(fading.ergodic_capacity_bps_hz(kind, SNRS_DB, k_factor=k)).tolist()
    plans = []
    for snr_db, backoff, retries in PLANS:
        rng = np.random.default_rng(3)
        outcome = plan_transmission(100_000, mode="shannon", rng=rng, bandwidth_hz=1e6, snr_db=snr_db,
                                    fading=kind, k_factor=k, backoff=backoff, packet_bits=12_000,
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
        gain = sample_channel_gain(kind, 6, gen, "cpu", k_factor=k, dtype=dtype)
        entry["gain"][str(dtype)] = [_t(gain), torch.rand(2, generator=gen).tolist()]
        z = _symbols(4, 5, dtype)
        snr = torch.tensor([-2.0, 3.0, 10.0, 25.0], dtype=dtype)
        for csi in (True, False):
            gen = torch.Generator().manual_seed(13)
            y = Channel(kind, csi=csi, k_factor=k)(z, snr, generator=gen)
            entry["channel"][f"{dtype}/{csi}"] = [_t(y), torch.rand(2, generator=gen).tolist()]
    torch.manual_seed(17)  # generator=None: PyTorch's default generator
    entry["default_generator"] = _t(Channel(kind, csi=True, k_factor=k)(_symbols(3, 4, torch.float32), 5.0))
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
