"""Exchange-only protocol: model-sized messages (and optionally semantic image bursts)
over every image link, round after round, with no learning. It exercises the
network layer on its own and reports bytes and simulated time, no quality."""

from __future__ import annotations

from semnet.fl.loop.context import ClientPlan, PhaseRecord, RunContext
from semnet.fl.loop.strategy import RoundStrategy, run_rounds
from semnet.scenario.schema import ExchangeSpec
from semnet.sim import Message, Task


class ExchangeRounds(RoundStrategy):
    """Every image link sends one model-sized message (and its image burst) a round."""

    uses = ("topology",)

    aggregates = False

    def __init__(self, ctx: RunContext, spec: ExchangeSpec, symbols_per_image: int):
        super().__init__(ctx)
        self.spec, self.symbols_per_image = spec, symbols_per_image

    def configure(self, rnd: int) -> list[ClientPlan]:
        spec, plans = self.spec, []
        for i, j in self.ctx.topology.image_links():
            messages = [Message(i, j, "model", 8 * spec.message_bytes)]
            if spec.semantic_images:
                messages.append(Message(i, j, "semantic", symbols=spec.semantic_images * self.symbols_per_image))
            plans.append(ClientPlan(Task(key=(i, j), node=i, uploads=tuple(messages))))
        return plans

    def pairing(self) -> None:
        return None  # no models


def run_exchange(ctx: RunContext, spec: ExchangeSpec, symbols_per_image: int) -> PhaseRecord:
    return run_rounds(ctx, ExchangeRounds(ctx, spec, symbols_per_image), spec.rounds, phase="exchange")
