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
With ``--classifier`` (``models/classifier_cifar10.pt``) every row also gets the task
accuracy: the share of the images shown at the receiver (decoded, or the fallback)
that the frozen classifier labels right; ``meta.json`` gives its accuracy on the same
images undistorted.
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

__all__ = ["DEFAULT_MODELS", "JsccModel", "MemoClassifier", "main", "measure", "measure_panels"]

FIELDS = ("fading", "bandwidth_ratio", "k", "test_snr_db", "scheme", "kind", "codec", "rate", "psnr_db", "ssim",
          "lost_share", "unfit_share", "sends", "accuracy")


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


class MemoClassifier:
    """A frozen classifier's logits, computed once per distinct image: a digital link
    shows the same decoded rung (or the mean image) again and again, across rates and
    test SNRs, so most of its images have been classified before (exact: keyed by the
    image's bytes)."""

    def __init__(self, classifier):
        self.classifier = classifier
        self._logits: dict[bytes, torch.Tensor] = {}

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        keys = [image.numpy().tobytes() for image in images]
        missing: dict[bytes, int] = {}  # first index of each image not classified yet
        for i, key in enumerate(keys):
            if key not in self._logits:
                missing.setdefault(key, i)
        if missing:
            for key, logits in zip(missing, self.classifier(images[list(missing.values())])):
                self._logits[key] = logits
        return torch.stack([self._logits[key] for key in keys])


def _share(correct: np.ndarray | None):
    return "" if correct is None else round(float(np.mean(correct)), 5)


@torch.no_grad()
def _jscc_row(model, images: torch.Tensor, test_snr_db: float, gains: np.ndarray, fading: str, seed: int,
              batch: int = 250, classifier=None, labels: torch.Tensor | None = None):
    """Mean PSNR and SSIM over every send, and which decoded images ``classifier`` got right."""
    channel = Channel(fading, csi=True)
    gen = torch.Generator().manual_seed(derive_seed(seed, "snr_curve_noise", fading, float(test_snr_db)))
    psnrs, ssims, correct = [], [], []
    for r in range(gains.shape[0]):
        for start in range(0, images.shape[0], batch):
            x = images[start:start + batch].float().div(255)
            h = torch.as_tensor(gains[r, start:start + batch], dtype=torch.complex64)
            x_hat = transmit(model.encoder, model.decoder, x, float(test_snr_db), channel, gen, gain=h).clamp_(0, 1)
            psnrs.append(psnr(x_hat, x))
            ssims.append(ssim(x_hat, x))
            if classifier is not None:
                correct.append((classifier(x_hat).argmax(1) == labels[start:start + batch]).numpy())
    return (float(torch.cat(psnrs).mean()), float(torch.cat(ssims).mean()),
            np.concatenate(correct) if correct else None)


def _load_model(entry: JsccModel, root: Path):
    c = int(96 * Fraction(entry.bandwidth_ratio))
    model = create_model(entry.name, latent_channels=c, width=entry.width)
    model.load_state_dict(load_checkpoint(str(root / entry.checkpoint)))
    return model.eval()


def measure(images: torch.Tensor, models: tuple[JsccModel, ...], snrs_db: list[float], *, fadings=("none", "rayleigh"),
            ratios=("1/6", "1/12"), codecs=("jpeg", "webp", "jpeg2000"), design_snr_db: float = 10.0,
            realisations: int = 4, seed: int = 0, root: Path = Path("."), classifier=None,
            labels: torch.Tensor | None = None, ladders: dict | None = None) -> list[dict]:
    """The records: one row per (fading, ratio, test SNR, scheme); with ``classifier``
    (logits of images in [0, 1]) and ``labels[n]`` (image ``n``'s class) each row's
    ``accuracy`` is the share of shown images it labels right ("" without).
    ``ladders``: each codec's ladders of ``images``, if already encoded."""
    n, _, h, w = images.shape
    mean = images.float().div(255).mean(dim=0)
    loaded = {entry: _load_model(entry, root) for entry in models}  # a bad checkpoint fails before the codecs run
    ladders = {codec: ladders[codec] if ladders else ladders_of(codec, images) for codec in codecs}
    memo = MemoClassifier(classifier) if classifier is not None else None
    rows = []
    for fading in fadings:
        gains = _gains(fading, realisations, n, seed)
        for ratio in ratios:
            k = int(Fraction(ratio) * 3 * h * w)
            for t in snrs_db:
                base = {"fading": fading, "bandwidth_ratio": ratio, "k": k, "test_snr_db": t}
                for entry in (e for e in models if e.bandwidth_ratio == ratio):
                    p, s, right = _jscc_row(loaded[entry], images, t, gains, fading, seed, classifier=classifier,
                                            labels=labels)
                    rows.append({**base, "scheme": entry.label, "kind": "jscc", "codec": "", "rate": "",
                                 "psnr_db": round(p, 4), "ssim": round(s, 5), "lost_share": 0.0, "unfit_share": 0.0,
                                 "sends": gains.size, "accuracy": _share(right)})
                realised = realised_snr_db(t, gains.reshape(-1))
                for codec in codecs:
                    for rate in ("capacity", "mcs", "mcs_fixed"):
                        budgets = (fixed_mcs_budgets(k, realised, design_snr_db) if rate == "mcs_fixed"
                                   else rate_budgets(rate, k, realised, t))
                        out = score_link(ladders[codec], images, realised, t, k, rate, "mean", mean, budgets=budgets,
                                         classifier=memo, labels=labels)
                        rows.append({**base, "scheme": f"{codec} {rate}", "kind": "digital", "codec": codec,
                                     "rate": rate, "psnr_db": round(float(out.psnr_db.mean()), 4),
                                     "ssim": round(float(out.ssim.mean()), 5),
                                     "lost_share": round(float(out.lost.mean()), 5),
                                     "unfit_share": round(float(out.unfit.mean()), 5), "sends": int(out.lost.size),
                                     "accuracy": _share(out.correct)})
    return rows


@torch.no_grad()
def _classifier_of(path: str, test):
    """The frozen classifier of ``path``, refused (one line) unless it knows ``test``'s classes."""
    from semnet.errors import ModelError
    from semnet.task.classifier import load_classifier

    model, meta = load_classifier(path)
    if list(meta["classes"]) != list(test.class_names) or list(meta["image_hw"]) != list(test.images.shape[-2:]):
        raise ModelError(f"'{path}' classifies {meta.get('data')} {meta['image_hw']} images of classes "
                         f"{meta['classes']}; allowed: a classifier of these images ({list(test.class_names)})")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def _panel(args: tuple) -> list[dict]:
    images, models, snrs_db, fading, ratio, kwargs = args
    torch.set_num_threads(1)
    return measure(images, models, snrs_db, fadings=(fading,), ratios=(ratio,), **kwargs)


def measure_panels(images: torch.Tensor, models: tuple[JsccModel, ...], snrs_db: list[float], *, jobs: int = 1,
                   fadings=("none", "rayleigh"), ratios=("1/6", "1/12"), **kwargs) -> list[dict]:
    """:func:`measure`'s rows, each (fading, ratio) panel in one of ``jobs`` processes:
    the same rows in the same order (every draw depends on the panel's fading and test
    SNR alone, never on what was measured before)."""
    if jobs > 1:  # encode each image's ladder once, not once per panel
        for entry in models:
            _load_model(entry, kwargs.get("root", Path(".")))  # a bad checkpoint fails before the codecs run
        codecs = kwargs.get("codecs", ("jpeg", "webp", "jpeg2000"))
        kwargs = {**kwargs, "ladders": {codec: ladders_of(codec, images) for codec in codecs}}
    panels = [(images, models, snrs_db, f, r, kwargs) for f in fadings for r in ratios]
    if jobs <= 1:
        return [row for panel in panels for row in _panel(panel)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(jobs, len(panels)), mp_context=multiprocessing.get_context("spawn")) as pool:
        return [row for rows in pool.map(_panel, panels) for row in rows]


def _test_images(data: str, per_class: int):
    """The test images (``data``: a folder with ``test/<class>/``, or ``embedded``)."""
    if data == "embedded":
        from semnet.data.embedded import load_embedded

        return load_embedded(patch_size=32, seed=0)[1], "embedded photos: every held-out test patch"
    from semnet.data.folder import load_image_folder

    return (load_image_folder(data, split="test", max_per_class=per_class),
            f"{Path(data).name}: test split, {per_class} per class")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m semnet.digital.snr_curve", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="an image folder with test/<class>/ (the CIFAR-10 JPEG copy), "
                        "or 'embedded' (the embedded photos' test patches)")
    parser.add_argument("--per-class", type=int, default=50, help="test images per class (sorted, the first ones)")
    parser.add_argument("--snrs", type=float, nargs="+", default=[-5, 0, 2.5, 5, 7.5, 10, 12.5, 15, 20, 25])
    parser.add_argument("--realisations", type=int, default=4, help="fading draws per image (Rayleigh)")
    parser.add_argument("--design-snr", type=float, default=10.0, help="dB: the mcs_fixed entry's SNR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classifier", default=None,
                        help="a classifier checkpoint of the data (models/classifier_cifar10.pt): task accuracy too")
    parser.add_argument("--model", nargs=5, action="append", metavar=("LABEL", "NAME", "CHECKPOINT", "RATIO", "WIDTH"),
                        help="a JSCC model to measure (repeat; default: the three CIFAR-10 reference checkpoints)")
    parser.add_argument("--fadings", nargs="+", default=["none", "rayleigh"], choices=("none", "rayleigh"))
    parser.add_argument("--codecs", nargs="+", default=["jpeg", "webp", "jpeg2000"])
    parser.add_argument("--jobs", type=int, default=1, help="processes: one (fading, ratio) panel each")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    from semnet.errors import SemnetError

    torch.set_num_threads(1)
    # the code that measures: the commit checked out now, not when the records are written
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    models = tuple(JsccModel(label, name, ckpt, ratio, float(width)) for label, name, ckpt, ratio, width
                   in args.model) if args.model else DEFAULT_MODELS
    ratios = tuple(dict.fromkeys(m.bandwidth_ratio for m in models))
    test, described = _test_images(args.data, args.per_class)
    order = numpy_rng(args.seed, "snr_curve_order").permutation(test.images.shape[0])
    images = test.images[torch.as_tensor(order)].contiguous()
    labels = test.labels[torch.as_tensor(order)]
    classifier, task = None, {}
    if args.classifier:
        try:
            classifier = _classifier_of(args.classifier, test)
        except SemnetError as err:
            raise SystemExit(f"--classifier: {err}") from None
        right = _share(np.concatenate([(classifier(images[s:s + 250].float().div(255)).argmax(1)
                                        == labels[s:s + 250]).numpy() for s in range(0, len(labels), 250)]))
        task = {"classifier": args.classifier, "clean_accuracy": right}
    try:
        rows = measure_panels(images, models, args.snrs, jobs=args.jobs, fadings=tuple(args.fadings), ratios=ratios,
                              design_snr_db=args.design_snr, realisations=args.realisations, seed=args.seed,
                              classifier=classifier, labels=labels, codecs=tuple(args.codecs))
    except SemnetError as err:  # a checkpoint missing or not of its model, a codec not registered
        raise SystemExit(f"snr_curve: {err}") from None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "records.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    meta = {"command": "python -m semnet.digital.snr_curve --data DATA " + " ".join(
                f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in vars(args).items() if k not in ("data", "model") and v is not None)
                + "".join(f" --model {' '.join(repr(x) if ' ' in x else x for x in m)}" for m in args.model or ()),
            "data": f"{described}, {images.shape[0]} images",
            "models": [vars(m) for m in models], "fallback": "mean", "design_snr_db": args.design_snr,
            "date": datetime.date.today().isoformat(), "commit": commit, **task}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(out / "records.csv")
    print(out / "meta.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
