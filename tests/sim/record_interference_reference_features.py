"""Record the reference runs of ``interference_reference_features.json``.

Recorded once, against the list book of commit 9691b54 (main when the column book of
``semnet/sim/band_air.py`` was merged with carrier sensing, several cells and MCS),
with those features on: node radios with carrier sensing (shared receivers, deaf
receivers), carrier sensing with Rician fading on two bands, MCS with and without it,
and a cell medium with three base stations, unicast and broadcast downlinks (records
on the air between user and station, broadcast records that do not radiate). Do not
re-record to make a failing regression test pass (see
``record_interference_reference.py``); this script shows how they were made:

    PYTHONPATH=. .venv/bin/python tests/sim/record_interference_reference_features.py

Each case plays three rounds: every image link uploads one message (``exchange``), or
every user downloads one from the aggregator, computes and uploads one (``star``). Stored
as SHA-256 digests of their JSON (floats exact): the events, the records on the air
before the end with every hit, the final SINR records; and the book's next draw.

The rate floor (``links.rate.min_sinr_db``, default -10 dB) came after the recording: the
cases turn it off (``min_sinr_db=None``), so they run the book the list book was.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import numpy as np

from semnet.net.network import build_network
from semnet.scenario.links import CellsSpec, CsmaSpec, InterferenceSpec, PathLossSpec
from semnet.scenario.schema import LinksSpec, RateSpec
from semnet.scenario.topology import topology_spec
from semnet.sim import Message, Simulator, Task

PATH = Path(__file__).with_name("interference_reference_features.json")

_CSMA = CsmaSpec(enabled=True)
_STATIONS = ((50.0, 50.0), (250.0, 250.0), (50.0, 250.0))
# name -> (users, links options, traffic)
CASES = {
    "csma_rayleigh": (14, {"medium": "node_radio", "csma": _CSMA}, "exchange"),
    "csma_rician_two_bands": (14, {"medium": "node_radio", "csma": _CSMA, "fading": "rician", "k_factor": 2.0,
                                   "bands": 2, "band_assignment": "greedy"}, "exchange"),
    "csma_mcs": (12, {"medium": "node_radio", "csma": _CSMA, "rate": RateSpec(mode="mcs", max_retries=3, min_sinr_db=None)}, "exchange"),
    "mcs_dedicated": (12, {"rate": RateSpec(mode="mcs", max_retries=3, min_sinr_db=None)}, "exchange"),
    "cells_broadcast": (12, {"medium": "cell", "scheduler": "tdma", "downlink": "broadcast",
                             "cells": CellsSpec(positions_m=_STATIONS, reuse=1)}, "star"),
    "cells_unicast_reuse_2": (12, {"medium": "cell", "scheduler": "tdma", "downlink": "unicast",
                                   "cells": CellsSpec(positions_m=_STATIONS, reuse=2)}, "star"),
}


def run(case: str) -> dict:
    """One case's digests (module docstring)."""
    users, options, traffic = CASES[case]
    topology = topology_spec(kind="random_geometric", num_users=users, area_m=300.0, radius_m=150.0)
    links = LinksSpec(**{"snr_db": None, "fading": "rayleigh",
                         "rate": RateSpec(mode="shannon", backoff=0.5, max_retries=4, min_sinr_db=None),
                         "path_loss": PathLossSpec(exponent=3.5), "interference": InterferenceSpec(model="sinr"),
                         **options})
    network = build_network(topology, links, 7)
    events: list[dict] = []
    speeds = {node: 500.0 for node in (*network.users, network.aggregator)}
    sim = Simulator(network, seed=3, compute_speed=speeds, sink=events.append)
    agg, bits = network.aggregator, 8 * 20_000
    if traffic == "exchange":
        tasks = [Task(key=(i, j), node=i, uploads=(Message(i, j, "model", bits),)) for i, j in network.image_links()]
    else:
        tasks = [Task(key=u, node=u, downloads=(Message(agg, u, "model", bits),), samples=10,
                      uploads=(Message(u, agg, "model", bits),)) for u in network.users]
    for r in range(3):
        sim.label = {"round": r + 1}
        sim.play_round(tasks)
    book = sim.book
    on_air = digest({str(band): [r.as_tuple() for r in records] for band, records in sorted(book.air.items())})
    next_draw = float(book.rng.standard_normal())
    sim.finish()
    final = {str(k): [list(v) for v in values] for k, values in sorted(sim.sinr_log.items(), key=str)}
    return {"events": len(events), "events_digest": digest(events), "on_air": on_air, "next_draw": next_draw,
            "final": digest(final)}


def digest(value) -> str:
    """SHA-256 of ``value``'s JSON (floats exact)."""
    return hashlib.sha256(json.dumps(value, separators=(",", ":")).encode()).hexdigest()


def main() -> None:
    data = {"environment": {"numpy": np.__version__, "machine": platform.machine()},
            "cases": {case: run(case) for case in CASES}}
    PATH.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
