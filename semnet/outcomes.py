"""What a run's users got and what it cost, as flat named numbers from one typed summary.

Every reader that shows outcomes — the text after ``semnet run`` and ``semnet report``,
the final table of ``semnet sweep``, the methods table and figures of ``semnet
analyse``, and the pandas frames — takes them from here, so a column means the same
thing everywhere. Names carry their units; a value a run does not have (no ``traffic:``
section, no energy accounting) is NaN.

Image outcomes (``traffic:``) cover the images that travelled on one branch: for the
method, every phase of the main branch; for one phase, that phase's; for a FineFed
control, its own branch after the start. Energies follow the summary's ``energy``
section: ``users_energy_j`` counts the users, ``aggregator_energy_j`` the aggregator
(the base station or server), ``radio_energy_j`` everything but training.
"""

from __future__ import annotations

import math

from semnet.summary import EnergyParts, ImageStats, RunSummary

__all__ = ["COSTS", "ENERGIES", "IMAGES", "OPTIONAL", "OUTCOMES", "QUALITY", "branch_outcomes", "energy_outcomes",
           "image_outcomes", "phase_outcomes"]

MAIN_BRANCH = "main"

#: Every outcome name with its meaning and unit, in reading order.
OUTCOMES: dict[str, str] = {
    "psnr_db": "mean PSNR over image links of the test images (dB)",
    "worst_link_psnr_db": "PSNR of the worst image link (dB)",
    "ssim": "mean SSIM over image links (0..1)",
    "ms_ssim": "mean MS-SSIM over image links, images of 161 px and up (0..1)",
    "accuracy": "task accuracy of the frozen classifier on decoded images, evaluation.task: classify (0..1)",
    "bytes": "bytes of model messages sent",
    "sim_time_s": "simulated seconds",
    "wall_time_s": "wall-clock seconds of training and evaluation",
    "local_steps": "local optimiser steps, all users",
    "energy_j": "energy of every node: training, transmit, receive, idle (J)",
    "radio_energy_j": "energy_j without training (J)",
    "users_energy_j": "energy of the users, aggregator left out (J)",
    "aggregator_energy_j": "energy of the aggregator (J)",
    "images": "live images sent (traffic:)",
    "image_loss_share": "share of live images lost: past the deadline or in an outage (0..1)",
    "delivered_psnr_db": "mean PSNR of the delivered live images (dB)",
    "delivered_psnr_p5_db": "5th percentile PSNR of the delivered live images (dB)",
    "latency_p50_s": "median live-image latency, lost images included (s)",
    "latency_p99_s": "99th percentile live-image latency (s)",
}
QUALITY = ("psnr_db", "worst_link_psnr_db", "ssim")
#: outcomes only some runs have (evaluation.task: classify; images of 161 px and up): a
#: variant's values hold them only where its run does, so tables add their columns only then
OPTIONAL = ("accuracy", "ms_ssim")
COSTS = ("bytes", "sim_time_s", "wall_time_s", "local_steps")
ENERGIES = ("energy_j", "radio_energy_j", "users_energy_j", "aggregator_energy_j")
IMAGES = ("images", "image_loss_share", "delivered_psnr_db", "delivered_psnr_p5_db", "latency_p50_s",
          "latency_p99_s")

_NAN = math.nan


def _num(value) -> float:
    return _NAN if value is None else float(value)


def image_outcomes(stats: ImageStats | None) -> dict[str, float]:
    """The :data:`IMAGES` outcomes of one branch's, phase's or link's live images; NaN
    without any."""
    if stats is None:
        return dict.fromkeys(IMAGES, _NAN)
    return {
        "images": float(stats.images),
        "image_loss_share": stats.lost / stats.images if stats.images else _NAN,
        "delivered_psnr_db": _num(stats.psnr_db_mean),
        "delivered_psnr_p5_db": _num(stats.psnr_db_p5),
        "latency_p50_s": _num(stats.latency_s_p50),
        "latency_p99_s": _num(stats.latency_s_p99),
    }


def _is_user(node: str) -> bool:
    return node.isdigit()  # users are numbered 0..n-1; the aggregator has a name


def energy_outcomes(parts: EnergyParts | None, nodes: dict[str, EnergyParts] | None = None,
                    users_j: float | None = None) -> dict[str, float]:
    """The :data:`ENERGIES` of one part of the ``energy`` section. Users and aggregator
    come from ``users_j`` when the summary has it for this part, else from ``nodes``;
    NaN where neither is known."""
    if parts is None:
        return dict.fromkeys(ENERGIES, _NAN)
    if users_j is None and nodes:
        users_j = sum(p.total_j for node, p in nodes.items() if _is_user(node))
    users = _num(users_j)
    return {
        "energy_j": parts.total_j,
        "radio_energy_j": parts.total_j - parts.compute_j,
        "users_energy_j": users,
        "aggregator_energy_j": parts.total_j - users,
    }


def branch_outcomes(summary: RunSummary, branch: str = MAIN_BRANCH) -> dict[str, float]:
    """Image and energy outcomes of a whole branch (``main``: the method's)."""
    traffic = summary.traffic.branches.get(branch) if summary.traffic else None
    energy = summary.energy
    if energy is not None and branch == MAIN_BRANCH:
        energies = energy_outcomes(energy, users_j=energy.users_j)
    else:  # a control's branch keeps no per-node split: users and aggregator stay NaN
        energies = energy_outcomes(energy.branches.get(branch) if energy else None)
    return {**image_outcomes(traffic), **energies}


def phase_outcomes(summary: RunSummary, phase: str) -> dict[str, float]:
    """Image and energy outcomes of one phase of the main branch."""
    traffic = summary.traffic.branches.get(MAIN_BRANCH) if summary.traffic else None
    stats = traffic.phases.get(phase) if traffic else None
    parts = summary.energy.phases.get(phase) if summary.energy else None
    return {**image_outcomes(stats), **energy_outcomes(parts, nodes=parts.nodes if parts else None)}
