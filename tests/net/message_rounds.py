"""Rounds of model messages of many sizes, one per image link, for the checks that the
compiled packet loops write the numpy loops' events bit for bit."""

from __future__ import annotations

from semnet.sim import Message, Simulator, Task

# bytes of the message of each image link (in order; links past the 12th send none):
# multi-packet, single-packet, one short of a packet, one byte
MESSAGE_BYTES = (100_000, 3000, 50_000, 1499, 200_000, 7000, 20000, 1, 100_000, 60_000, 12000, 24001)


def play_message_rounds(net, rounds: int) -> tuple[list[dict], Simulator]:
    """(event records, the simulator) after ``rounds`` rounds of those messages on ``net``."""
    records: list[dict] = []
    speeds = {u: 100.0 for u in net.users} | {net.aggregator: 100.0}
    sim = Simulator(net, seed=0, compute_speed=speeds, sink=records.append)
    tasks = [Task(key=link, node=link[0], uploads=(Message(*link, "model", 8 * size),))
             for link, size in zip(net.image_links(), MESSAGE_BYTES)]
    for r in range(rounds):
        sim.label = {"round": r}
        sim.play_round(tasks)
    return records, sim
