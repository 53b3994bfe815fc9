"""Measure the classic figure's records: PSNR against test SNR for deep-JSCC models and
the digital baselines, on AWGN and Rayleigh block fading, at several bandwidth ratios.

    python -m semnet.digital.snr_curve --data /path/to/cifar10 --per-class 50 --out results/snr_curve

Every scheme meets the same states: image ``n`` of realisation ``r`` has one gain
``h[r, n]`` (1 on AWGN, ``CN(0, 1)`` on Rayleigh, drawn once per fading from the seed)
at every test SNR ``t``, so its realised SNR is ``t + 10 log10 |h|^2``. JSCC models are
told ``t`` (an SNR-aware model's input; the receiver equalises with ``h``, as the
semnet channel with CSI does); the digital link gets, per codec,

- ``capacity``: ``floor(k log2(1 + SNR))`` bits of the realised SNR (never lost);
- ``mcs``: the CQI entry of the previous image's realised SNR (the first: ``t``);
- ``mcs_fixed``: the entry of the JSCC models' training SNR (``--design-snr``), the
  non-adaptive link whose "cliff" the deep-JSCC papers draw;

a lost or unfit image shows the dataset mean (``fallback: mean``: the images follow
each other in a shuffled order, so the previous one says nothing about the next).
``semnet analyse snr-curve`` draws the records (``records.csv``, ``meta.json``).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from semnet.digital.baseline import score_link
from semnet.digital.evaluator import ladders_of
from semnet.digital.link_budget import fixed_mcs_budgets, rate_budgets
from semnet.digital.states import realised_snr_db
from semnet.metrics.image import psnr, ssim
from semnet.models import Channel, create_model, transmit
from semnet.seeding import derive_seed, numpy_rng
from semnet.workload import load_checkpoint

__all__ = ["JsccModel", "DEFAULT_MODELS", "measure", "main"]

FIELDS = ("fading", "bandwidth_ratio", "k", "test_snr_db", "scheme", "kind", "codec", "rate", "psnr_db", "ssim",
          "lost_share", "unfit_share", "sends")


@dataclass(frozen=True)
class JsccModel:
    label: str
    name: str  # registered model family
    checkpoint: str
    bandwidth_ratio: str  # "1/6"
    width: float = 1.0


DEFAULT_MODELS = (
    JsccModel("deep_jscc @10 dB", "deep_jscc", "models/deep_jscc_cifar10_k6_snr10_e232.pt", "1/6"),
    JsccModel("adjscc 0-20 dB", "adjscc", "models/adjscc_cifar10_k6_snr0-20_e48.pt", "1/6"),
    JsccModel("deep_jscc @10 dB", "deep_jscc", "models/deep_jscc_cifar10_k12_snr10_e48.pt", "1/12"),
)


def _gains(fading: str, realisations: int, images: int, seed: int) -> np.ndarray:
    if fading == "none":
        return np.ones((1, images), complex)
    rng = numpy_rng(seed, "snr_curve", fading)
    return (rng.standard_normal((realisations, images)) + 1j * rng.standard_normal((realisations, images))) / np.sqrt(2)


@torch.no_grad()
def _jscc_row(model, images: torch.Tensor, test_snr_db: float, gains: np.ndarray, fading: str, seed: int,
              batch: int = 250) -> tuple[float, float]:
    channel = Channel(fading, csi=True)
    gen = torch.Generator().manual_seed(derive_seed(seed, "snr_curve_noise", fading, float(test_snr_db)))
    psnrs, ssims = [], []
    for r in range(gains.shape[0]):
        for start in range(0, images.shape[0], batch):
            x = images[start:start + batch].float().div(255)
            h = torch.as_tensor(gains[r, start:start + batch], dtype=torch.complex64)
            x_hat = transmit(model.encoder, model.decoder, x, float(test_snr_db), channel, gen, gain=h).clamp_(0, 1)
            psnrs.append(psnr(x_hat, x))
            ssims.append(ssim(x_hat, x))
    return float(torch.cat(psnrs).mean()), float(torch.cat(ssims).mean())


def _load_model(entry: JsccModel, root: Path):
    c = int(96 * Fraction(entry.bandwidth_ratio))
    model = create_model(entry.name, latent_channels=c, width=entry.width)
    model.load_state_dict(load_checkpoint(str(root / entry.checkpoint)))
    return model.eval()


def measure(images: torch.Tensor, models: tuple[JsccModel, ...], snrs_db: list[float], *, fadings=("none", "rayleigh"),
            ratios=("1/6", "1/12"), codecs=("jpeg", "webp", "jpeg2000"), design_snr_db: float = 10.0,
            realisations: int = 4, seed: int = 0, root: Path = Path(".")) -> list[dict]:
    """The records: one row per (fading, ratio, test SNR, scheme)."""
    n, _, h, w = images.shape
    mean = images.float().div(255).mean(dim=0)
    ladders = {codec: ladders_of(codec, images) for codec in codecs}
    loaded = {entry: _load_model(entry, root) for entry in models}
    rows = []
    for fading in fadings:
        gains = _gains(fading, realisations, n, seed)
        for ratio in ratios:
            k = int(Fraction(ratio) * 3 * h * w)
            for t in snrs_db:
                base = {"fading": fading, "bandwidth_ratio": ratio, "k": k, "test_snr_db": t}
                for entry in (e for e in models if e.bandwidth_ratio == ratio):
                    p, s = _jscc_row(loaded[entry], images, t, gains, fading, seed)
                    rows.append({**base, "scheme": entry.label, "kind": "jscc", "codec": "", "rate": "",
                                 "psnr_db": round(p, 4), "ssim": round(s, 5), "lost_share": 0.0, "unfit_share": 0.0,
                                 "sends": gains.size})
                realised = realised_snr_db(t, gains.reshape(-1))
                for codec in codecs:
                    for rate in ("capacity", "mcs", "mcs_fixed"):
                        budgets = (fixed_mcs_budgets(k, realised, design_snr_db) if rate == "mcs_fixed"
                                   else rate_budgets(rate, k, realised, t))
                        out = score_link(ladders[codec], images, realised, t, k, rate, "mean", mean, budgets=budgets)
                        rows.append({**base, "scheme": f"{codec} {rate}", "kind": "digital", "codec": codec,
                                     "rate": rate, "psnr_db": round(float(out.psnr_db.mean()), 4),
                                     "ssim": round(float(out.ssim.mean()), 5),
                                     "lost_share": round(float(out.lost.mean()), 5),
                                     "unfit_share": round(float(out.unfit.mean()), 5), "sends": int(out.lost.size)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m semnet.digital.snr_curve", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="an image folder with test/<class>/ (the CIFAR-10 JPEG copy)")
    parser.add_argument("--per-class", type=int, default=50, help="test images per class (sorted, the first ones)")
    parser.add_argument("--snrs", type=float, nargs="+", default=[-5, 0, 2.5, 5, 7.5, 10, 12.5, 15, 20, 25])
    parser.add_argument("--realisations", type=int, default=4, help="fading draws per image (Rayleigh)")
    parser.add_argument("--design-snr", type=float, default=10.0, help="dB: the mcs_fixed entry's SNR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    from semnet.data.folder import load_image_folder

    torch.set_num_threads(1)
    # the code that measures: the commit checked out now, not when the records are written
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    test = load_image_folder(args.data, split="test", max_per_class=args.per_class)
    order = numpy_rng(args.seed, "snr_curve_order").permutation(test.images.shape[0])
    images = test.images[torch.as_tensor(order)].contiguous()
    rows = measure(images, DEFAULT_MODELS, args.snrs, design_snr_db=args.design_snr, realisations=args.realisations,
                   seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "records.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    meta = {"command": "python -m semnet.digital.snr_curve --data DATA " + " ".join(
                f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in vars(args).items() if k not in ("data",)),
            "data": f"{Path(args.data).name}: test split, {args.per_class} per class, {images.shape[0]} images",
            "models": [vars(m) for m in DEFAULT_MODELS], "fallback": "mean", "design_snr_db": args.design_snr,
            "date": datetime.date.today().isoformat(), "commit": commit}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(out / "records.csv")
    print(out / "meta.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
