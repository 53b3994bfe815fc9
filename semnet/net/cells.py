"""Several cells (``links.medium: cell`` with ``links.cells``): where the base stations
stand, which band each uses, and which one serves each user.

The aggregator is reached through the user's serving base station: the user's links
``user <-> aggregator`` are its links to that station (path loss at that distance), and
the backhaul from any station to the aggregator is ideal or costs
``backhaul_latency_s``. Cell ``c`` transmits in band ``bands[c]`` (default ``c mod
reuse``); under ``links.interference.model: sinr`` a cell's uplink meets the users of the
other cells of its band transmitting at the same time, and its downlink the other base
stations of its band (:mod:`semnet.sim.interference`, through
:meth:`CellLayout.air`). Without ``links.cells`` the medium is one cell at the
aggregator, as before.

Attachment is decided once, at the users' positions at rest: no handover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["CellLayout", "attach_strongest"]


@dataclass(frozen=True)
class CellLayout:
    """The base stations of a cell medium and each user's serving one.

    ``positions_m[c]`` is station ``c`` (node name :meth:`station`), ``bands[c]`` its band
    in ``range(reuse)``, ``serving`` user -> cell (users not listed: cell 0)."""

    positions_m: tuple[tuple[float, float], ...]
    bands: tuple[int, ...]
    reuse: int = 1
    serving: dict = field(default_factory=dict)
    backhaul_latency_s: float = 0.0

    @classmethod
    def single(cls, position_m) -> "CellLayout":
        """One cell at ``position_m`` serving everyone (the medium without ``links.cells``)."""
        return cls(positions_m=(tuple(position_m),), bands=(0,))

    @property
    def count(self) -> int:
        return len(self.positions_m)

    def cell_of(self, user) -> int:
        return self.serving.get(user, 0)

    @staticmethod
    def station(cell: int) -> str:
        """Base station ``cell``'s node name (in the interference book and its gains)."""
        return f"bs{cell}"

    def stations(self) -> dict:
        """Station name -> position."""
        return {self.station(c): tuple(p) for c, p in enumerate(self.positions_m)}

    def air(self, users, aggregator, first_band: int) -> dict:
        """Where each user <-> aggregator link transmits: ``(src, dst) -> (sender, receiver,
        band)`` with the serving station in the aggregator's place. The cells' bands come
        after the ``first_band`` bands of the other links: uplink band ``b`` is
        ``first_band + b``, downlink band ``b`` is ``first_band + reuse + b`` (an uplink never
        meets a downlink, nor a device-to-device pair)."""
        out = {}
        for user in users:
            cell = self.cell_of(user)
            station, band = self.station(cell), self.bands[cell]
            out[(user, aggregator)] = (user, station, first_band + band)
            out[(aggregator, user)] = (station, user, first_band + self.reuse + band)
        return out


def attach_strongest(positions_m: dict, stations_m, gain_db) -> dict:
    """User -> the cell whose station it receives most strongly: ``gain_db(distance_m)``
    (the path loss law's large-scale SNR, monotone or not); ties go to the lower cell."""
    out = {}
    for user, (x, y) in positions_m.items():
        gains = [gain_db(math.hypot(x - sx, y - sy)) for sx, sy in stations_m]
        out[user] = max(range(len(gains)), key=lambda c: (gains[c], -c))
    return out
