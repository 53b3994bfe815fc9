"""The topology view: users, the aggregator, who sends images to whom and each link's
SNR, as a method is told them. Read-only, shared by every branch of a run."""

from __future__ import annotations

from semnet.net.network import Network


class TopologyView:
    def __init__(self, network: Network):
        self._network = network

    @property
    def users(self) -> list[int]:
        return self._network.users

    @property
    def aggregator(self) -> int:
        """The aggregator (base station) node."""
        return self._network.aggregator

    def receivers(self, user: int) -> list[int]:
        """out(user): the users it sends images to."""
        return self._network.receivers(user)

    def transmitters(self, user: int) -> list[int]:
        """in(user): the users that send images to it."""
        return self._network.transmitters(user)

    def image_links(self) -> list[tuple[int, int]]:
        return self._network.image_links()

    def is_image_link(self, src: int, dst: int) -> bool:
        return self._network.transmit.has_edge(src, dst)

    def traffic_weight(self, src: int, dst: int) -> float:
        """Share of ``src``'s images that go to ``dst`` (the transmit graph's edge weight)."""
        return self._network.traffic_weight(src, dst)

    def link_snr(self, src: int, dst: int) -> float:
        """The link's (mean) SNR in dB: what a method is told about it."""
        return self._network.link(src, dst).snr_db

    def link_snrs(self, src: int, dst: int) -> list[float]:
        """The SNRs (dB) training on link ``src -> dst`` draws from: its one SNR, or on a
        channel whose users move, its large-scale SNR at each comparison state (so a
        moving link is trained over its spread, not only at its mean)."""
        return self._network.snr_samples_db(src, dst)

    def out_snrs(self, user: int) -> list[float]:
        """SNRs of the user's image links (its own data travels over these), each link's
        :meth:`link_snrs` in turn."""
        receivers = self.receivers(user)
        if not receivers:
            return [self.link_snr(user, self.aggregator)]
        return [snr for j in receivers for snr in self.link_snrs(user, j)]

    def out_links(self, user: int) -> list[tuple]:
        """The links :meth:`out_snrs` come from: the user's image links, or (a user who
        sends no images) its uplink to the aggregator."""
        return [(user, j) for j in self.receivers(user)] or [(user, self.aggregator)]
