"""Energy of a run: training samples and radio seconds turned into joules.

Per node and phase (:class:`~semnet.sim.ledger.UsageLedger`):

- compute ``E_c = samples x joules_per_sample`` (the node's compute profile);
- transmit ``E_tx = tx_power_w x`` the seconds its radio sent (a message's airtime; on
  a shared band the whole time it held a sub-band or its own slots; a broadcast once);
- receive ``E_rx = rx_power_w x`` the seconds it received (each message's airtime
  again; receptions at once, as a base station's on a shared band, add up);
- idle ``E_idle = idle_power_w x max(0, phase duration - tx - rx)``.

The summary's totals cover the main branch (the method), like ``bytes_total``; each
control's branch is under ``branches``.
"""

from __future__ import annotations

from semnet.sim.ledger import RX_S, SAMPLES, TX_S, UsageLedger

PARTS = ("compute_j", "tx_j", "rx_j", "idle_j")
_IDLE = (0.0, 0.0, 0)  # a node that did nothing in a phase


def _round(x: float) -> float:
    return round(float(x), 9)


class _Sum:
    __slots__ = ("values", "samples", "tx_s", "rx_s")

    def __init__(self):
        self.values = dict.fromkeys(PARTS, 0.0)
        self.samples = 0
        self.tx_s = self.rx_s = 0.0

    def add(self, other: "_Sum") -> None:
        for key in PARTS:
            self.values[key] += other.values[key]
        self.samples += other.samples
        self.tx_s += other.tx_s
        self.rx_s += other.rx_s

    def as_dict(self, times: bool = False) -> dict:
        out = {"total_j": _round(sum(self.values.values())), **{k: _round(v) for k, v in self.values.items()}}
        if times:
            out.update(samples=self.samples, tx_s=_round(self.tx_s), rx_s=_round(self.rx_s))
        return out


def node_energy(tx_s: float, rx_s: float, samples: int, span_s: float, *, joules_per_sample: float,
                tx_power_w: float, rx_power_w: float, idle_power_w: float) -> _Sum:
    """One node's energy in one phase of ``span_s`` seconds (module docstring)."""
    out = _Sum()
    out.samples, out.tx_s, out.rx_s = samples, tx_s, rx_s
    out.values["compute_j"] = samples * joules_per_sample
    out.values["tx_j"] = tx_s * tx_power_w
    out.values["rx_j"] = rx_s * rx_power_w
    out.values["idle_j"] = max(0.0, span_s - tx_s - rx_s) * idle_power_w
    return out


def energy_summary(ledger: UsageLedger, spans: dict, nodes: list, aggregator, joules_per_sample: dict,
                   powers) -> dict:
    """The summary's ``energy`` section.

    Parameters
    ----------
    ledger : UsageLedger
        What every node spent, per (branch, phase).
    spans : dict
        (branch, phase) -> the phase's simulated duration in seconds (idle time).
    nodes : list
        Every node, the aggregator included.
    joules_per_sample : dict
        node -> J per training sample.
    powers : EnergySpec or None
        Radio powers (None: no radio energy).
    """
    def radio(node) -> tuple[float, float, float]:
        if powers is None:
            return 0.0, 0.0, 0.0
        p = powers.aggregator if node == aggregator and powers.aggregator is not None else powers
        return p.tx_power_w, p.rx_power_w, p.idle_power_w

    keys = list(spans) + [key for key in ledger.rows if key not in spans]
    branches: dict[str, dict] = {}
    main_nodes: dict = {}
    for branch, phase in keys:
        used = ledger.rows.get((branch, phase), {})
        phase_total = _Sum()
        per_node = {}
        for node in nodes:
            row = used.get(node, _IDLE)
            tx_s, rx_s, samples = row[TX_S], row[RX_S], row[SAMPLES]
            tx_w, rx_w, idle_w = radio(node)
            one = node_energy(tx_s, rx_s, samples, spans.get((branch, phase), 0.0),
                              joules_per_sample=joules_per_sample.get(node, 0.0),
                              tx_power_w=tx_w, rx_power_w=rx_w, idle_power_w=idle_w)
            phase_total.add(one)
            per_node[node] = one
            if branch == "main":
                main_nodes.setdefault(node, _Sum()).add(one)
        entry = branches.setdefault(branch, {"sum": _Sum(), "phases": {}})
        entry["sum"].add(phase_total)
        row = phase_total.as_dict()
        if branch == "main":
            row["nodes"] = {str(node): s.as_dict(times=True) for node, s in per_node.items()}
        entry["phases"][phase] = row
    main = branches.get("main", {"sum": _Sum(), "phases": {}})
    users = _Sum()
    for node, s in main_nodes.items():
        if node != aggregator:
            users.add(s)
    settings = {"joules_per_sample": {str(n): j for n, j in joules_per_sample.items()}}
    if powers is not None:
        settings["radio"] = powers.model_dump(mode="json")
    return {
        **main["sum"].as_dict(),
        "users_j": users.as_dict()["total_j"],
        "nodes": {str(node): s.as_dict(times=True) for node, s in main_nodes.items()},
        "phases": main["phases"],
        "branches": {b: {**e["sum"].as_dict(), "phases": e["phases"]} for b, e in branches.items()},
        "settings": settings,
    }
