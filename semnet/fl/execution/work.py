"""How much training a round holds, in floating-point operations, counted (not timed)
so that what ``auto`` decides from it never depends on the wall clock.

A training pass costs about three forward passes (forward, and a backward of twice its
work); a forward pass of a job is its encoder's plus its decoders', counted once per
model shape with :class:`torch.utils.flop_counter.FlopCounterMode` on one image.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch.utils.flop_counter import FlopCounterMode

from semnet.fl.execution.trainer import TrainJob

log = logging.getLogger(__name__)

BACKWARD_FACTOR = 3.0  # forward + backward (about twice the forward) of a training pass


def _shape_key(job: TrainJob, hw: tuple[int, ...]) -> tuple:
    def sig(module):
        return type(module).__qualname__, sum(p.numel() for p in module.parameters())

    return hw, sig(job.encoder), tuple(sig(t.decoder) for t in job.tasks)


def forward_flop(job: TrainJob) -> float | None:
    """FLOP of one image's forward pass through ``job``'s encoder and decoders; None where
    it cannot be counted (data without images, a model the counter cannot run)."""
    images = getattr(job.data, "images", None)
    if images is None or images.dim() != 4 or not job.tasks:
        return None
    x = torch.zeros((1, *images.shape[1:]), dtype=torch.float32, device=images.device)
    snr = torch.tensor([float(next(iter(job.tasks[0].snr_db), 10.0))], device=images.device)
    modules = [job.encoder, *(t.decoder for t in job.tasks)]
    modes = [m.training for m in modules]
    try:  # eval mode and no grad: no buffer (batch-norm statistics) or random state moves
        for m in modules:
            m.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]), \
                FlopCounterMode(display=False) as counter:
            latent = job.encoder(x, snr if getattr(job.encoder, "snr_aware", True) else None)
            for task in job.tasks:
                task.decoder(latent, snr)
        return float(counter.get_total_flops())
    except Exception as err:  # noqa: BLE001 - a model the counter cannot run: the work stays unknown
        log.debug("could not count the FLOP of job %r: %s", job.key, err)
        return None
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


def round_work(jobs: Sequence[TrainJob]) -> tuple[float | None, float | None]:
    """(FLOP of the round's largest training step, FLOP of its whole training); (None,
    None) where any job's work cannot be counted."""
    cache: dict[tuple, float | None] = {}
    largest_step = total = 0.0
    for job in jobs:
        images = getattr(job.data, "images", None)
        key = _shape_key(job, tuple(images.shape[1:]) if images is not None else ())
        if key not in cache:
            cache[key] = forward_flop(job)
        forward = cache[key]
        batch = getattr(job.data, "batch_size", None)
        if forward is None or batch is None:
            return None, None
        step = BACKWARD_FACTOR * forward * batch
        largest_step = max(largest_step, step)
        total += step * job.steps
    return largest_step, total
