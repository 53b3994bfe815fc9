"""Exchange-only protocol: model-sized messages (and optionally semantic image bursts)
over every image link, round after round, with no learning. It exercises the
network layer on its own and reports bytes and simulated time, no quality."""

from __future__ import annotations

from semnet.fl.context import ClientPlan, PhaseRecord, RunContext
from semnet.scenario.schema import ExchangeSpec
from semnet.sim import Message, Task


def run_exchange(ctx: RunContext, spec: ExchangeSpec, symbols_per_image: int) -> PhaseRecord:
    ctx.begin_phase("exchange")
    links = ctx.image_links()
    for _ in range(spec.rounds):
        plans = []
        for i, j in links:
            messages = [Message(i, j, "model", 8 * spec.message_bytes)]
            if spec.semantic_images:
                messages.append(Message(i, j, "semantic", symbols=spec.semantic_images * symbols_per_image))
            plans.append(ClientPlan(Task(key=(i, j), node=i, uploads=tuple(messages))))
        ctx.play(plans)
        ctx.report()
    return ctx.end_phase()
