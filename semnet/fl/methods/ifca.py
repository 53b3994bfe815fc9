"""IFCA (Ghosh et al., 2020), the iterative federated clustering algorithm, as a round
strategy: k cluster models, each user trains the one that fits its own images best,
FedAvg within each cluster.

**What a cluster is, for semantic communication.** A cluster holds a whole (encoder,
decoder) pair, and a user is clustered as a *transmitter*: it scores every pair on its
own images sent over its outgoing links (their SNRs and channels: the task its
encoder serves) and trains the pair it chose on that task. Link i->j then uses the
pair of the cluster *i* chose, encoder and decoder: the receiver decodes with the
decoder of its transmitter's cluster, not of its own (a pair trained together is the
only one known to fit). The receiver holds every cluster's model: each round it
downloads all k to score them, and the closing round brings every user the final
models of its own cluster and of its transmitters' clusters.

**Rounds.** One IFCA iteration is two simulator rounds:

* *choose*: every user downloads the cluster models it lacks and scores each on one
  batch of its own images; every cluster meets the same images and the same channel
  draws (a paired comparison) and the lowest loss wins (ties: the lower index, see
  :func:`chosen_cluster`). A probe is a job of one optimiser step at rate 0 on a
  throw-away copy: its forward and backward pass counts as one pass of the budget.
* *train*: every user trains a copy of its cluster's model (held from the choose
  round) for ``local`` steps and uploads its update; each cluster's model becomes the
  FedAvg of its users' copies (weighted by data size; a cluster nobody chose stays).

**Seeding.** k copies of the start would score alike and never part, so the first
round is a train round of k distinct users, drawn by the run's seed: cluster c is the
start trained by the c-th of them (IFCA's "initialise from different users").

A user whose choose task is lost keeps its previous choice; one that has not chosen
yet sits out the train round.
"""

from __future__ import annotations

import copy

from torch import nn

from semnet.errors import ScenarioError
from semnet.fl.loop.context import ClientPlan, RunContext
from semnet.fl.loop.evaluation import LinkModules
from semnet.fl.loop.strategy import ClientReply, Pairing, RoundStrategy
from semnet.fl.execution.trainer import TrainJob, simulated_samples
from semnet.fl.methods.baselines import SharedModel, model_pair
from semnet.scenario.schema import LocalTrainSpec
from semnet.sim import Message, Task


def chosen_cluster(losses: list[float]) -> int:
    """IFCA's choice: the index of the lowest loss (the lower index on a tie)."""
    return min(range(len(losses)), key=lambda c: (losses[c], c))


class IFCA(RoundStrategy):
    """k (encoder, decoder) pairs; every user trains the pair it scores best on its own
    images. Pairing: link i->j uses the pair of i's cluster (see the module docstring)."""

    uses = ("topology", "data", "random", "rounds")

    def __init__(self, ctx: RunContext, start: nn.Module, local: LocalTrainSpec, clusters: int):
        super().__init__(ctx)
        users = self.ctx.topology.users
        if clusters > len(users):
            raise ScenarioError(f"method.ifca.clusters = {clusters}: more clusters than users ({len(users)}); "
                                f"allowed: 2 to {len(users)}")
        self.local = local
        self.models = [copy.deepcopy(start) for _ in range(clusters)]
        self.syncs = [SharedModel(self.ctx, m, {f"ifca{c}.encoder": m.encoder, f"ifca{c}.decoder": m.decoder},
                                  "global_model") for c, m in enumerate(self.models)]
        seeds = self.ctx.random.rng("ifca_seed_users").choice(users, size=clusters, replace=False)
        self.choice: dict[int, int] = {int(u): c for c, u in enumerate(seeds)}  # user -> its cluster
        self.stage = "train"  # the next round's kind: the seeding round trains first
        self.iterations = 0  # train rounds played, the seeding one included

    @property
    def after_train(self) -> bool:
        """Whether the last round played trained (the budget is checked after those only)."""
        return self.stage == "choose"

    def pairing(self) -> Pairing:
        encoders, decoders = LinkModules(), LinkModules()
        for i, j in self.ctx.topology.image_links():
            pair = self.models[self.choice.get(i, 0)]
            encoders[(i, j)], decoders[(i, j)] = pair.encoder, pair.decoder
        return encoders, decoders

    def configure(self, rnd: int) -> list[ClientPlan]:
        for sync in self.syncs:
            sync.new_round()
        return self._choose_plans(rnd) if self.stage == "choose" else self._train_plans(rnd)

    def _task(self, user: int, decoder: nn.Module):
        return self.ctx.data.loss_task(decoder, self.ctx.topology.out_links(user))

    def _choose_plans(self, rnd: int) -> list[ClientPlan]:
        ctx, batch = self.ctx, self.local.batch_size
        plans = []
        for u in ctx.topology.users:
            held = [sync.holds(u) for sync in self.syncs]

            def make(u=u, held=held):
                jobs = []
                for c, sync in enumerate(self.syncs):
                    probe = sync.received(u, held[c])  # a copy, as u decoded or holds it
                    jobs.append(TrainJob(key=(u, c), encoder=probe.encoder, tasks=[self._task(u, probe.decoder)],
                                         data=ctx.data.probe_stream(u, batch, "ifca", rnd), steps=1, lr=0.0,
                                         optimizer="sgd", generator=ctx.random.generator("ifca_probe", rnd, u)))
                return jobs

            task = Task(key=u, node=u, downloads=tuple(m for s in self.syncs for m in s.downloads(u)),
                        samples=simulated_samples(1, batch, len(self.syncs)))
            plans.append(ClientPlan(task, make, receives=tuple(v for s in self.syncs for v in s.receives(u))))
        return plans

    def _train_plans(self, rnd: int) -> list[ClientPlan]:
        ctx, local = self.ctx, self.local
        server = ctx.topology.aggregator
        plans = []
        for u in sorted(self.choice):
            sync = self.syncs[self.choice[u]]
            steps = local.steps_for(ctx.data.samples(u))
            held = sync.holds(u)

            def make(u=u, sync=sync, steps=steps, held=held):
                model = sync.received(u, held)
                return [TrainJob(key=u, encoder=model.encoder, tasks=[self._task(u, model.decoder)],
                                 data=ctx.data.stream(u, local.batch_size), steps=steps, lr=local.lr,
                                 optimizer=local.optimizer, generator=ctx.random.generator("ifca_train", rnd, u))]

            task = Task(key=u, node=u, downloads=sync.downloads(u), samples=simulated_samples(steps, local.batch_size),
                        uploads=(Message(u, server, "model_update", sync.up_bits),))
            plans.append(ClientPlan(task, make, receives=sync.receives(u)))
        return plans

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        if self.stage == "choose":
            for reply in replies:
                self.choice[reply.key] = chosen_cluster([r.loss for r in reply.results])
            self.stage = "train"
            return
        by_cluster: dict[int, list[ClientReply]] = {}
        for reply in replies:
            by_cluster.setdefault(self.choice[reply.key], []).append(reply)
        for c, members in sorted(by_cluster.items()):
            weights = [self.ctx.data.samples(r.key) for r in members]
            self.syncs[c].aggregate([(r.key, model_pair(r.jobs[0])) for r in members], weights)
        self.iterations += 1
        self.stage = "choose"

    def closing_plans(self) -> list[ClientPlan]:
        """Every user downloads the final models it uses and lacks: its own cluster's (its
        encoder) and its transmitters' clusters' (their decoders)."""
        for sync in self.syncs:
            sync.new_round()
        plans = []
        for u in self.ctx.topology.users:
            needed = sorted({self.choice.get(u, 0)} | {self.choice.get(i, 0) for i in self.ctx.topology.transmitters(u)})
            syncs = [s for c, s in enumerate(self.syncs) if c in needed and not s.holds(u)]
            if not syncs:
                continue
            keep = (lambda u=u, syncs=syncs: _decode_and_keep(u, syncs)) if not all(s.exact for s in syncs) else None
            plans.append(ClientPlan(Task(key=u, node=u, downloads=tuple(m for s in syncs for m in s.downloads(u))),
                                    keep, receives=tuple(v for s in syncs for v in s.receives(u))))
        return plans

    def report(self) -> dict:
        """The clusters at the end: each user's choice, and how many train rounds ran."""
        return {"ifca_iterations": self.iterations,
                "clusters": [{"user": u, "cluster": c} for u, c in sorted(self.choice.items())]}


def _decode_and_keep(user: int, syncs: list[SharedModel]) -> list[TrainJob]:
    """A lossy codec's closing download: the user decodes and keeps each model (no training)."""
    for sync in syncs:
        sync.received(user)
    return []
