"""The data view: what local training is made of — each user's images and batch
streams, fresh models of the scenario's architecture, and loss terms over links."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from semnet.data import BatchStream
from semnet.fl.execution.trainer import LossTask
from semnet.fl.loop.views.topology import TopologyView
from semnet.seeding import derive_seed


class LocalData:
    def __init__(self, topology: TopologyView, train_images: dict[int, torch.Tensor],
                 new_model: Callable[[], nn.Module] | None, device: torch.device, *, seed: int, branch: str,
                 augment: bool):
        self._topology = topology
        self._train_images = train_images
        self._new_model = new_model
        self.device = device
        self._seed, self._branch, self._augment = seed, branch, augment
        self._streams: dict[tuple[int, int], BatchStream] = {}

    def for_branch(self, branch: str) -> "LocalData":
        """The same data and models for another branch, with its own batch streams."""
        return LocalData(self._topology, self._train_images, self._new_model, self.device, seed=self._seed,
                         branch=branch, augment=self._augment)

    def new_model(self) -> nn.Module:
        """A fresh model of the scenario's architecture, seeded (or loaded from its checkpoint)."""
        return self._new_model()

    @property
    def learns(self) -> bool:
        """Whether this run has models and data (every method but the exchange-only one)."""
        return self._new_model is not None

    def samples(self, user: int) -> int:
        return int(self._train_images[user].shape[0])

    def user_images(self, user: int) -> torch.Tensor:
        """The user's training images (centralised training pools them; nobody else should)."""
        return self._train_images[user]

    def stream(self, user: int, batch_size: int) -> BatchStream:
        """The user's own batch stream (continues across rounds, seeded per user and branch)."""
        key = (user, batch_size)
        if key not in self._streams:
            self._streams[key] = BatchStream(
                self._train_images[user], batch_size,
                seed=derive_seed(self._seed, "batches", self._branch, user, batch_size),
                device=self.device, augment=self._augment,
            )
        return self._streams[key]

    def probe_stream(self, user: int, batch_size: int, *key: object) -> BatchStream:
        """A fresh, unaugmented stream of the user's images seeded by ``key`` and not kept:
        streams made with the same key give the same batches (IFCA scores its cluster
        models on the same images)."""
        return BatchStream(self._train_images[user], batch_size,
                           seed=derive_seed(self._seed, "probe", self._branch, user, batch_size, *key),
                           device=self.device, augment=False)

    def loss_task(self, decoder: nn.Module, links: list[tuple], weight: float = 1.0,
                  snr_uniform_db: tuple[float, float] | None = None) -> LossTask:
        """A loss term that decodes images sent over ``links``: each image is drawn at one
        of their SNRs (each image link's ``link_snrs``, an aggregator link's one SNR,
        in turn) and meets the channel of the link that SNR is from."""
        topology = self._topology
        snrs: list[float] = []
        origin: list[tuple] = []
        for src, dst in links:
            values = (topology.link_snrs(src, dst) if topology.is_image_link(src, dst)
                      else [topology.link_snr(src, dst)])
            snrs += values
            origin += [(src, dst)] * len(values)
        return LossTask(decoder, snrs, weight, snr_uniform_db=snr_uniform_db, links=origin)

    def state(self) -> dict:
        return {key: stream.state() for key, stream in self._streams.items()}

    def load_state(self, state: dict) -> None:
        """Streams in place (strategies may hold them)."""
        for key in [k for k in self._streams if k not in state]:
            del self._streams[key]
        for (user, batch_size), stream_state in state.items():
            self.stream(user, batch_size).load_state(stream_state)
