"""semnet's ``node_radio`` against ns-3's 802.11a on the same ad hoc network.

Six nodes on a 2 x 3 grid 15 m apart (semnet's ``grid`` topology; ns-3 gets the
same coordinates), every pair within carrier-sense range of every other. The same
message schedule (each message ``packets`` UDP datagrams of 1,472 bytes, submitted
at one instant) runs through

* ns-3.44: YANS PHY, 802.11a at a fixed mode (``ConstantRateWifiManager``, 24 Mbit/s
  data and control frames), DCF (no RTS/CTS, no fragmentation), log-distance path
  loss, the same transmit power and noise (``benchmarks/ns3_wifi.py``);
* semnet: ``links.medium: node_radio`` with ``links.interference.model: sinr``, a fixed
  link rate equal to the PHY rate times ``links.rate.mac_efficiency``, and
  ``links.csma`` (carrier sensing, DIFS and backoff as 802.11's; ``--no-csma``: without).

``mac_efficiency`` is calibrated on one long uncontended message: the share of the
PHY rate that is payload once preambles, MAC/IP/UDP headers, SIFS + ACK, DIFS and the
mean backoff are paid. It is printed beside the 802.11a closed form
(:func:`dcf_efficiency`). The table then puts every message's completion time
(arrival of its last byte minus submission) and goodput side by side, ns-3 vs semnet.

Run: ``python benchmarks/ns3_crosscheck.py`` (needs ``pip install semnet[ns3]``;
``--help`` for options). A few seconds of ns-3 per case.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from semnet.net.network import Network, build_network
from semnet.scenario.links import InterferenceSpec, LinksSpec, PathLossSpec, RateSpec
from semnet.scenario.topology import topology_spec
from semnet.sim import Message, Simulator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ns3_wifi import PAYLOAD_BYTES, Radio, Send, run_ns3  # imports ns-3

GRID_SPACING_M = 15.0
CALIBRATION = Send(0, 3, 0.1, 400)  # one long uncontended message: the backoff's mean is well sampled

# 802.11a (OFDM, 20 MHz) timing, IEEE 802.11-2016 clause 17
SLOT_S, SIFS_S = 9e-6, 16e-6
DIFS_S = SIFS_S + 2 * SLOT_S
CW_MIN = 15
PREAMBLE_S, SYMBOL_S = 20e-6, 4e-6  # PLCP preamble + SIGNAL; one OFDM symbol
SERVICE_TAIL_BITS = 16 + 6
OVERHEAD_BYTES = 8 + 20 + 8 + 24 + 4  # UDP, IPv4, LLC/SNAP, MAC header (no QoS), FCS
ACK_BYTES = 14


@dataclass(frozen=True)
class Case:
    """A schedule; whether its messages compete for the air (others in range), and whether
    their completion order is defined (no two equal messages submitted at one instant,
    whose order is a backoff draw's)."""

    name: str
    sends: tuple[Send, ...]
    contended: bool
    ordered: bool = True


CASES = (
    Case("alone, 1 to 60 packets", (Send(0, 3, 0.10, 1), Send(0, 3, 0.20, 5), Send(0, 3, 0.30, 20),
                                    Send(0, 3, 0.40, 60)), False),
    # the second message reaches the sender's queue after the first's 20 datagrams (20 us)
    Case("one sender, two receivers", (Send(1, 0, 0.1000, 20), Send(1, 2, 0.1001, 20)), False),
    Case("two senders, one receiver", (Send(0, 1, 0.10, 10), Send(2, 1, 0.10, 20)), True),
    Case("three pairs, staggered", (Send(0, 3, 0.100, 10), Send(1, 4, 0.103, 20), Send(2, 5, 0.112, 30)), True),
    Case("three pairs, together", (Send(0, 3, 0.10, 20), Send(1, 4, 0.10, 20), Send(2, 5, 0.10, 20)), True,
         ordered=False),
)
CI_CASES = (CASES[0], CASES[3])


def frame_s(frame_bytes: int, rate_bps: float) -> float:
    """Airtime of one 802.11a frame: preamble + SIGNAL, then whole OFDM symbols."""
    bits_per_symbol = rate_bps * SYMBOL_S
    return PREAMBLE_S + SYMBOL_S * math.ceil((SERVICE_TAIL_BITS + 8 * frame_bytes) / bits_per_symbol)


def dcf_efficiency(rate_bps: float, payload_bytes: int = PAYLOAD_BYTES) -> float:
    """Payload airtime / time per datagram of one saturated 802.11a DCF sender alone:
    ``DIFS + CWmin/2 slots + data frame + SIFS + ACK`` (ACK at the same rate)."""
    per_packet_s = (DIFS_S + CW_MIN / 2 * SLOT_S + frame_s(payload_bytes + OVERHEAD_BYTES, rate_bps)
                    + SIFS_S + frame_s(ACK_BYTES, rate_bps))
    return 8 * payload_bytes / rate_bps / per_packet_s


def semnet_network(radio: Radio, mac_efficiency: float, *, csma: bool, seed: int) -> Network:
    """The grid with ``radio``'s link budget on node radios, fixed PHY rate x ``mac_efficiency``."""
    topology = topology_spec(kind="grid", num_users=6, rows=2, cols=3, spacing_m=GRID_SPACING_M)
    keys = {
        "bandwidth_hz": 20e6, "latency_s": 0.0, "snr_max_db": 80.0, "medium": "node_radio",
        "path_loss": PathLossSpec(tx_power_dbm=radio.tx_power_dbm, noise_power_dbm=radio.noise_power_dbm,
                                  exponent=radio.exponent, reference_distance_m=radio.reference_distance_m,
                                  reference_loss_db=radio.reference_loss_db),
        "rate": RateSpec(mode="fixed", rate_bps=radio.rate_bps, mac_efficiency=mac_efficiency),
        "interference": InterferenceSpec(model="sinr"),
    }
    if csma:
        keys["csma"] = {"enabled": True, "sense_threshold_dbm": radio.cca_sensitivity_dbm, "slot_s": SLOT_S,
                        "difs_s": DIFS_S, "cw_min": CW_MIN, "cw_max": 1023}
    return build_network(topology, LinksSpec(**keys), seed)


def positions_m(network: Network) -> dict[int, tuple[float, float]]:
    return {node: tuple(network.graph.nodes[node]["pos_m"]) for node in network.users}


def run_semnet(network: Network, sends: tuple[Send, ...], seed: int) -> list[float]:
    """Each send's arrival time (s) through semnet's simulator, in order."""
    sim = Simulator(network, seed=seed, compute_speed={})
    order = sorted(range(len(sends)), key=lambda i: sends[i].t_s)
    done = {}
    for i in order:
        send = sends[i]
        sim.wait(send.t_s - sim.now_s)
        done[i] = sim.send(Message(send.src, send.dst, "model", bits=8 * send.payload_bytes))
    sim.env.run()
    sim.finish()
    return [done[i].value["t_end_s"] for i in range(len(sends))]


def calibrate(radio: Radio, positions: dict, seed: int, csma: bool) -> float:
    """``mac_efficiency`` that makes semnet carry :data:`CALIBRATION` alone in ns-3's time.

    semnet's time is ``access + bits / (rate * eta)``, where ``access`` is what it adds
    before the airtime (with ``links.csma``: DIFS and one backoff per message; else 0),
    read off a run at ``eta = 1``."""
    (done,) = run_ns3(positions, [CALIBRATION], radio, seed=seed)
    payload_s = 8 * CALIBRATION.payload_bytes / radio.rate_bps
    (plain_s,) = run_semnet(semnet_network(radio, 1.0, csma=csma, seed=seed), (CALIBRATION,), seed)
    access_s = plain_s - CALIBRATION.t_s - payload_s
    return payload_s / (done.end_s - CALIBRATION.t_s - access_s)


def crosscheck(cases, radio: Radio, *, seed: int = 1, mac_efficiency: float | None = None,
               csma: bool = True) -> dict:
    """Run ``cases`` through both simulators. Returns ``mac_efficiency`` (calibrated unless
    given), ``csma`` and one row per message: case, send, ns-3 and semnet completion (s)."""
    positions = positions_m(semnet_network(radio, 1.0, csma=csma, seed=seed))
    eta = calibrate(radio, positions, seed, csma) if mac_efficiency is None else mac_efficiency
    network = semnet_network(radio, eta, csma=csma, seed=seed)
    rows = []
    for case in cases:
        ns3 = run_ns3(positions, list(case.sends), radio, seed=seed)
        ours = run_semnet(network, case.sends, seed)
        for send, theirs, end_s in zip(case.sends, ns3, ours):
            if theirs.received != send.packets:
                raise RuntimeError(f"{case.name}: ns-3 delivered {theirs.received} of {send.packets} packets")
            rows.append({"case": case, "send": send, "ns3_s": theirs.end_s - send.t_s, "semnet_s": end_s - send.t_s})
    return {"mac_efficiency": eta, "csma": csma, "rows": rows}


def print_table(result: dict, radio: Radio) -> None:
    eta, closed = result["mac_efficiency"], dcf_efficiency(radio.rate_bps)
    print(f"802.11a {radio.mode}, {PAYLOAD_BYTES}-byte datagrams; semnet node_radio, "
          f"links.csma {'on' if result['csma'] else 'off'}")
    print(f"mac_efficiency: {eta:.4f} calibrated on {CALIBRATION.packets} packets alone in ns-3; "
          f"802.11a DCF closed form {closed:.4f} (ratio {eta / closed:.4f})\n")
    header = (f"{'case':<27} {'message':<10} {'pkts':>4} {'t_submit s':>10} {'ns-3 ms':>9} {'semnet ms':>9} "
              f"{'ns-3 Mb/s':>9} {'semnet Mb/s':>11} {'semnet/ns-3':>11}")
    print(header)
    print("-" * len(header))
    for row in result["rows"]:
        send, case = row["send"], row["case"]
        bits = 8 * send.payload_bytes
        print(f"{case.name:<27} {f'{send.src}->{send.dst}':<10} {send.packets:>4} {send.t_s:>10.4f} "
              f"{1e3 * row['ns3_s']:>9.3f} {1e3 * row['semnet_s']:>9.3f} {bits / row['ns3_s'] / 1e6:>9.2f} "
              f"{bits / row['semnet_s'] / 1e6:>11.2f} {row['semnet_s'] / row['ns3_s']:>11.3f}")


def completion_order(rows: list[dict], case_name: str, key: str) -> list[tuple[int, int]]:
    """The case's messages (src, dst) in the order they complete under ``key`` (ns3_s or semnet_s)."""
    mine = [row for row in rows if row["case"].name == case_name]
    return [(r["send"].src, r["send"].dst) for r in sorted(mine, key=lambda r: r["send"].t_s + r[key])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ci", action="store_true", help="the two cases the test runs (alone; three pairs staggered)")
    parser.add_argument("--seed", type=int, default=1, help="ns-3's RngSeedManager seed and semnet's run seed")
    parser.add_argument("--mac-efficiency", type=float, default=None, help="use this instead of calibrating")
    parser.add_argument("--no-csma", action="store_true", help="semnet's node radios without carrier sensing")
    args = parser.parse_args(argv)
    if args.mac_efficiency is not None and not 0 < args.mac_efficiency <= 1:
        parser.error(f"--mac-efficiency {args.mac_efficiency}: must be in (0, 1]")
    radio = Radio()
    result = crosscheck(CI_CASES if args.ci else CASES, radio, seed=args.seed, mac_efficiency=args.mac_efficiency,
                        csma=not args.no_csma)
    print_table(result, radio)
    print()
    for case in {row["case"].name: row["case"] for row in result["rows"]}.values():
        mine = [row for row in result["rows"] if row["case"] is case]
        ns3_end, semnet_end = (max(r["send"].t_s + r[key] for r in mine) for key in ("ns3_s", "semnet_s"))
        start = min(r["send"].t_s for r in mine)
        if not case.ordered:
            order = "order not defined (equal messages at one instant)"
        elif completion_order(result["rows"], case.name, "ns3_s") == completion_order(result["rows"], case.name,
                                                                                       "semnet_s"):
            order = "completion order the same"
        else:
            order = "completion order DIFFERS"
        print(f"{case.name:<27} makespan ns-3 {1e3 * (ns3_end - start):7.3f} ms, semnet "
              f"{1e3 * (semnet_end - start):7.3f} ms (x{(semnet_end - start) / (ns3_end - start):.3f}); {order}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
