"""What live traffic is asked to carry and what it booked (:mod:`semnet.sim.traffic`): the
plan, each image as booked, and a digital image's packet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from semnet.sim.on_air import OnAir

__all__ = ["ImageSent", "PacketPlan", "PacketSent", "TrafficPlan"]


@dataclass(frozen=True)
class TrafficPlan:
    """What the network carries: ``images_per_s`` on each of ``links``, ``symbols``
    complex channel uses per image, arrivals ``periodic`` or ``poisson``, queue
    policy ``fifo`` or ``images_first``. ``digital``: images travel as packets whose
    sizes it gives (``packet(src, dst, n, known_snr_db, learnt_snr_db) -> PacketPlan``);
    None: as ``symbols`` channel uses."""

    images_per_s: float
    symbols: int
    links: tuple[tuple, ...]
    arrivals: str = "poisson"
    queue: str = "fifo"
    digital: object | None = None

    def __post_init__(self):
        if not self.images_per_s > 0:
            raise ValueError(f"images_per_s must be > 0, got {self.images_per_s!r}")
        if self.symbols < 1:
            raise ValueError(f"an image needs at least one channel use, got symbols={self.symbols!r}")
        if self.arrivals not in ("periodic", "poisson"):
            raise ValueError(f"unknown arrivals {self.arrivals!r}; allowed: periodic, poisson")
        if self.queue not in ("fifo", "images_first"):
            raise ValueError(f"unknown queue policy {self.queue!r}; allowed: fifo, images_first")


class PacketPlan(NamedTuple):
    """What a digital sender sends for one image: ``bits`` (0: nothing fits), the
    ``budget_bits`` they had to fit, the codec ``rung`` chosen (None: none), and the SNR
    (dB) the receiver needs to decode it (None: whatever the message path delivers)."""

    bits: int
    budget_bits: int
    rung: int | None
    threshold_db: float | None


class PacketSent:
    """A digital image as booked: its :class:`PacketPlan`, whether the network delivered
    it (``delivered``: the message path did and the SNR met its threshold), the packet
    attempts made and the SNR (dB) it met at its start."""

    __slots__ = ("plan", "delivered", "attempts", "realised_snr_db")

    def __init__(self, plan, delivered: bool, attempts: int, realised_snr_db: float):
        self.plan = PacketPlan(*plan)
        self.delivered, self.attempts, self.realised_snr_db = delivered, attempts, realised_snr_db

    def as_tuple(self) -> tuple:
        return tuple(self.plan), self.delivered, self.attempts, self.realised_snr_db


class ImageSent:
    """One image as booked: link ``src -> dst``, its number ``n`` on the link, when it
    was generated, started and received (``t_end_s``, latency included), the link's
    large-scale SNR at its start and the gain ``h`` it met (None: the link has no
    channel over time, so the decoder side draws ``h`` from the fading law; or a digital
    image), the round's label when it was generated, a digital image's ``packet``
    (:class:`PacketSent`; None: JSCC symbols), and ``on_air``, its record in the
    interference book (None: noise only): the interference its symbols met, filled in as
    later transmissions that overlap it are booked."""

    __slots__ = ("src", "dst", "n", "t_gen_s", "t_start_s", "t_end_s", "snr_db", "h", "label", "packet", "on_air")

    def __init__(self, src, dst, n, t_gen_s, t_start_s, t_end_s, snr_db, h, label, packet=None, on_air=None):
        self.src, self.dst, self.n = src, dst, n
        self.t_gen_s, self.t_start_s, self.t_end_s = t_gen_s, t_start_s, t_end_s
        self.snr_db, self.h, self.label = snr_db, h, label
        self.packet = packet if packet is None or isinstance(packet, PacketSent) else PacketSent(*packet)
        self.on_air = on_air

    def as_tuple(self) -> tuple:
        """Nine values, then the packet's (a digital image), then the book record's (an
        image that met interference; the packet's place is None for a JSCC one)."""
        values = (self.src, self.dst, self.n, self.t_gen_s, self.t_start_s, self.t_end_s, self.snr_db, self.h,
                  dict(self.label))
        packet = None if self.packet is None else self.packet.as_tuple()
        if self.on_air is not None:
            return values + (packet, self.on_air.as_tuple())
        return values if packet is None else values + (packet,)

    @classmethod
    def of(cls, values: tuple, book=None) -> "ImageSent":
        """From :meth:`as_tuple`; an image's book record is the restored ``book``'s own
        (so that transmissions booked later still reach it), or rebuilt if it has left it."""
        if len(values) > 10:
            on_air = None if book is None else book.find(values[10])
            values = values[:10] + (OnAir.of(values[10]) if on_air is None else on_air,)
        return cls(*values)
