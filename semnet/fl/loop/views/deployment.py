"""The deployment view: which encoder and decoder each user's live images travel with
(``traffic:``). A strategy declares when a model comes into use — a download's arrival,
the end of local training, an aggregation; without live traffic every call is a no-op."""

from __future__ import annotations

import dataclasses

from torch import nn

from semnet.fl.loop.views.position import Position
from semnet.fl.loop.views.topology import TopologyView
from semnet.sim import Message, Simulator


class Deployment:
    def __init__(self, traffic, position: Position, topology: TopologyView, sim: Simulator):
        self._traffic = traffic  # this branch's live images (semnet.fl.loop.traffic.TrafficRecorder); None: none
        self._position, self._topology, self._sim = position, topology, sim

    @property
    def carries_images(self) -> bool:
        """Whether live images travel on this branch (``traffic:``): only then do
        deployments cost anything."""
        return self._traffic is not None

    def deploys(self, message: Message, *, encoder: nn.Module | None = None,
                decoder: nn.Module | None = None) -> Message:
        """``message`` carrying ``encoder``'s and/or ``decoder``'s current states to its
        receiver, who uses them for its images from the moment it arrives (an outage
        deploys nothing). Without live traffic the message itself."""
        if self._traffic is None:
            return message
        versions = self._traffic.deployments
        tag = versions.expect(message.dst, versions.version_of(encoder), versions.version_of(decoder), message.kind,
                              self._position.phase)
        return dataclasses.replace(message, tag=tag)

    def deploy(self, node, *, encoder: nn.Module | None = None, decoder: nn.Module | None = None,
               at_s: float | None = None, via: str = "local_training") -> None:
        """From ``at_s`` on (None: when this round's aggregation ends), ``node`` uses the
        current states of ``encoder`` and/or ``decoder`` for its images (a model trained
        or aggregated where it is used)."""
        if self._traffic is None:
            return
        versions = self._traffic.deployments
        encoder_v, decoder_v = versions.version_of(encoder), versions.version_of(decoder)
        if at_s is None:
            self._traffic.at_aggregation.append((node, encoder_v, decoder_v, via, self._position.phase))
        else:
            versions.deploy(node, at_s, encoder_v, decoder_v, via, self._position.phase)

    def deploy_pairing(self, encoder_of, decoder_of, *, via: str, missing_only: bool = False) -> None:
        """Every transmitter uses ``encoder_of(i)`` and every receiver ``decoder_of(j)``
        from now on (``missing_only``: only those that use none yet)."""
        if self._traffic is None:
            return
        versions = self._traffic.deployments
        links = self._topology.image_links()
        for i in sorted({i for i, _ in links}):
            if not (missing_only and versions.has(i, "encoder")):
                self.deploy(i, encoder=encoder_of(i), at_s=self._sim.now_s, via=via)
        for j in sorted({j for _, j in links}):
            if not (missing_only and versions.has(j, "decoder")):
                self.deploy(j, decoder=decoder_of(j), at_s=self._sim.now_s, via=via)

    def settle(self) -> None:
        """The round is over: score the live images whose models are now known."""
        if self._traffic is not None:
            self._traffic.settle()

    def state(self) -> dict | None:
        return None if self._traffic is None else self._traffic.state()

    def load_state(self, state: dict | None) -> None:
        if self._traffic is not None:
            self._traffic.load_state(state)
