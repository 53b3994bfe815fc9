"""What live traffic (``traffic:``) costs in wall time, measured side by side.

Two measurements, one command (``python benchmarks/bench_traffic.py``):

1. **Engine.** The exchange-only workload of ``bench_network.py`` (a random geometric
   graph, every image link uploading one 100 kB model message a round at 10 Mbit/s)
   driven straight through ``Simulator.play_round``, with live images at
   ``--engine-rate`` images/s on every image link (k = 256 channel uses at 1 MHz), for
   each medium and queue policy; images are taken from the simulator after each round
   (as the runner's decoder side does) and not decoded. Events are model messages plus
   images; the row without traffic is the reference. Target: at least 50,000 image +
   message events per wall second.

2. **A whole run.** The quickstart (``scenarios/quickstart.yaml``, cut to
   ``--rounds`` federated rounds, one worker and one torch thread) without traffic and
   with ``--rate`` images/s on each of its 12 image links over its whole simulated
   duration (``image_records`` on, as by default), run alternately ``--repeat`` times;
   the best wall time of each and their ratio are printed, with the seconds the traffic
   run spent settling and decoding images. Target: at most 1.3x.

Numbers compare only within one invocation on one machine; on a shared machine take
the best of several repeats.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_network import exchange_tasks, make_network  # noqa: E402
from semnet.net.network import MediumSettings  # noqa: E402
from semnet.sim import Simulator  # noqa: E402
from semnet.sim.traffic import TrafficPlan  # noqa: E402

SYMBOLS = 256  # the quickstart's k (bandwidth ratio 1/12 of 32x32x3)


def engine_loop(network, events: int, rate: float | None, queue: str, seed: int) -> tuple[int, int, int, float]:
    """Play exchange rounds until ``events`` messages and images have gone; return
    (rounds, messages, images, wall s of the loop)."""
    speeds = {node: 500.0 for node in network.users}
    speeds[network.aggregator] = 500.0
    tasks = exchange_tasks(network)
    plan = None if rate is None else TrafficPlan(images_per_s=rate, symbols=SYMBOLS,
                                                 links=tuple(network.image_links()), queue=queue)
    sim = Simulator(network, seed=seed, compute_speed=speeds, traffic=plan)
    images = rounds = 0
    wall0 = time.perf_counter()
    while sim.messages_total + images < events:
        rounds += 1
        sim.catch_up()
        sim.label = {"branch": "main", "phase": "exchange", "round": rounds}
        sim.play_round(tasks)
        if plan is not None:
            sim.catch_up()
            images += len(sim.traffic.take())
    return rounds, sim.messages_total, images, time.perf_counter() - wall0


def bench_engine(args) -> list[float]:
    print(f"engine: exchange rounds on a {args.users}-user random geometric graph, live images at "
          f"{args.engine_rate:g}/s per image link")
    header = f"{'medium':<11} {'queue':<13} {'links':>5} {'rounds':>6} {'messages':>8} {'images':>8} {'wall s':>7} " \
             f"{'events/s':>9}"
    print(header)
    print("-" * len(header))
    rates = []
    for medium in args.media:
        network = make_network(args.users, "fixed", 7.0, args.seed)
        network.medium = MediumSettings(kind=medium)
        links = len(network.image_links())
        for rate, queue in ((None, "-"), (args.engine_rate, "fifo"), (args.engine_rate, "images_first")):
            best = None
            for _ in range(args.repeat):
                row = engine_loop(network, args.events, rate, queue if rate else "fifo", args.seed)
                best = row if best is None or row[3] < best[3] else best
            rounds, messages, images, wall = best
            speed = (messages + images) / wall
            if rate is not None:
                rates.append(speed)
            print(f"{medium:<11} {queue:<13} {links:>5} {rounds:>6} {messages:>8} {images:>8} {wall:>7.3f} "
                  f"{speed:>9,.0f}", flush=True)
    return rates


def quickstart_wall(rate: float | None, rounds: int, out: Path) -> tuple[float, float, dict]:
    """Wall time of one quickstart run (and the seconds its traffic settled); its summary."""
    import semnet.fl.loop.traffic as traffic_module
    from semnet.runner import run_scenario
    from semnet.scenario import load_scenario

    overrides = [f"method.federated.rounds={rounds}", "method.federated.converge=null", "simulation.workers=1",
                 "simulation.threads=1", "output.progress=false"]
    if rate is not None:
        overrides.append(f"traffic={{images_per_s: {rate}}}")
    scenario = load_scenario(ROOT / "scenarios" / "quickstart.yaml", overrides)
    spent = [0.0]
    real = traffic_module.TrafficRecorder.settle

    def settle(self, final=False):
        t0 = time.perf_counter()
        try:
            return real(self, final)
        finally:
            spent[0] += time.perf_counter() - t0

    traffic_module.TrafficRecorder.settle = settle
    try:
        t0 = time.perf_counter()
        result = run_scenario(scenario, out_dir=out, overwrite=True)
        wall = time.perf_counter() - t0
    finally:
        traffic_module.TrafficRecorder.settle = real
    return wall, spent[0], result.summary


def bench_run(args) -> float:
    print(f"\nrun: the quickstart cut to {args.rounds} federated rounds, without traffic and with {args.rate:g} "
          f"images/s per image link, alternately, {args.repeat} times")
    walls: dict[str, list[float]] = {"without": [], "with": []}
    settle_s, summary = [], None
    with tempfile.TemporaryDirectory(prefix="semnet-bench-traffic-") as tmp:
        for _ in range(args.repeat):
            for name, rate in (("without", None), ("with", args.rate)):
                wall, spent, s = quickstart_wall(rate, args.rounds, Path(tmp) / name)
                walls[name].append(wall)
                if rate is not None:
                    settle_s.append(spent)
                    summary = s
                print(f"  {name:<8} traffic: {wall:7.2f} s wall" + (f" ({spent:.2f} s settling and decoding images)"
                                                                    if rate is not None else ""), flush=True)
    main = summary["traffic"]["branches"]["main"]
    images = sum(b["images"] for b in summary["traffic"]["branches"].values())
    ratio = min(walls["with"]) / min(walls["without"])
    print(f"  simulated {summary['sim_time_s']:.1f} s on the main branch; {images} images in all branches "
          f"({main['images']} on main, mean PSNR {main['psnr_db_mean']} dB, latency p99 {main['latency_s_p99']} s)")
    print(f"  best wall: {min(walls['without']):.2f} s without, {min(walls['with']):.2f} s with traffic: "
          f"{ratio:.3f}x (target <= 1.3x: {'met' if ratio <= 1.3 else 'missed'})")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100, help="engine: graph size")
    parser.add_argument("--events", type=int, default=200_000, help="engine: at least this many events per row")
    parser.add_argument("--engine-rate", type=float, default=10.0, help="engine: images/s per image link")
    parser.add_argument("--media", nargs="+", default=["dedicated", "node_radio"],
                        choices=["dedicated", "node_radio"])
    parser.add_argument("--rate", type=float, default=10.0, help="run: images/s per image link")
    parser.add_argument("--rounds", type=int, default=12, help="run: federated rounds of the quickstart")
    parser.add_argument("--repeat", type=int, default=2, help="passes of each row / run; the best is shown")
    parser.add_argument("--skip-run", action="store_true", help="the engine rows only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rates = bench_engine(args)
    slowest = min(rates)
    print(f"slowest row with traffic: {slowest:,.0f} image+message events/s "
          f"(target >= 50,000: {'met' if slowest >= 50_000 else 'missed'})")
    if not args.skip_run:
        bench_run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
