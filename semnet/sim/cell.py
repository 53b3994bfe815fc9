"""The aggregator as a base station (``links.medium: cell``).

- **Uplink.** Users' messages to the aggregator share its uplink band under
  ``links.scheduler`` (:mod:`semnet.sim.band`: ``tdma``, ``ofdma``, ``proportional_fair``,
  or any scheduler of :data:`semnet.registry.schedulers`).
- **Downlink.** With ``links.downlink: broadcast``, the aggregator's downloads of one
  payload (same kind and size) submitted at the same instant travel as one broadcast
  at the weakest receiver's rate (:mod:`semnet.net.broadcast`); every receiver gets it
  when it ends. Other downloads, and all of them with ``unicast``, share the downlink
  band under the same scheduler as the uplink.
- **Device to device.** Messages between users go on the users' half-duplex radios
  (:mod:`semnet.sim.radio`); a user's cellular interface and its radio do not block
  each other.
- **Several cells** (``links.cells``, :mod:`semnet.net.cells`). Each base station has its
  own uplink and downlink bands under the scheduler, serving the users attached to it; a
  broadcast goes once per cell, to that cell's receivers. The aggregator is reached
  through the serving station (ideal backhaul, or its latency).
- **Interference** (``links.interference.model: sinr``, scheduler ``tdma``): a job holds its
  cell's whole band for its airtime, so it goes on the air of the interference book as one
  transmission between the user and its station, in its cell's band
  (:meth:`~semnet.net.cells.CellLayout.air`): an uplink meets the other cells' users of its
  band sending at the same time, a downlink the other stations of its band. A broadcast is
  planned at each receiver's large-scale SINR at its start (the stations then on the air)
  and goes on the air as one record per receiver, the station heard by the others once.

Why coalesce rather than add a broadcast message: a strategy says what each client
needs (``Task.downloads``) and never how messages travel, so FedAvg, FedPer, Ditto and
SCAFFOLD all broadcast their global model on a cell, and send it as unicasts elsewhere,
without knowing it. Identical payloads from the base station at one instant are what a
broadcast is. The group is closed by a zero-delay SimPy event, which runs after every
task of the round has submitted its downloads at that instant.

Not modelled: interference under ``ofdma`` and ``proportional_fair`` (sub-bands and
slots), handover (users stay with the station chosen at rest), control signalling, rate
groups of a broadcast.
"""

from __future__ import annotations

import math
from dataclasses import replace

from semnet.net.broadcast import plan_broadcast
from semnet.net.link_params import MediumSettings
from semnet.net.rate import TransmissionOutcome
from semnet.registry import media
from semnet.sim.band import BandJob, make_band
from semnet.sim.medium import Medium, Transmission, nominal_rate_bps
from semnet.sim.radio import NodeRadios

__all__ = ["CellMedium"]


class _CloseGroups:
    """Zero-delay callback closing the broadcast groups of an instant (picklable)."""

    __slots__ = ("cell",)

    def __init__(self, cell: "CellMedium"):
        self.cell = cell

    def __call__(self, _event) -> None:
        self.cell.close_groups()


@media.register("cell", "the aggregator's bands shared by a scheduler; users' radios for device to device")
class CellMedium(Medium):
    """The aggregator's bands and the users' radios (module docstring)."""

    name = "cell"
    defers = True

    def __init__(self, sim, settings: MediumSettings):
        self.sim = sim
        self.aggregator = sim.network.aggregator
        self.broadcast = settings.downlink == "broadcast"
        bands = dict(slot_s=settings.slot_s, window_s=settings.pf_window_s)
        layout = sim.network.cells  # None: one cell, at the aggregator
        count = 1 if layout is None else layout.count
        self.cell_of = {} if layout is None else dict(layout.serving)  # user -> its cell (absent: 0)
        self.uplinks = [make_band(sim.env, settings.scheduler, self, **bands) for _ in range(count)]
        self.downlinks = [make_band(sim.env, settings.scheduler, self, **bands) for _ in range(count)]
        self.fair = self.uplinks[0].follows_channel  # jobs planned at their nominal rate, served at their current one
        self.radios = NodeRadios()
        self.groups: dict[tuple, list[Transmission]] = {}  # (cell, kind, bits, symbols) -> downloads of this instant
        self.closing = False

    def __getstate__(self) -> dict:
        return {**self.__dict__, "sim": None}  # re-attached after a restore

    def __setstate__(self, state: dict) -> None:
        if "uplink" in state:  # pickled when the medium was one cell
            state["uplinks"], state["downlinks"] = [state.pop("uplink")], [state.pop("downlink")]
            state["cell_of"] = {}
            state["groups"] = {(0, *key): members for key, members in state["groups"].items()}
        self.__dict__.update(state)

    def attach(self, sim) -> None:
        self.sim = sim
        for band in self.uplinks + self.downlinks:
            band.attach(sim.env, self)
        if self.groups:
            self.sim.env.timeout(0).callbacks.append(_CloseGroups(self))

    # ------------------------------------------------------------------ submission

    def submit(self, tx: Transmission) -> None:
        src, dst = tx.message.src, tx.message.dst
        if dst == self.aggregator:
            self.uplinks[self.cell_of.get(src, 0)].add(BandJob(src, [tx]))
        elif src == self.aggregator:
            cell = self.cell_of.get(dst, 0)
            if self.broadcast:
                m = tx.message
                self.groups.setdefault((cell, m.kind, m.bits, m.symbols), []).append(tx)
                if not self.closing:
                    self.closing = True
                    self.sim.env.timeout(0).callbacks.append(_CloseGroups(self))
            else:
                self.downlinks[cell].add(BandJob(dst, [tx]))
        else:
            self._device_to_device(tx)

    def close_groups(self) -> None:
        """Every payload of this instant goes out as one downlink job per cell."""
        groups, self.groups, self.closing = self.groups, {}, False
        for (cell, kind, bits, symbols), members in groups.items():
            self.downlinks[cell].add(BandJob(("broadcast", kind, bits, symbols), members))

    def _device_to_device(self, tx: Transmission) -> None:
        src, dst = tx.message.src, tx.message.dst
        start = self.radios.start_s(src, dst, float(self.sim.env.now))
        outcome = tx.plan(start)
        traffic = self.sim.traffic
        if traffic is not None and traffic.fills_gaps:  # images first: it waits for those in its way
            start = traffic.place_model(tx.queue, start, outcome.airtime_s)
        end = start + outcome.airtime_s
        self.radios.hold(src, dst, end)
        tx.queue.busy_until_s = end
        self.sim.resolve(tx, start, end, outcome, outcome.airtime_s, outcome.airtime_s)

    def book_image(self, queue, t_s: float, symbols: int, bits: int = 0):
        # images travel between users: on their radios, booked at once
        return self.radios.book(queue, t_s, bits, symbols)

    def earliest_start(self, queue, now_s: float) -> float:
        return self.radios.start_s(queue.params.src, queue.params.dst, now_s)

    def occupy(self, queue, start_s: float, end_s: float) -> None:
        self.radios.occupy(queue, end_s)

    def resources(self, src, dst) -> tuple:
        if self.aggregator in (src, dst):
            return ()  # the base station's bands, which images never use
        return (("radio", src), ("radio", dst))

    def finish(self) -> None:
        self.close_groups()
        for band in self.uplinks + self.downlinks:
            band.finish()

    # ------------------------------------------------------------------ the bands' owner

    def plan(self, job: BandJob, t_s: float) -> None:
        """Set ``job.work_s``: its airtime had it the whole band, from ``t_s``."""
        items = job.items
        if len(items) > 1 or isinstance(job.user, tuple):  # a broadcast
            m = items[0].message
            links = [tx.queue.params for tx in items]
            book = self.sim.book
            if book is not None:  # each receiver at its large-scale SINR at the start (module docstring)
                links = [_with_interference(p, book.heard(p.src, p.dst, t_s)) for p in links]
            airtime, outcomes = plan_broadcast(m.bits, m.symbols, links, [tx.queue.rng for tx in items])
            job.work_s = airtime
            job.extra = outcomes
            job.nominal_bps = min(nominal_rate_bps(p) for p in links)
            for tx in items:
                if tx.queue.fading is not None:  # the record's realised channel at the start
                    tx.h, snr_db = tx.queue.fading.state(t_s)
                    tx.snr_db = _realised_db(snr_db, tx.h)
            if book is not None:
                snrs_db = [tx.queue.params.snr_db if tx.queue.fading is None else tx.queue.fading.snr_db(t_s)
                           for tx in items]
                records = book.add_broadcast([(p.src, p.dst) for p in links], snrs_db, t_s, t_s + airtime, m.symbols)
                for tx, record in zip(items, records):
                    tx.sinr_db = record.sinr_db(known_only=True)
            return
        tx = items[0]
        m = tx.message
        params = tx.queue.params
        if self.fair:
            # the slots follow the channel: rates adapt to it, no packet is lost
            job.nominal_bps = nominal_rate_bps(params)
            job.work_s = m.symbols / params.bandwidth_hz if m.symbols else m.bits / job.nominal_bps
            job.extra = [TransmissionOutcome(job.work_s, 1, True)]
            if tx.queue.fading is not None:
                tx.h, snr_db = tx.queue.fading.state(t_s)
                tx.snr_db = _realised_db(snr_db, tx.h)
            return
        outcome = tx.plan(t_s)
        job.work_s = outcome.airtime_s
        job.extra = [outcome]

    def rate_bps(self, job: BandJob, t_s: float) -> float:
        """Proportional fair: the job's full-band rate now. It follows the link's channel
        over time on Shannon-rate links (``backoff B log2(1 + snr(t) |h(t)|^2)``); it is
        the link's nominal rate otherwise."""
        if len(job.items) > 1 or isinstance(job.user, tuple):
            return job.nominal_bps
        queue = job.items[0].queue
        params = queue.params
        if queue.fading is None or params.rate_mode != "shannon" or job.items[0].message.symbols:
            return job.nominal_bps
        h, snr_db = queue.fading.state(t_s)
        gain = h.real * h.real + h.imag * h.imag
        return params.backoff * params.bandwidth_hz * math.log1p(10.0 ** (snr_db / 10.0) * gain) / math.log(2.0)

    def done(self, job: BandJob, end_s: float) -> None:
        on_air = job.on_air_s
        for index, (tx, outcome) in enumerate(zip(job.items, job.extra)):
            # a broadcast is transmitted once and heard by every receiver
            self.sim.resolve(tx, job.start_s, end_s, outcome, on_air if index == 0 else 0.0, on_air)


def _with_interference(params, interference: float):
    """``params`` at its SINR ``snr / (1 + interference)`` (itself when nothing is heard)."""
    if interference <= 0.0:
        return params
    return replace(params, snr_db=params.snr_db - 10.0 * math.log10(1.0 + interference))


def _realised_db(snr_db: float, h: complex) -> float:
    return snr_db + 10.0 * math.log10(max(h.real * h.real + h.imag * h.imag, 1e-300))
