"""Human-readable text of a run's summary (printed after ``semnet run`` and by ``semnet
report``), read from the typed :class:`~semnet.summary.RunSummary` and the outcomes of
:mod:`semnet.outcomes`, the same numbers the tables and frames of ``semnet analyse`` show."""

from __future__ import annotations

import math

from semnet.outcomes import branch_outcomes, energy_outcomes
from semnet.summary import BranchImageStats, EnergySummary, ImageStats, PhaseSummary, RunSummary, TrafficSummary


def _fmt(value, spec: str = ".2f") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def format_summary(summary: RunSummary | dict, path: str = "") -> str:
    """The text of one run: what it was, its quality, what it cost, per phase and control,
    its delivery, live images and per-link quality."""
    s = summary if isinstance(summary, RunSummary) else RunSummary.model_validate(summary)
    lines = [f"{s.name} ({s.method}, seed {s.seed})"]
    if path:
        lines.append(f"run directory: {path}")
    net = s.network
    if net is not None:
        lines.append(f"network: {net.users} users, {net.image_links} image links, topology {net.topology}, "
                     f"fading {net.fading}, link SNR {net.snr_db_min}..{net.snr_db_max} dB")
    lines.append(f"quality: mean link PSNR {_fmt(s.psnr_db)} dB, worst link {_fmt(s.worst_link_psnr_db)} dB, "
                 f"SSIM {_fmt(s.ssim, '.4f')}"
                 + (f", MS-SSIM {_fmt(s.ms_ssim, '.4f')}" if s.ms_ssim is not None else "")
                 + (f", task accuracy {_fmt(s.accuracy, '.3f')}" if s.accuracy is not None else ""))
    delivery = s.delivery
    scope = ""
    if delivery:  # say which branches the totals cover (controls have their own rows below)
        everything = delivery["all_branches"]
        scope = f" by the method (all {len(everything['branches'])} branches: {everything['bytes'] / 1e6:.3f} MB)"
    lines.append(f"cost: {s.bytes_total / 1e6:.3f} MB exchanged{scope}, {s.sim_time_s:.2f} s simulated, "
                 f"{s.local_steps} local steps, {s.wall_time_s:.1f} s wall")
    medium = net.medium if net is not None else None
    if medium:
        options = ", ".join(f"{k} {medium[k]}" for k in ("scheduler", "downlink") if k in medium)
        lines.append(f"medium: {medium['kind']}" + (f" ({options})" if options else ""))
    if s.energy is not None:
        lines.append(format_energy(s.energy))
    lines.append("")
    lines.extend(format_phases(s))
    if delivery:
        lines.append("")
        lines.extend(format_delivery(delivery))
    if s.traffic is not None and s.traffic.branches:
        lines.append("")
        lines.extend(format_traffic(s.traffic, [p.name for p in s.phases]))
    if s.links:
        lines.append("")
        lines.extend(format_links(s))
    sweep = getattr(s, "test_snr_sweep", None)
    if sweep:
        lines.append("")
        lines.append("test SNR sweep: " + ", ".join(f"{p['snr_db']:g} dB -> {p['psnr_db']:.2f} dB" for p in sweep))
    return "\n".join(lines)


def format_links(s: RunSummary) -> list[str]:
    """Per image link: its SNR and quality, and one PSNR column per digital baseline
    (``evaluation.digital``) beside the method's own."""
    digital = s.digital.baselines if s.digital is not None else []
    widths = [max(len(b.name) + 2, 9) for b in digital]
    per_link = [{(q.src, q.dst): q.psnr_db for q in b.links} for b in digital]
    lines = [f"{'link':<10}{'SNR dB':>8}{'PSNR dB':>9}{'SSIM':>8}" + "".join(f"{b.name:>{w}}" for b, w in
                                                                         zip(digital, widths))]
    for q in s.links:
        extra = "".join(f"{_fmt(scores.get((q.src, q.dst))):>{w}}" for scores, w in zip(per_link, widths))
        lines.append(f"{f'{q.src}->{q.dst}':<10}{_fmt(q.snr_db):>8}{_fmt(q.psnr_db):>9}{_fmt(q.ssim, '.4f'):>8}{extra}")
    return lines


def _share(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def format_energy(energy: EnergySummary) -> str:
    """The method's energy: in total, per node class, and per kind of use."""
    classes = energy_outcomes(energy, users_j=energy.users_j)
    return (f"energy by the method: {energy.total_j:.3f} J (users {classes['users_energy_j']:.3f} J, aggregator "
            f"{classes['aggregator_energy_j']:.3f} J): compute {energy.compute_j:.3f}, transmit {energy.tx_j:.3f}, "
            f"receive {energy.rx_j:.3f}, idle {energy.idle_j:.3f} J")


def format_phases(s: RunSummary) -> list[str]:
    """Quality and cost at the end of each phase and control; energy (J) when the run
    accounts it (a phase's own, a control's own branch)."""
    energy = s.energy
    task = s.accuracy is not None  # the task classifier's accuracy on decoded images (evaluation.task)
    head = f"{'phase':<26}{'PSNR dB':>9}{'worst dB':>10}{'SSIM':>8}{'MB':>10}{'sim s':>10}{'steps':>8}"
    lines = [head + (f"{'accuracy':>9}" if task else "") + (f"{'energy J':>10}" if energy is not None else "")]

    def row(name: str, p: PhaseSummary, joules: float | None) -> str:
        text = (f"{name:<26}{_fmt(p.psnr_db):>9}{_fmt(p.worst_link_psnr_db):>10}{_fmt(p.ssim, '.4f'):>8}"
                f"{p.bytes / 1e6:>10.3f}{p.sim_time_s:>10.2f}{p.local_steps:>8}")
        text += f"{_fmt(p.accuracy, '.3f'):>9}" if task else ""
        return text + (f"{_fmt(joules, '.3f'):>10}" if energy is not None else "")

    for p in s.phases:
        part = energy.phases.get(p.name) if energy is not None else None
        lines.append(row(p.name, p, part.total_j if part is not None else None))
    for c in s.controls:
        lines.append(row(f"control {c.name}", c, branch_outcomes(s, f"control_{c.name}")["energy_j"]))
    for b in s.digital.baselines if s.digital is not None else []:
        lines.append(f"{'digital ' + b.name:<26}{_fmt(b.psnr_db):>9}{_fmt(b.worst_link_psnr_db):>10}"
                     f"{_fmt(b.ssim, '.4f'):>8}{'':>10}{'':>10}{'':>8}"
                     + (f"{_fmt(b.accuracy, '.3f'):>9}" if task else "")
                     + f"  lost {_share(b.lost_share)}, unfit {_share(b.unfit_share)}")
    return lines


def format_delivery(delivery: dict) -> list[str]:
    """Messages and tasks per branch, and per phase where any was lost or late."""
    lines = [f"{'delivery':<34}{'messages':>9}{'MB':>10}{'outage':>8}{'late':>6}{'tasks':>7}{'lost':>6}{'missed':>8}"]

    def row(name: str, r: dict) -> str:
        return (f"{name:<34}{r['messages']:>9}{r['bytes'] / 1e6:>10.3f}{r['messages_outage']:>8}{r['messages_late']:>6}"
                f"{r['tasks']:>7}{r['tasks_outage']:>6}{r['tasks_deadline_missed']:>8}")

    for branch, totals in delivery.get("branches", {}).items():
        lines.append(row(branch, totals))
        if _failures(totals):
            for phase, counts in totals.get("phases", {}).items():
                lines.append(row(f"  {phase}", counts))
    lines.append("(outage/late: messages lost or past the round deadline; lost/missed: tasks failed by an outage "
                 "or by the deadline)")
    return lines


def _failures(counts: dict) -> int:
    return counts["messages_outage"] + counts["messages_late"] + counts["tasks_outage"] + counts["tasks_deadline_missed"]


def format_traffic(traffic: TrafficSummary | dict, phase_order: list[str] = ()) -> list[str]:
    """Live images (``traffic:``) per branch and, on the main branch, per phase (in
    ``phase_order``, the run's): how many travelled, the share lost, the delivered
    images' PSNR (mean, 5th percentile) and their latency (median, 99th percentile)."""
    if not isinstance(traffic, TrafficSummary):
        traffic = TrafficSummary.model_validate(traffic)
    lines = [f"{'live images':<34}{'images':>8}{'lost %':>8}{'PSNR dB':>9}{'p5 dB':>8}{'p50 ms':>9}{'p99 ms':>9}"]

    def row(name: str, r: ImageStats) -> str:
        lost = 100.0 * r.lost / r.images if r.images else None
        ms = (lambda v: None if v is None else 1e3 * v)
        return (f"{name:<34}{r.images:>8}{_fmt(lost, '.1f'):>8}{_fmt(r.psnr_db_mean):>9}"
                f"{_fmt(r.psnr_db_p5):>8}{_fmt(ms(r.latency_s_p50), '.1f'):>9}{_fmt(ms(r.latency_s_p99), '.1f'):>9}")

    for branch, totals in traffic.branches.items():
        lines.append(row(branch, totals))
        if branch == "main":
            lines.extend(_phase_rows(totals, phase_order, row))
    images_per_s = "-" if traffic.images_per_s is None else f"{traffic.images_per_s:g}"
    digital = getattr(traffic, "digital", None)  # traffic.digital: images as codec packets
    if digital:
        lines.append(f"({images_per_s} images/s per link, {traffic.arrivals}, queue {traffic.queue}; images as "
                     f"{digital['codec']} packets at rate {digital['rate']}; lost: no file fits, lost on the air or "
                     "past the deadline; PSNR of the delivered images)")
    else:
        lines.append(f"({images_per_s} images/s per link, {traffic.arrivals}, queue {traffic.queue}; "
                     "lost: past the deadline or in an outage; PSNR of the delivered images)")
    return lines


def _phase_rows(totals: BranchImageStats, phase_order, row) -> list[str]:
    rank = {name: k for k, name in enumerate(phase_order)}
    phases = totals.phases
    return [row(f"  {phase}", phases[phase]) for phase in sorted(phases, key=lambda n: (rank.get(n, len(rank)), n))]
