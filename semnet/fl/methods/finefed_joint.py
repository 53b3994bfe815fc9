"""FineFed with joint steps (``method.name: finefed_joint``): encoders and decoders
co-adapt inside one step, under FineFed's constraints.

FineFed alternates an encoder step (decoders frozen) and a decoder step (encoders
frozen). The headroom oracle, which trains each link's encoder and decoder *together*,
reaches far more from the same start, so the alternation itself may be what leaves
gain unused. A joint step keeps everything FineFed allows to travel and nothing more:

* every receiver j sends ``D_j`` to its transmitters (only to one lacking that version);
* transmitter i trains ``E_i`` *and* its copies of its receivers' decoders together on
  its own images, with the multi-task loss ``sum_j w_ij * MSE(x, D_j(ch_ij(E_i(x))))``
  through each link's channel (``finetune.encoder``: steps, batch, rate);
* ``E_i`` stays with i; each copy of ``D_j`` goes back to j as an update, and j
  averages its transmitters' copies (weighted by their data), as in FineFed's
  decoder step.

No image leaves its user; only decoders and decoder updates travel. Each iteration
k = 1..K plays ``decoder_rounds`` such rounds as one phase ``finefed_<k>_joint``. The
controls are budget-matched to the bytes and passes these steps actually spend.
"""

from __future__ import annotations

from torch import nn

from semnet.fl.algorithms.aggregation import tensors_of
from semnet.fl.loop.context import ClientPlan, PhaseRecord, RunContext
from semnet.fl.methods.finefed import DecoderStep, PersonalModels, decoder_downloads, multitask_job, task_weights
from semnet.fl.loop.strategy import ClientReply, run_rounds
from semnet.fl.execution.trainer import simulated_samples
from semnet.fl.loop.versions import version_of
from semnet.scenario.schema import FineTuneSpec
from semnet.sim import Message, Task


class JointStep(DecoderStep):
    """Each transmitter trains its encoder with copies of its receivers' decoders (one
    multi-task job); receivers average the copies of their decoder."""

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, models, spec = self.ctx, self.models, self.spec
        self._start.clear()
        local = spec.encoder
        plans = []
        versions = {j: version_of(models.decoders[j]) for j in ctx.topology.users if ctx.topology.transmitters(j)}
        for i in ctx.topology.users:
            receivers = ctx.topology.receivers(i)
            if not receivers:
                continue
            held, downloads = decoder_downloads(ctx, models, i, receivers, versions)
            uploads = tuple(Message(i, j, "decoder_update",
                                    ctx.rounds.codecs.bits("updates", tensors_of(models.decoders[j]), difference=True))
                            for j in receivers)
            steps = local.steps_for(ctx.data.samples(i))

            def make(i=i, receivers=receivers, steps=steps, rnd=rnd, held=held):
                weights = task_weights(ctx, i, receivers, spec.task_weights)
                tasks = [ctx.data.loss_task(self.decoder_copy(i, j, versions[j], held[j]), [(i, j)], w)
                         for j, w in zip(receivers, weights)]
                return [multitask_job(ctx, spec, i, models.encoders[i], tasks, steps, ("encoder", "decoders"),
                                      ctx.random.generator("joint_step", self.iteration, rnd, i))]

            task = Task(key=i, node=i, downloads=downloads,
                        samples=simulated_samples(steps, local.batch_size, len(receivers)), uploads=uploads)
            plans.append(ClientPlan(task, make, receives=tuple(versions[j] for j in receivers if not held[j])))
        return plans

    def trained_copies(self, replies: list[ClientReply]):
        for reply in replies:
            i = reply.key
            for j, task in zip(self.ctx.topology.receivers(i), reply.jobs[0].tasks):
                yield i, j, task.decoder

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        for reply in replies:  # each transmitter sends with its new encoder once it has trained it
            self.ctx.deployment.deploy(reply.key, encoder=self.models.encoders[reply.key], at_s=reply.plan.outcome.compute_end_s)
        super().aggregate(rnd, replies, failures)


def finetune_joint(ctx: RunContext, start: nn.Module, spec: FineTuneSpec) -> tuple[PersonalModels, list[PhaseRecord]]:
    """K joint iterations from the global model ``start``; one phase per iteration."""
    models = PersonalModels(start, ctx.topology.users)
    phases = [run_rounds(ctx, JointStep(ctx, models, spec, k), spec.decoder_rounds, phase=f"finefed_{k}_joint")
              for k in range(1, spec.iterations + 1)]
    return models, phases
