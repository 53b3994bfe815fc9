"""Human-readable text of a run's summary (printed after ``semnet run``)."""

from __future__ import annotations


def _fmt(value, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _share(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def format_summary(summary: dict, path: str = "") -> str:
    lines = []
    head = f"{summary['name']} ({summary['method']}, seed {summary['seed']})"
    lines.append(head)
    if path:
        lines.append(f"run directory: {path}")
    net = summary.get("network", {})
    lines.append(
        f"network: {net.get('users')} users, {net.get('image_links')} image links, topology {net.get('topology')}, "
        f"fading {net.get('fading')}, link SNR {net.get('snr_db_min')}..{net.get('snr_db_max')} dB"
    )
    lines.append(
        f"quality: mean link PSNR {_fmt(summary.get('psnr_db'))} dB, worst link {_fmt(summary.get('worst_link_psnr_db'))} dB, "
        f"SSIM {_fmt(summary.get('ssim'), '.4f')}"
        + (f", task accuracy {_fmt(summary['accuracy'], '.3f')}" if summary.get("accuracy") is not None else "")
    )
    delivery = summary.get("delivery")
    scope = ""
    if delivery:  # say which branches the totals cover (controls have their own rows below)
        everything = delivery["all_branches"]
        scope = f" by the method (all {len(everything['branches'])} branches: {everything['bytes'] / 1e6:.3f} MB)"
    lines.append(
        f"cost: {summary['bytes_total'] / 1e6:.3f} MB exchanged{scope}, {summary['sim_time_s']:.2f} s simulated, "
        f"{summary['local_steps']} local steps, {summary['wall_time_s']:.1f} s wall"
    )
    medium = net.get("medium")
    if medium:
        options = ", ".join(f"{k} {medium[k]}" for k in ("scheduler", "downlink") if k in medium)
        lines.append(f"medium: {medium['kind']}" + (f" ({options})" if options else ""))
    energy = summary.get("energy")
    if energy:
        lines.append(
            f"energy by the method: {energy['total_j']:.3f} J (users {energy['users_j']:.3f} J): compute "
            f"{energy['compute_j']:.3f}, transmit {energy['tx_j']:.3f}, receive {energy['rx_j']:.3f}, "
            f"idle {energy['idle_j']:.3f} J"
        )
    lines.append("")
    # the task classifier's accuracy on decoded images, where the run has one (evaluation.task)
    task = "accuracy" in summary

    def acc(row: dict) -> str:
        return f"{_fmt(row.get('accuracy'), '.3f'):>9}" if task else ""

    lines.append(f"{'phase':<26}{'PSNR dB':>9}{'worst dB':>10}{'SSIM':>8}{'MB':>10}{'sim s':>10}{'steps':>8}"
                 + (f"{'accuracy':>9}" if task else ""))
    for p in summary.get("phases", []):
        lines.append(
            f"{p['name']:<26}{_fmt(p['psnr_db']):>9}{_fmt(p['worst_link_psnr_db']):>10}{_fmt(p['ssim'], '.4f'):>8}"
            f"{p['bytes'] / 1e6:>10.3f}{p['sim_time_s']:>10.2f}{p['local_steps']:>8}{acc(p)}"
        )
    for c in summary.get("controls", []):
        lines.append(
            f"{'control ' + c['name']:<26}{_fmt(c['psnr_db']):>9}{_fmt(c['worst_link_psnr_db']):>10}"
            f"{_fmt(c['ssim'], '.4f'):>8}{c['bytes'] / 1e6:>10.3f}{c['sim_time_s']:>10.2f}{c['local_steps']:>8}{acc(c)}"
        )
    digital = (summary.get("digital") or {}).get("baselines") or []
    for b in digital:
        lines.append(
            f"{'digital ' + b['name']:<26}{_fmt(b['psnr_db']):>9}{_fmt(b['worst_link_psnr_db']):>10}"
            f"{_fmt(b['ssim'], '.4f'):>8}{'':>10}{'':>10}{'':>8}{acc(b)}  lost {_share(b['lost_share'])}, "
            f"unfit {_share(b['unfit_share'])}"
        )
    if delivery:
        lines.append("")
        lines.extend(format_delivery(delivery))
    traffic = summary.get("traffic")
    if traffic and traffic.get("branches"):
        lines.append("")
        lines.extend(format_traffic(traffic, [ph["name"] for ph in summary.get("phases", [])]))
    links = summary.get("links", [])
    if links:
        lines.append("")
        # one PSNR column per digital baseline, beside the method's own
        per_link = [{(r["src"], r["dst"]): r["psnr_db"] for r in b["links"]} for b in digital]
        names = "".join(f"{b['name']:>{max(len(b['name']) + 2, 9)}}" for b in digital)
        lines.append(f"{'link':<10}{'SNR dB':>8}{'PSNR dB':>9}{'SSIM':>8}{names}")
        for q in links:
            extra = "".join(f"{_fmt(scores.get((q['src'], q['dst']))):>{max(len(b['name']) + 2, 9)}}"
                            for b, scores in zip(digital, per_link))
            lines.append(f"{str(q['src']) + '->' + str(q['dst']):<10}{q['snr_db']:>8.2f}{q['psnr_db']:>9.2f}"
                         f"{_fmt(q['ssim'], '.4f'):>8}{extra}")
    sweep = summary.get("test_snr_sweep")
    if sweep:
        lines.append("")
        lines.append("test SNR sweep: " + ", ".join(f"{s['snr_db']:g} dB -> {s['psnr_db']:.2f} dB" for s in sweep))
    return "\n".join(lines)


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


def format_traffic(traffic: dict, phase_order: list[str] = ()) -> list[str]:
    """Live images (``traffic:``) per branch and, on the main branch, per phase (in
    ``phase_order``, the run's): how many travelled, the share lost, the delivered
    images' PSNR (mean, 5th percentile) and their latency (median, 99th percentile)."""
    lines = [f"{'live images':<34}{'images':>8}{'lost %':>8}{'PSNR dB':>9}{'p5 dB':>8}{'p50 ms':>9}{'p99 ms':>9}"]

    def row(name: str, r: dict) -> str:
        lost = 100.0 * r["lost"] / r["images"] if r["images"] else None
        ms = (lambda v: None if v is None else 1e3 * v)
        return (f"{name:<34}{r['images']:>8}{_fmt(lost, '.1f'):>8}{_fmt(r['psnr_db_mean']):>9}"
                f"{_fmt(r['psnr_db_p5']):>8}{_fmt(ms(r['latency_s_p50']), '.1f'):>9}{_fmt(ms(r['latency_s_p99']), '.1f'):>9}")

    for branch, totals in traffic["branches"].items():
        lines.append(row(branch, totals))
        if branch == "main":
            phases = totals.get("phases", {})
            rank = {name: k for k, name in enumerate(phase_order)}
            for phase in sorted(phases, key=lambda name: (rank.get(name, len(rank)), name)):
                lines.append(row(f"  {phase}", phases[phase]))
    lines.append(f"({traffic['images_per_s']:g} images/s per link, {traffic['arrivals']}, queue {traffic['queue']}; "
                 "lost: past the deadline or in an outage; PSNR of the delivered images)")
    return lines
