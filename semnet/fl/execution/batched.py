"""Batched training (``simulation.trainer: batched``): a round's same-shaped jobs as one
stacked model.

Many users' small models leave a GPU idle when trained one after another. Here the
jobs of a round that may run at the same time (one per chain, see
:func:`~semnet.fl.execution.parallel.job_chains`: a chain's second job waits for its first, so
the round runs in *waves*) and have the same shape — module classes and tensor
shapes, number of tasks, steps, batch, optimiser, learning rate, what moves — train
together: their parameters are stacked (``torch.func.stack_module_state``), one
``torch.func.vmap`` of ``functional_call`` runs every job's encoder and decoders at
once, and one optimiser steps the stacked tensors (Adam and SGD act element by
element, so each slice follows its own job's optimiser exactly).

Each job still draws its own batches from its own stream and its SNRs, fading and
noise from its own generator, in the order the sequential trainer draws them (each
image's gain from its own link's channel, :func:`~semnet.channels.layer.link_channels.draw_gains`), so
the two trainers agree up to float rounding (the stacked convolutions sum in
another order), not bit for bit. Jobs that do not fit — alone of their shape, a
persistent optimiser, one module object trained under two tasks, a channel class
other than :class:`~semnet.models.Channel` — run through the sequential trainer.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from semnet.channels import complex_normal_torch
from semnet.fl.execution.terms import stackable
from semnet.registry import trainers
from semnet.fl.execution.parallel import job_chains
from semnet.fl.execution.trainer import JobResult, Trainer, TrainJob, _make_optimizer
from semnet.models import Channel
from semnet.channels.layer.channel import from_complex, noise_variance, power_normalize, to_complex
from semnet.channels.layer.link_channels import draw_gains, equalise

__all__ = ["BatchedTrainer"]


def _shape_key(module: nn.Module) -> tuple:
    return (type(module), tuple((k, tuple(v.shape), v.dtype) for k, v in module.state_dict().items()))


class _Stack:
    """One module slot (the encoder, or task t's decoder) of every job in a group."""

    def __init__(self, modules: list[nn.Module], trained: bool):
        self.modules = modules
        params, buffers = stack_module_state(modules)  # copies, stacked on a new dim 0
        self.params = {k: v.detach().requires_grad_(trained) for k, v in params.items()}
        self.buffers = buffers
        self.base = copy.deepcopy(modules[0]).to("meta")
        self.trained = trained

    def __call__(self, inputs: Tensor, snr: Tensor | None) -> Tensor:
        def one(params, buffers, x, s):
            return functional_call(self.base, (params, buffers), (x, s))

        if snr is None:
            return vmap(lambda p, b, x: one(p, b, x, None))(self.params, self.buffers, inputs)
        return vmap(one)(self.params, self.buffers, inputs, snr)

    def leaves(self) -> list[Tensor]:
        return list(self.params.values()) if self.trained else []

    def write_back(self) -> None:
        with torch.no_grad():
            for j, module in enumerate(self.modules):
                named = dict(module.named_parameters())
                named.update(dict(module.named_buffers()))
                for k, v in {**self.params, **self.buffers}.items():
                    named[k].copy_(v[j])
                module.train()


@trainers.register("batched", "a round's same-shaped jobs as one stacked model (torch.func.vmap), in one process")
class BatchedTrainer(Trainer):
    """Trains same-shaped jobs of a round together (see the module docstring)."""

    min_group = 2

    def run(self, jobs: Sequence[TrainJob]) -> list[JobResult]:
        jobs = list(jobs)
        results: list[JobResult | None] = [None] * len(jobs)
        chains = job_chains(jobs)
        depth = max((len(c) for c in chains), default=0)
        for wave in range(depth):
            members = [c[wave] for c in chains if len(c) > wave]
            groups: dict[tuple, list[int]] = {}
            for k in members:
                groups.setdefault(self._signature(jobs[k]), []).append(k)
            for signature, group in groups.items():
                if signature is None or len(group) < self.min_group:
                    for k in group:
                        results[k] = super().run([jobs[k]])[0]
                else:
                    for k, result in zip(group, self._run_group([jobs[k] for k in group])):
                        results[k] = result
        return results  # type: ignore[return-value]

    def _signature(self, job: TrainJob) -> tuple | None:
        if job.optimizer_obj is not None or job.scheduler_obj is not None:
            return None
        if self.task_term is not None:
            return None  # the task loss has no stacked form: every job trains alone (the sequential steps)
        if any(type(channel) is not Channel for channel in self.channels.distinct()):
            return None
        if not hasattr(job.data, "batch_size") or job.only:
            return None  # (a job that moves named parameters only trains alone)
        if not all(stackable(term) for term in job.terms):
            return None  # a term without a batched form: its job trains alone
        decoders = [t.decoder for t in job.tasks]
        if "decoders" in job.train and len({id(d) for d in decoders}) < len(decoders):
            return None  # one trained decoder under two tasks: its stacked copies would drift apart
        if "encoder" in job.train and any(d is job.encoder for d in decoders):
            return None
        return (
            _shape_key(job.encoder), tuple(_shape_key(d) for d in decoders), job.train, job.steps, job.lr,
            job.optimizer, job.weighting if len(job.tasks) > 1 else "fixed",
            tuple((type(term), term.batch_key()) for term in job.terms), job.data.batch_size,
            tuple((t.snr_uniform_db is None, len(t.snr_db)) for t in job.tasks),
            getattr(job.encoder, "snr_aware", True),
        )

    def _run_group(self, jobs: list[TrainJob]) -> list[JobResult]:
        saved = [(m, m.training) for job in jobs for m in [job.encoder] + [t.decoder for t in job.tasks]]
        try:
            return self._train_group(jobs)
        finally:
            for m, _ in saved:
                m.train()

    def _train_group(self, jobs: list[TrainJob]) -> list[JobResult]:
        first = jobs[0]
        n_jobs, n_tasks = len(jobs), len(first.tasks)
        device = self.device
        encoders = _Stack([j.encoder for j in jobs], "encoder" in first.train)
        decoders = [_Stack([j.tasks[t].decoder for j in jobs], "decoders" in first.train) for t in range(n_tasks)]
        leaves = encoders.leaves() + [p for d in decoders for p in d.leaves()]
        groups = [{"params": leaves}]
        log_vars = None
        if first.weighting == "uncertainty" and n_tasks > 1:
            log_vars = torch.zeros(n_jobs, n_tasks, device=device, requires_grad=True)
            groups.append({"params": [log_vars]})
        optimizer = _make_optimizer(first.optimizer, groups, first.lr)
        weights = torch.tensor([[float(t.weight) for t in j.tasks] for j in jobs], device=device)  # (J, T)
        choices = [[torch.tensor(list(t.snr_db), dtype=torch.float32, device=device) for t in j.tasks] for j in jobs]
        routes = [[self.route(t) for t in j.tasks] for j in jobs]
        # each term position of the group's jobs as one stacked term (same classes and keys: _signature)
        terms = [type(column[0]).stack(column, device) for column in zip(*[j.terms for j in jobs])]
        for term in terms:
            term.begin(leaves)
        reuse_latent = not getattr(first.encoder, "snr_aware", True)
        task_sums = torch.zeros(n_jobs, n_tasks, device=device)
        latent_shape = None
        # one receiver rule for the whole group where every image meets one CSI setting
        # (every run without per-link kinds); else one per image
        kinds = {bool(ch.csi) for job_routes in routes for chans, _ in job_routes for ch in chans}
        csi = kinds.pop() if len(kinds) == 1 else None
        for _ in range(first.steps):
            x = torch.stack([j.data.next() for j in jobs])  # (J, B, 3, H, W)
            batch = x.shape[1]
            if latent_shape is None:
                with torch.no_grad():
                    latent_shape = tuple(first.encoder(x[0, :1], torch.zeros(1, device=device)).shape[1:])
                k = int(torch.tensor(latent_shape).prod()) // 2
            # every job's draws, in the sequential trainer's order: per task, SNRs, fading, noise
            snr = torch.empty(n_tasks, n_jobs, batch, device=device)
            h = torch.empty(n_tasks, n_jobs, batch, dtype=torch.complex64, device=device)
            noise = torch.empty(n_tasks, n_jobs, batch, k, dtype=torch.complex64, device=device)
            csi_of = None if csi is not None else torch.empty(n_tasks, n_jobs, batch, dtype=torch.bool, device=device)
            for j, job in enumerate(jobs):
                for t, task in enumerate(job.tasks):
                    channels, which = routes[j][t]
                    snr[t, j], choice = self._snr_choice(task, choices[j][t], batch, device, job.generator,
                                                         which is not None)
                    h[t, j], per_image = draw_gains(channels, None if which is None else which[choice], batch,
                                                    job.generator, device, torch.float32)
                    if csi_of is not None:
                        csi_of[t, j] = per_image if per_image is not None else bool(channels[0].csi)
                    noise[t, j] = complex_normal_torch((batch, k), job.generator, device, torch.float32)
            total = x.new_zeros(())
            per_task = []
            z = None
            if reuse_latent:
                with self._autocast():
                    latent = encoders(x, None)
                z = power_normalize(to_complex(latent.float().reshape(n_jobs * batch, *latent_shape)))
            for t in range(n_tasks):
                if z is None:
                    with self._autocast():
                        latent = encoders(x, snr[t])
                    zt = power_normalize(to_complex(latent.float().reshape(n_jobs * batch, *latent_shape)))
                else:
                    zt = z
                sigma2 = noise_variance(snr[t].reshape(-1)).unsqueeze(1)
                gain = h[t].reshape(-1, 1)
                y = gain * zt + noise[t].reshape(n_jobs * batch, k) * sigma2.sqrt()
                y = equalise(y, gain, sigma2, csi if csi is not None else csi_of[t].reshape(-1))
                received = from_complex(y, latent_shape).to(x.dtype).reshape(n_jobs, batch, *latent_shape)
                with self._autocast():
                    x_hat = decoders[t](received, snr[t])
                squared = (x_hat.float() - x) ** 2
                if self.loss == "mse":
                    task_loss = squared.reshape(n_jobs, -1).mean(dim=1)
                else:
                    per_image = squared.reshape(n_jobs, batch, -1).mean(dim=2)
                    task_loss = (10.0 * torch.log10(per_image + 1e-10)).mean(dim=1)
                task_sums[:, t] += (task_loss if self.loss == "mse" else squared.reshape(n_jobs, -1).mean(1)).detach()
                per_task.append(task_loss)
            losses = torch.stack(per_task, dim=1)  # (J, T)
            if log_vars is not None:
                total = (weights * (torch.exp(-log_vars) * losses + log_vars)).sum()
            else:
                total = (weights * losses).sum()
            for term in terms:
                penalty = term.penalty(leaves, n_jobs)
                if penalty is not None:
                    total = total + penalty
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            for term in terms:
                term.after_backward(leaves)
            optimizer.step()
        encoders.write_back() if encoders.trained else None
        for d in decoders:
            if d.trained:
                d.write_back()
        steps = max(first.steps, 1)
        means = (task_sums / steps).tolist()
        out = []
        for j, job in enumerate(jobs):
            task_losses = means[j]
            reports: dict = {}
            for term in terms:
                reports.update(term.report(j, first.steps))
            out.append(JobResult(
                key=job.key, steps=job.steps, passes=job.steps * max(n_tasks, 1),
                loss=sum(float(t.weight) * l for t, l in zip(job.tasks, task_losses)),
                task_losses=task_losses,
                reports=reports,
            ))
        return out
