"""The headroom oracle: per link, the best any personalisation could reach from a start.

For every image link i->j a copy of the start's encoder and decoder is fine-tuned
jointly on the sender i's training images only, through link i->j's channel (its SNR,
its fading model and CSI, as the evaluator meets them), ignoring who may share what: no
message travels, the pair is trained where i's images are. It trains ``rounds`` chunks
of ``local`` steps; after each chunk (and before the first) the pair is scored on i's
validation images of that link and the best pair so far is kept, so the bound never
rests on an over-fitted last chunk (without validation images the last pair is kept).
With a ``patience`` a link stops training at its plateau (:class:`Plateau`), so that the
bound is a trained one rather than the cut of a fixed budget; ``rounds`` is then the cap,
and the links still improving when it is reached are reported.

Its per-link test PSNR minus the start's is the link's headroom; the fraction of it a
method captures is in :mod:`semnet.fl.methods.headroom`.
"""

from __future__ import annotations

import copy

from torch import nn

from semnet.fl.loop.context import ClientPlan, RunContext
from semnet.fl.loop.evaluation import LinkModules
from semnet.fl.loop.strategy import ClientReply, Pairing, RoundStrategy
from semnet.fl.execution.trainer import TrainJob, simulated_samples
from semnet.scenario.schema import LocalTrainSpec
from semnet.sim import Task


class Plateau:
    """Per link: how many chunks in a row have not raised its best validation PSNR by
    ``min_gain_db`` (the first score, of the start, sets the best). A link whose count
    reaches ``patience`` has plateaued; ``patience=None`` never stops one."""

    def __init__(self, patience: int | None, min_gain_db: float):
        self.patience, self.min_gain_db = patience, min_gain_db
        self.best_db: dict = {}
        self.stale: dict = {}
        self.stopped_at: dict = {}  # link -> the chunk after which it stopped

    def record(self, link, value_db: float, rnd: int) -> None:
        best = self.best_db.get(link)
        if best is None or value_db >= best + self.min_gain_db:
            self.stale[link] = 0
        else:
            self.stale[link] = self.stale.get(link, 0) + 1
        if best is None or value_db > best:
            self.best_db[link] = value_db
        if self.patience is not None and self.stale[link] >= self.patience and link not in self.stopped_at:
            self.stopped_at[link] = rnd

    def active(self, link) -> bool:
        return link not in self.stopped_at


class LinkOracle(RoundStrategy):
    """One (encoder, decoder) pair per image link, trained jointly on the sender's
    training images at the link's SNR. Pairing: link i->j uses its own pair (the best
    one so far on validation images)."""

    uses = ("topology", "data", "random", "phases")

    aggregates = False
    reports = False

    def __init__(self, ctx: RunContext, start: nn.Module, local: LocalTrainSpec, plateau: Plateau | None = None):
        super().__init__(ctx)
        self.local = local
        self.plateau = plateau or Plateau(None, 0.0)
        links = self.ctx.topology.image_links()
        self.encoders = LinkModules({link: copy.deepcopy(start.encoder) for link in links})
        self.decoders = LinkModules({link: copy.deepcopy(start.decoder) for link in links})
        self.best_encoders = LinkModules({link: copy.deepcopy(start.encoder) for link in links})
        self.best_decoders = LinkModules({link: copy.deepcopy(start.decoder) for link in links})
        self.best_round: dict[tuple[int, int], int] = {}
        self.validates = self.ctx.phases.validates

    @property
    def best_db(self) -> dict[tuple[int, int], float]:
        """Each link's best validation PSNR so far (kept by the plateau watch)."""
        return self.plateau.best_db

    def pairing(self) -> Pairing:
        return self.best_encoders, self.best_decoders

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, local = self.ctx, self.local
        if rnd == 1 and self.validates:  # the start itself is the first candidate
            self._keep_best(0)
        plans = []
        for i, j in ctx.topology.image_links():
            if not self.plateau.active((i, j)):  # at its plateau: trains no more
                continue
            steps = local.steps_for(ctx.data.samples(i))

            def make(i=i, j=j, steps=steps, rnd=rnd):
                return [TrainJob(key=(i, j), encoder=self.encoders[(i, j)],
                                 tasks=[ctx.data.loss_task(self.decoders[(i, j)], [(i, j)])],
                                 data=ctx.data.stream(i, local.batch_size),  # the sender's training images only
                                 steps=steps, train=("encoder", "decoders"), lr=local.lr, optimizer=local.optimizer,
                                 generator=ctx.random.generator("oracle", rnd, i, j))]

            plans.append(ClientPlan(Task(key=(i, j), node=i, samples=simulated_samples(steps, local.batch_size)),
                                    make))
        return plans

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        if self.validates:
            self._keep_best(rnd)
        else:  # nothing to choose by: the latest pair
            for link in self.encoders:
                self._copy(link)
                self.best_round[link] = rnd

    def _keep_best(self, rnd: int) -> None:
        """Score every link's current pair on the validation images; keep the better (a
        link whose sender holds no validation images keeps its latest pair)."""
        links, _ = self.ctx.phases.evaluate(self.encoders, self.decoders, validation=True)
        scored = {(q.src, q.dst): q.psnr_db for q in links}
        for link in self.encoders:
            value = scored.get(link)
            improved = value is not None and (link not in self.best_db or value > self.best_db[link])
            if value is not None:
                self.plateau.record(link, value, rnd)  # raises best_db on an improvement
            if value is None or improved:
                self.best_round[link] = rnd
                self._copy(link)

    def all_plateaued(self) -> bool:
        return all(not self.plateau.active(link) for link in self.encoders)

    def _copy(self, link: tuple[int, int]) -> None:
        self.best_encoders[link].load_state_dict(self.encoders[link].state_dict())
        self.best_decoders[link].load_state_dict(self.decoders[link].state_dict())
