"""Record the reference runs of ``interference_reference.json``.

They were recorded once, by the interference book as it was before it was made fast
(commit 3b384d7: a Python list of records per band scanned on every booking, one
fading draw per hit, the per-attempt SINR scan in numpy with a Python loop over
attempts that an interferer starts or ends inside). This script is kept to show how
they were made. Do not re-record to make a failing regression test pass: a difference
means the draws, their order or the arithmetic changed.

    PYTHONPATH=. .venv/bin/python tests/sim/record_interference_reference.py

Each case is a small random geometric network playing exchange rounds (every link
uploads one message per round, as ``benchmarks/bench_network.py`` does) with
``links.interference.model: sinr``. Stored exactly (JSON floats round-trip): every
message's event record (``sinr_db`` included), the records still on the air before
the end of the run with every hit they met (:meth:`OnAir.as_tuple`; as a SHA-256 of
their JSON, thousands of hits), the book's next
fading draw, and the per-link final SINR records after the end (``sim.sinr_log``).

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
from semnet.scenario.links import InterferenceSpec, PathLossSpec
from semnet.scenario.schema import ChannelSpec, LinksSpec, RateSpec
from semnet.scenario.topology import MobilitySpec, topology_spec
from semnet.sim import Message, Simulator, Task
from tests.reference_machine import simd

PATH = Path(__file__).with_name("interference_reference.json")

# name -> (users, area_m, radius_m, links options, mobile, rounds)
CASES = {
    "static_dedicated": (12, 300.0, 150.0, {}, False, 3),
    "mobile_gauss_markov": (12, 300.0, 150.0, {"channel": ChannelSpec(time_correlation="gauss_markov")}, True, 3),
    "node_radio_greedy_bands": (14, 300.0, 150.0, {"medium": "node_radio", "bands": 2, "band_assignment": "greedy"},
                                False, 3),
    "rician_node_radio": (12, 300.0, 150.0, {"medium": "node_radio", "fading": "rician", "k_factor": 2.0}, False, 2),
    "wide_cutoff_edge": (24, 1000.0, 380.0, {}, False, 2),
}


def build(case: str):
    users, area_m, radius_m, options, mobile, rounds = CASES[case]
    mobility = MobilitySpec(model="random_waypoint", speed_mps=(1.0, 3.0)) if mobile else MobilitySpec()
    topology = topology_spec(kind="random_geometric", num_users=users, area_m=area_m, radius_m=radius_m,
                             mobility=mobility)
    links = LinksSpec(**{"snr_db": None, "fading": "rayleigh",
                         "rate": RateSpec(mode="shannon", backoff=0.5, max_retries=4, min_sinr_db=None),
                         "path_loss": PathLossSpec(exponent=3.5), "interference": InterferenceSpec(model="sinr"),
                         **options})
    return build_network(topology, links, 7), rounds


def run(case: str) -> dict:
    """One case's exact results (module docstring)."""
    network, rounds = build(case)
    events: list[dict] = []
    speeds = {node: 500.0 for node in network.users}
    speeds[network.aggregator] = 500.0
    sim = Simulator(network, seed=3, compute_speed=speeds, sink=events.append)
    tasks = [Task(key=(i, j), node=i, uploads=(Message(i, j, "model", 8 * 20_000),)) for i, j in network.image_links()]
    for r in range(rounds):
        sim.label = {"round": r + 1}
        sim.play_round(tasks)
    book = sim.book
    on_air = digest({str(band): [r.as_tuple() for r in records] for band, records in sorted(book.air.items())})
    next_draw = float(book.rng.standard_normal())  # the book's stream: how many draws were made
    sim.finish()
    final = {f"{k[0]}->{k[1]}": [list(v) for v in values] for k, values in sorted(sim.sinr_log.items(), key=str)}
    return {"events": events, "on_air": on_air, "next_draw": next_draw, "final": final}


def digest(value) -> str:
    """SHA-256 of ``value``'s JSON (floats exact): the records on the air hold thousands of hits."""
    return hashlib.sha256(json.dumps(value, separators=(",", ":")).encode()).hexdigest()


def environment() -> dict:
    return {"numpy": np.__version__, "machine": platform.machine(), "simd": simd()}


def main() -> None:
    data = {"environment": environment(), "cases": {case: run(case) for case in CASES}}
    PATH.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {PATH} ({PATH.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
