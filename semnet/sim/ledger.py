"""What each node spent, where energy is spent: radio time and training samples.

The simulator writes to a :class:`UsageLedger` (when the run accounts energy) as it
books: per branch and phase, per node, the seconds its radio transmitted, the seconds
it received, and the training samples it computed. Joules are worked out from these
at the end (:mod:`semnet.metrics.energy`), so the powers never touch the simulation.
"""

from __future__ import annotations

# columns of a node's row
TX_S, RX_S, SAMPLES = 0, 1, 2


class UsageLedger:
    """Per (branch, phase): node -> [tx_s, rx_s, samples], in the order first seen."""

    def __init__(self):
        self.rows: dict[tuple[str, str], dict] = {}

    def _row(self, label: dict, node) -> list:
        key = (label.get("branch", "main"), label.get("phase", ""))
        nodes = self.rows.get(key)
        if nodes is None:
            nodes = self.rows[key] = {}
        row = nodes.get(node)
        if row is None:
            row = nodes[node] = [0.0, 0.0, 0]
        return row

    def radio(self, label: dict, src, dst, tx_s: float, rx_s: float) -> None:
        """``src`` transmitted for ``tx_s`` and ``dst`` received for ``rx_s`` seconds."""
        if tx_s:
            self._row(label, src)[TX_S] += tx_s
        if rx_s:
            self._row(label, dst)[RX_S] += rx_s

    def compute(self, label: dict, node, samples: int) -> None:
        self._row(label, node)[SAMPLES] += samples
