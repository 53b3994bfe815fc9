"""Summarise a finished run: ``summary.json``'s sections from the run's
:class:`~semnet.assembly.RunAssembly`, its context's counters and the method's outcome —
final and per-phase quality, bytes, simulated time, the network, the channel over time,
energy, the model and the data.
"""

from __future__ import annotations

import numpy as np

from semnet.assembly import RunAssembly
from semnet.fl.loop.context import RunContext
from semnet.fl.loop.strategy import MethodOutcome
from semnet.metrics.delivery import DeliveryTally
from semnet.metrics.energy import energy_summary
from semnet.models.base import state_bytes
from semnet.net.network import Network
from semnet.scenario.schema import Scenario
from semnet.sim import Simulator
from semnet.sim.ledger import UsageLedger


def joules_per_sample(scenario: Scenario, network: Network) -> dict:
    """J per training sample of every node, the aggregator included (0 where not given)."""
    spec = scenario.simulation.compute
    default = spec.joules_per_sample or 0.0
    out = {user: spec.per_node_joules_per_sample.get(user, default) for user in network.users}
    out[network.aggregator] = default
    return out


def run_energy(scenario: Scenario, network: Network, ledger: UsageLedger, summary: dict) -> dict:
    """The summary's ``energy`` section; each phase idles for its simulated duration."""
    spans = {("main", p["name"]): p["sim_time_s"] for p in summary["phases"]}
    for control in summary.get("controls") or []:
        spans[(f"control_{control['name']}", control["name"])] = control["sim_time_s"]
    return energy_summary(ledger, spans, [*network.users, network.aggregator], network.aggregator,
                          joules_per_sample(scenario, network), scenario.simulation.energy)


def channel_summary(network: Network, sims: list[Simulator]) -> dict:
    """The channel over time: its process, and per image link the realised SNR of the
    messages it carried (mean, 5th percentile, in dB), its two ends' Doppler shifts and
    its coherence time (a user-to-user link has two moving ends, an uplink one; with
    ``doppler_speed: trajectory``, at each end's time-average shift)."""
    process = network.channel
    realised: dict = {}
    for simulator in sims:
        for key, samples in simulator.realised.items():
            realised.setdefault(key, []).extend(snr for _, snr in samples)
    coherence = process.coherence_time_s
    per_link = []
    for i, j in network.image_links():
        values = np.asarray(realised.get((i, j), []), dtype=float)
        link_coherence = process.link_coherence_time_s((i, j))
        per_link.append({
            "src": i,
            "dst": j,
            "messages": int(values.size),
            "realised_snr_db_mean": round(float(values.mean()), 4) if values.size else None,
            "realised_snr_db_p5": round(float(np.percentile(values, 5)), 4) if values.size else None,
            "doppler_hz": [round(f, 6) for f in process.ends_doppler_hz((i, j))],
            "coherence_time_s": round(link_coherence, 6) if np.isfinite(link_coherence) else None,
        })
    summary = {
        "time_correlation": process.time_correlation,
        "doppler_hz": round(process.doppler_hz, 6),
        "coherence_time_s": round(coherence, 6) if np.isfinite(coherence) else None,
        "mobility": process.large.mobility.model,
        "comparison_states": process.comparison_states,
        "comparison_step_s": process.comparison_step_s,
        "links": per_link,
    }
    if process.doppler_speed != "mean":  # links[].doppler_hz: each end's time average (earlier runs keep their keys)
        summary["doppler_speed"] = process.doppler_speed
    return summary


def interference_summary(network: Network, sims: list[Simulator]) -> dict:
    """``links.interference`` and, per link that carried anything, the SINR its
    transmissions met (:class:`~semnet.summary.InterferenceSummary`; every branch pooled)."""
    pooled: dict = {}
    for simulator in sims:
        for key, samples in simulator.sinr_log.items():
            pooled.setdefault(key, []).extend(samples)
    settings = network.interference
    links, all_db, air_total, interfered_total = [], [], 0.0, 0.0
    for (src, dst), samples in sorted(pooled.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))):
        values = np.asarray([s[0] for s in samples], dtype=float)
        air = float(sum(s[1] for s in samples))
        interfered = float(sum(s[2] for s in samples))
        all_db.extend(values.tolist())
        air_total += air
        interfered_total += interfered
        links.append({
            "src": src, "dst": dst, "transmissions": len(samples), "images": sum(1 for s in samples if s[3]),
            "snr_db": round(network.link(src, dst).snr_db, 4),
            "sinr_db_mean": round(float(values.mean()), 4),
            "sinr_db_p5": round(float(np.percentile(values, 5)), 4),
            "interfered_share": round(interfered / air, 6) if air > 0 else None,
        })
    return {
        "model": settings.model, "cutoff_db": settings.cutoff_db, "bands": settings.bands,
        "band_assignment": settings.band_assignment,
        "sinr_db_mean": round(float(np.mean(all_db)), 4) if all_db else None,
        "interfered_share": round(interfered_total / air_total, 6) if air_total > 0 else None,
        "links": links,
    }


def build_summary(assembly: RunAssembly, ctx: RunContext, outcome: MethodOutcome, wall_s: float,
                  delivery: DeliveryTally | None = None) -> dict:
    """The run's ``summary.json`` as a dict (checked against :class:`~semnet.metrics.summary.RunSummary`
    when written): final quality, totals, every phase and control, the network, the model
    and the data."""
    scenario, network, device, data = assembly.scenario, assembly.network, assembly.device, assembly.data
    final = outcome.phases[-1]
    # every phase keeps its per-link quality (as every control does), so the start and each
    # fine-tuning step can be compared link by link without re-running
    phases = [p.as_dict() for p in outcome.phases]
    link_snrs = [network.link(i, j).snr_db for i, j in network.image_links()]
    summary = {
        "status": "complete",
        "name": scenario.name,
        "method": scenario.method.name,
        "seed": scenario.seed,
        "psnr_db": final.psnr_db,
        "ssim": final.ssim,
        "worst_link_psnr_db": final.worst_link_psnr_db,
        "bytes_total": ctx.rounds.bytes_total,
        "sim_time_s": ctx.rounds.now_s,
        "wall_time_s": round(wall_s, 3),
        "local_steps": ctx.rounds.local_steps,
        "local_passes": ctx.rounds.local_passes,
        "messages_total": ctx.rounds.messages_total,
        "device": str(device),
        "phases": phases,
        "links": final.links,
        "controls": outcome.controls,
        "network": {
            "users": len(network.users),
            "image_links": len(link_snrs),
            "topology": scenario.topology.kind,
            "snr_db_mean": round(float(np.mean(link_snrs)), 4),
            "snr_db_min": round(float(np.min(link_snrs)), 4),
            "snr_db_max": round(float(np.max(link_snrs)), 4),
            "fading": scenario.links.fading,
            **link_kinds_summary(network),
            "positions_m": {str(u): [round(float(c), 3) for c in network.graph.nodes[u]["pos_m"]] for u in network.users},
        },
        **outcome.extras,
    }
    if getattr(final, "accuracy", None) is not None:  # evaluation.task: classify (absent otherwise, as before)
        summary["accuracy"] = final.accuracy
    if getattr(final, "ms_ssim", None) is not None:  # images large enough for it (absent otherwise, as before)
        summary["ms_ssim"] = final.ms_ssim
    medium = network.medium
    if medium.kind != "dedicated":  # dedicated runs keep the summary they always had
        summary["network"]["medium"] = {"kind": medium.kind} if medium.kind != "cell" else {
            "kind": medium.kind, "scheduler": medium.scheduler, "downlink": medium.downlink}
    if network.cells is not None:  # links.cells: the stations, their bands and each user's serving one
        cells = network.cells
        summary["network"]["medium"]["cells"] = {
            "positions_m": [list(p) for p in cells.positions_m], "bands": list(cells.bands), "reuse": cells.reuse,
            "serving": {str(u): cells.cell_of(u) for u in network.users}}
    if network.controlled_tx_power_dbm is not None:  # links.power_control: each user's derived power
        summary["network"]["power_control"] = {
            "tx_power_dbm": {str(u): round(float(p), 4) for u, p in network.controlled_tx_power_dbm.items()}}
    if delivery is not None:
        # bytes_total, messages_total and phases[] count the main branch (the method)
        # only; each control's own messages are under delivery.branches
        summary["totals_branches"] = ["main"]
        summary["delivery"] = delivery.as_dict()
    if ctx.data.learns:
        # what simulation.threads/workers resolved to (auto reads the free cores): set these to re-run bit for bit
        summary["execution"] = assembly.execution_used.as_dict()
        model = ctx.data.new_model()
        k = assembly.symbols_per_image
        summary["model"] = {
            "name": scenario.model.name,
            "channel_uses_per_image": k,
            "bandwidth_ratio": round(k / (3 * data.image_hw[0] * data.image_hw[1]), 6),
            "encoder_bytes": state_bytes(model.encoder),
            "decoder_bytes": state_bytes(model.decoder),
        }
        summary["data"] = {
            "source": scenario.data.source,
            "train_images": int(sum(x.shape[0] for x in data.train.values())),
            "test_images": int(sum(x.shape[0] for x in data.test.values())),
            "image_hw": list(data.image_hw),
        }
    return summary


def link_kinds_summary(network: Network) -> dict:
    """``link_channels``: the image links whose ``links.overrides`` give them their own
    fading or CSI (nothing without any, so such summaries keep their keys)."""
    kinds = [{"src": i, "dst": j, "fading": kind.fading, "csi": kind.csi}
             for (i, j), kind in sorted(network.link_kinds.items()) if network.transmit.has_edge(i, j)]
    return {"link_channels": kinds} if kinds else {}
