"""Throughput of the network simulator on exchange-only workloads.

Random geometric graphs of 10, 100 and 1,000 users (radius chosen for a mean degree
of about 7, so the per-user load is the same at every size) run rounds of the
exchange-only protocol: one task per image link uploading one model-sized message,
as ``semnet/fl/methods/exchange.py`` does, driven straight through ``Simulator.play_round``
(no learning, no run directory). Rounds are repeated until each size has at least
``--events`` message events.

Each size runs in these modes:

``fixed``           fixed-rate links, no event sink
``fixed+sink``      the same, each record written as JSON to a temporary
                    ``events.jsonl`` (the run directory's writer)
``shannon+rayleigh`` Shannon-rate links under Rayleigh block fading on static
                    links (packets, outage draws, retransmissions), no sink; the
                    packet loop compiled with numba (``semnet.net.block_fading``)
``shannon+rayleigh/numpy`` the same through the numpy reference loop
                    (``semnet.net.rate.plan_transmission``): same events, slower
``mobile+gm``       the channel over time: users on random waypoints at
                    1-3 m/s, Rayleigh fading correlated in time (Gauss–Markov,
                    rho = J0(2 pi f_D T), f_D from the mean speed at 2.4 GHz),
                    Shannon-rate packets whose attempts read h at their own time
                    (``semnet.net.arq``), no sink
``mobile+gm+trajectory`` the same with ``links.channel.doppler_speed: trajectory``:
                    each link's rho follows its ends' speeds step by step
``shannon+rayleigh+sinr`` Shannon-rate links under Rayleigh fading with
                    interference (``links.interference.model: sinr``, one band,
                    cut-off -20 dB): SNRs from log-distance path loss (exponent 3.5,
                    so the cut-off lies at about 370 m), every packet attempt against
                    the transmissions on the air (``semnet.sim.interference``), no
                    sink. Users at one density at every size (the square's side
                    ``1 km * sqrt(n / 1000)``): links of one length (about 47 m,
                    11 dB) everywhere, and the cut-off disc holds all users up to a
                    few hundred, about 43% of them at 1,000
``mobile+gm+sinr``  ``mobile+gm``'s moving users and Gauss–Markov fading (mean
                    Doppler) under ``shannon+rayleigh+sinr``'s path loss and
                    interference: every attempt reads its own link's h at its time
                    and meets the transmissions on the air, no sink

Columns: message events, wall and CPU seconds of the simulation loop (best of
``--repeat`` passes), events per wall second, CPU microseconds per event and its
ratio to the smallest size (1.0 = cost linear in events), the tracemalloc peak of
the loop (one more, traced pass) and the process's maximum resident set size so far.

A last table puts the Shannon-rate modes side by side, events per wall second at
each size: static links (compiled and numpy) against moving ones.

``--first-events N`` stops each pass after its first N events (the interference modes
at 1,000 users spend minutes on one round).

Run: ``python benchmarks/bench_network.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from semnet.metrics.rundir import JsonlWriter
from semnet.net import block_fading_compiled
from semnet.net.network import Network, build_network
from semnet.scenario.links import InterferenceSpec, PathLossSpec
from semnet.scenario.schema import ChannelSpec, LinksSpec, RateSpec
from semnet.scenario.topology import MobilitySpec, topology_spec
from semnet.sim import Message, Simulator, Task

AREA_M = 1000.0
MESSAGE_BYTES = 100_000
MODES = ("fixed", "fixed+sink", "shannon+rayleigh", "shannon+rayleigh/numpy", "mobile+gm", "mobile+gm+trajectory",
         "shannon+rayleigh+sinr", "mobile+gm+sinr")
SHANNON = {"shannon+rayleigh": "static, compiled", "shannon+rayleigh/numpy": "static, numpy reference",
           "mobile+gm": "moving (Gauss-Markov), compiled",
           "mobile+gm+trajectory": "moving, trajectory Doppler, compiled",
           "shannon+rayleigh+sinr": "static, interference",
           "mobile+gm+sinr": "moving (Gauss-Markov), interference"}


def radius_for_degree(num_users: int, degree: float, area_m: float = AREA_M) -> float:
    """Radius giving about ``degree`` neighbours per user in a square of side ``area_m``.

    ``(n - 1) pi r^2 / A`` is the mean degree without border effects; users near the
    border lose part of their disc, so small networks need a larger radius. The
    correction solves ``(n - 1) (pi r^2 - 8/3 r^3 / a + r^4 / 2 / a^2) / a^2 = degree``
    (the exact expected area of a disc clipped by the unit square, for ``r <= a``).
    """
    target = degree / (num_users - 1)
    low, high = 0.0, 1.0
    for _ in range(60):
        r = (low + high) / 2
        covered = math.pi * r**2 - 8.0 / 3.0 * r**3 + r**4 / 2.0
        low, high = (r, high) if covered < target else (low, r)
    return area_m * min(high, 1.0)


def area_for(num_users: int, mode: str) -> float:
    """The square's side: 1 km, or for the interference modes 1 km at 1,000 users and one
    density at every size (in a 1 km square 10 users' links would lie at the -10 dB clip
    and last minutes of simulated time each)."""
    return AREA_M * math.sqrt(num_users / 1000) if mode.endswith("+sinr") else AREA_M


def make_network(num_users: int, mode: str, degree: float, seed: int) -> Network:
    mobile = mode.startswith("mobile+gm")
    mobility = MobilitySpec(model="random_waypoint", speed_mps=(1.0, 3.0)) if mobile else MobilitySpec()
    area_m = area_for(num_users, mode)
    topology = topology_spec(
        kind="random_geometric", num_users=num_users, area_m=area_m,
        radius_m=radius_for_degree(num_users, degree, area_m), mobility=mobility,
    )
    if mode.endswith("+sinr"):
        channel = ChannelSpec(time_correlation="gauss_markov", carrier_hz=2.4e9) if mobile else ChannelSpec()
        links = LinksSpec(snr_db=None, fading="rayleigh", rate=RateSpec(mode="shannon", backoff=0.5, max_retries=4),
                          path_loss=PathLossSpec(exponent=3.5), interference=InterferenceSpec(model="sinr"),
                          channel=channel)
    elif mobile:
        doppler = "trajectory" if mode.endswith("+trajectory") else "mean"
        links = LinksSpec(snr_db=10.0, fading="rayleigh", rate=RateSpec(mode="shannon", backoff=0.5, max_retries=4),
                          channel=ChannelSpec(time_correlation="gauss_markov", carrier_hz=2.4e9, doppler_speed=doppler))
    elif mode.startswith("shannon"):
        # 10 dB everywhere: ~21% of packet attempts fail, ~2.5% of messages are lost
        links = LinksSpec(snr_db=10.0, fading="rayleigh", rate=RateSpec(mode="shannon", backoff=0.5, max_retries=4))
    else:
        links = LinksSpec(snr_db=10.0, rate=RateSpec(mode="fixed", rate_bps=10e6))
    return build_network(topology, links, seed)


def exchange_tasks(network: Network) -> list[Task]:
    """One exchange round's tasks: each image link carries one model-sized upload."""
    return [
        Task(key=(i, j), node=i, uploads=(Message(i, j, "model", 8 * MESSAGE_BYTES),))
        for i, j in network.image_links()
    ]


class _Enough(Exception):
    """The first ``--first-events`` events are done."""


def run_loop(network: Network, rounds: int, sink, seed: int, first_events: int = 0) -> tuple[int, float, float]:
    """Play ``rounds`` exchange rounds; return (message events, wall s, CPU s of the loop).

    The simulator is built before the clock starts (it seeds one random stream per
    faded link); the loop is what grows with the number of rounds. ``first_events``:
    stop after that many events (a round cut short: its events are recorded on the way).
    """
    speeds = {node: 500.0 for node in network.users}
    speeds[network.aggregator] = 500.0
    tasks = exchange_tasks(network)
    if first_events:
        seen = [0]

        def counting(record, write=sink):
            if write is not None:
                write(record)
            seen[0] += 1
            if seen[0] >= first_events:
                raise _Enough

        sink = counting
    sim = Simulator(network, seed=seed, compute_speed=speeds, sink=sink)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        for r in range(rounds):
            sim.label = {"branch": "main", "phase": "exchange", "round": r + 1}
            sim.play_round(tasks)
    except _Enough:
        pass
    return sim.messages_total, time.perf_counter() - wall0, time.process_time() - cpu0


def measure(network: Network, mode: str, rounds: int, seed: int, traced: bool, repeat: int,
            first_events: int = 0) -> dict:
    """Best of ``repeat`` timed passes (the machine may be shared), then one traced pass."""
    if mode.endswith("/numpy"):  # the reference loop: as without numba
        compiled = block_fading_compiled.block_message
        block_fading_compiled.block_message = None
        try:
            return measure(network, mode.removesuffix("/numpy"), rounds, seed, traced, repeat, first_events)
        finally:
            block_fading_compiled.block_message = compiled
    wall = cpu = math.inf
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            writer = JsonlWriter(Path(tmp) / "events.jsonl") if mode.endswith("+sink") else None
            events, wall_i, cpu_i = run_loop(network, rounds, writer.write if writer else None, seed, first_events)
            if writer:
                writer.close()
        wall, cpu = min(wall, wall_i), min(cpu, cpu_i)
    peak_mib = float("nan")
    if traced:
        with tempfile.TemporaryDirectory() as tmp:
            writer = JsonlWriter(Path(tmp) / "events.jsonl") if mode.endswith("+sink") else None
            tracemalloc.start()
            run_loop(network, rounds, writer.write if writer else None, seed, first_events)
            peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            if writer:
                writer.close()
    return {"events": events, "wall_s": wall, "cpu_s": cpu, "peak_mib": peak_mib, "maxrss_mib": maxrss_mib()}


def maxrss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB elsewhere


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--events", type=int, default=200_000, help="minimum message events per size")
    parser.add_argument("--degree", type=float, default=7.0, help="target mean degree of the graphs")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per row; the best is shown")
    parser.add_argument("--no-memory", action="store_true", help="skip the traced pass (tracemalloc peak)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=50_000.0, help="events/s to report against")
    parser.add_argument("--first-events", type=int, default=0, metavar="N",
                        help="stop each pass after its first N events (each then recorded: a round may be cut short)")
    args = parser.parse_args(argv)

    header = (f"{'mode':<22} {'users':>5} {'degree':>6} {'links':>5} {'rounds':>6} {'events':>7} {'wall s':>7} "
              f"{'cpu s':>7} {'events/s':>9} {'cpu us/ev':>9} {'cost x':>6} {'peak MiB':>8} {'maxrss MiB':>10}")
    print(header)
    print("-" * len(header))
    fixed_rates = []
    shannon_rates: dict[str, dict[int, tuple[float, float]]] = {}
    for mode in args.modes:
        base_us = None
        for n in args.users:
            network = make_network(n, mode, args.degree, args.seed)
            links = len(network.image_links())
            degree = 2 * network.graph.number_of_edges() / n
            rounds = max(1, math.ceil(max(args.events, args.first_events) / max(links, 1)))
            row = measure(network, mode, rounds, args.seed, traced=not args.no_memory, repeat=args.repeat,
                          first_events=args.first_events)
            rate = row["events"] / row["wall_s"]
            us = 1e6 * row["cpu_s"] / row["events"]  # CPU time: steadier than wall on a shared machine
            base_us = base_us or us
            if mode == "fixed":
                fixed_rates.append(rate)
            shannon_rates.setdefault(mode, {})[n] = (rate, 1e6 / us)
            print(f"{mode:<22} {n:>5} {degree:>6.2f} {links:>5} {rounds:>6} {row['events']:>7} {row['wall_s']:>7.3f} "
                  f"{row['cpu_s']:>7.3f} {rate:>9,.0f} {us:>9.2f} {us / base_us:>6.2f} {row['peak_mib']:>8.2f} "
                  f"{row['maxrss_mib']:>10.1f}", flush=True)
    if fixed_rates:
        slowest = min(fixed_rates)
        verdict = "meets" if slowest >= args.target else "misses"
        print(f"\nslowest fixed-rate size: {slowest:,.0f} events/s (wall clock); "
              f"{verdict} the {args.target:,.0f} events/s target")
    side_by_side(shannon_rates, args.users, args.target)
    return 0


def side_by_side(rates: dict[str, dict[int, tuple[float, float]]], users: list[int], target: float) -> None:
    """The Shannon-rate modes' events per wall second (and per CPU second, the steadier
    figure on a shared machine), one row each, sizes across."""
    rows = [mode for mode in SHANNON if mode in rates]
    if not rows:
        return
    print("\nShannon-rate packets: events per wall second (per CPU second)")
    print(f"{'':<34}" + "".join(f"{f'{n} users':>22}" for n in users))
    for mode in rows:
        print(f"{SHANNON[mode]:<34}" + "".join(f"{f'{rates[mode][n][0]:,.0f} ({rates[mode][n][1]:,.0f})':>22}"
                                               for n in users))
    if "shannon+rayleigh" in rates:
        wall, cpu = (min(r[i] for r in rates["shannon+rayleigh"].values()) for i in (0, 1))
        verdict = "meets" if wall >= target else "misses"
        numba = "" if block_fading_compiled.block_message is not None else " (numba absent: the numpy loop ran)"
        print(f"slowest static size: {wall:,.0f} events/s wall ({cpu:,.0f} per CPU second); {verdict} the "
              f"{target:,.0f} events/s target{numba}")

if __name__ == "__main__":
    raise SystemExit(main())
