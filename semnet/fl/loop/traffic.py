"""The application's view of live images: their quality and delay while the run learns.

The simulator books the images and says when each was generated, sent and received,
and through which channel (:mod:`semnet.sim.traffic`). Here each one is encoded by the
encoder its sender had deployed when it was sent and decoded by the decoder its
receiver had deployed when it arrived (:mod:`semnet.fl.loop.deployment`), in PyTorch, and
scored; an image received later than ``traffic.deadline_s`` after it was generated
counts as lost (it is not decoded).

Simulated time never depends on trained values, so decoding waits until a round has
settled (:meth:`TrafficRecorder.settle`): the images received by then are grouped by
the model versions they need and decoded in batches. Each image's channel noise (and
its gain, where the network has no channel over time) comes from its own seed
``(seed, branch, link, image number)``, so a batch's make-up changes no draw. With
``links.interference.model: sinr`` each channel use meets noise of power ``N + I``: the
interference of the transmissions on the air while it was sent (:mod:`semnet.sim.interference`).

Records (:class:`~semnet.fl.loop.traffic_tally.TrafficTally`, shared by every branch of a run):

* ``images.jsonl`` (``traffic.image_records``): one line per image;
* ``metrics.jsonl``: per branch, phase, link and window of ``traffic.window_s`` (by
  generation time) a record with ``split: "traffic"`` once every image generated in the
  window is settled; each deployment a record with ``split: "deployment"``;
* ``summary.json``: a ``traffic`` section per branch and phase, per link.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from semnet.channels import complex_normal_torch
from semnet.fl.loop.deployment import Deployments
from semnet.fl.loop.traffic_tally import TrafficTally
from semnet.metrics.image import psnr as psnr_of
from semnet.models import Channel
from semnet.channels.layer.link_channels import LinkChannels, as_link_channels
from semnet.channels.layer.channel import as_snr_db, from_complex, power_normalize, to_complex
from semnet.seeding import derive_seed, numpy_rng
from semnet.sim.traffic import ImageSent

__all__ = ["ImageDecoder", "TrafficRecorder", "TrafficTally"]


class ImageDecoder:
    """Sends live images through deployed models and scores them (PSNR per image).

    Parameters
    ----------
    test_images : dict
        user -> uint8 images ``(N, 3, H, W)``: what each user sends.
    channel : Channel or LinkChannels
        The run's channel layer (fading law, CSI): one for every link, or each link's.
    device : torch.device
    seed : int
        Root of the images' choice and channel draws.
    new_model : callable
        Builds a model of the run's architecture: a container the versions are loaded into.
    batch_size : int
    """

    def __init__(self, test_images: dict, channel: Channel | LinkChannels, device: torch.device, *, seed: int,
                 new_model: Callable[[], nn.Module] | None, batch_size: int = 256):
        self.test_images = test_images
        self.channels = as_link_channels(channel)
        self.channel = self.channels.default
        self.device = device
        self.seed = seed
        self._new_model = new_model
        self._model: nn.Module | None = None
        self.batch_size = batch_size
        self._order: dict = {}

    sender = None  # digital images: the simulator's packet sender (TrafficPlan.digital); JSCC: none

    @property
    def decodes(self) -> bool:
        """Whether the run has models (the exchange-only protocol has none)."""
        return self._new_model is not None

    def score(self, images: list[ImageSent], versions: list[tuple], late: list[bool], states: dict,
              branch: str) -> list[tuple[bool, float | None, dict]]:
        """Per image: (lost, PSNR in dB of the decoded image or None, fields its record
        adds). An image in time whose sender and receiver both have models is decoded."""
        todo = [i for i, pair in enumerate(versions) if self.decodes and not late[i] and None not in pair]
        values = self.psnr([images[i] for i in todo], [versions[i] for i in todo], states, branch)
        psnr = dict(zip(todo, values))
        return [(late[i], psnr.get(i), {}) for i in range(len(images))]

    def state(self, branch: str):
        """What the decoder keeps of ``branch`` between settles (None: nothing)."""

    def load_state(self, branch: str, state) -> None:
        pass

    def image_index(self, src, dst, n: int) -> int:
        """Which of ``src``'s held-out images the ``n``-th image on ``src -> dst`` is: each
        link goes through them in its own shuffled order."""
        order = self._order.get((src, dst))
        if order is None:
            order = self._order[(src, dst)] = numpy_rng(self.seed, "traffic_images", src, dst).permutation(
                int(self.test_images[src].shape[0]))
        return int(order[n % len(order)])

    @torch.no_grad()
    def psnr(self, images: list[ImageSent], versions: list[tuple], states: dict, branch: str) -> list[float]:
        """PSNR (dB) of each image sent with its (encoder, decoder) versions' states."""
        if not images:
            return []
        if self._model is None:
            self._model = self._new_model().to(self.device).eval()
        model = self._model
        ys: list = [None] * len(images)
        shape = None
        for version in sorted({e for e, _ in versions}):
            model.encoder.load_state_dict(states[version])
            members = [i for i, (e, _) in enumerate(versions) if e == version]
            for chunk in _chunks(members, self.batch_size):
                x = self._pixels(images, chunk)
                snr = self._snr(images, chunk)
                latent = model.encoder(x, snr)
                shape = latent.shape[1:]
                z = power_normalize(to_complex(latent))
                gain, noise = self._draws(images, chunk, z.shape[1], branch)
                for channel, rows in self._by_channel(images, chunk):
                    if len(rows) == len(chunk):  # one channel: the whole chunk at once
                        y = channel(z, snr, gain=gain, noise=noise)
                    else:  # every draw is given, so a subset of rows gives what the whole chunk would
                        index = torch.tensor(rows, device=z.device)
                        y = channel(z[index], snr[index], gain=gain[index], noise=noise[index])
                    for r, row in enumerate(rows):
                        ys[chunk[row]] = y[r]
        out = [math.nan] * len(images)
        for version in sorted({d for _, d in versions}):
            model.decoder.load_state_dict(states[version])
            members = [i for i, (_, d) in enumerate(versions) if d == version]
            for chunk in _chunks(members, self.batch_size):
                y = torch.stack([ys[i] for i in chunk])
                x_hat = model.decoder(from_complex(y, shape), self._snr(images, chunk)).clamp_(0, 1)
                for i, value in zip(chunk, psnr_of(x_hat, self._pixels(images, chunk)).tolist()):
                    out[i] = value
        return out

    def _pixels(self, images: list[ImageSent], chunk: list[int]) -> torch.Tensor:
        rows = [self.test_images[images[i].src][self.image_index(images[i].src, images[i].dst, images[i].n)]
                for i in chunk]
        return torch.stack(rows).to(self.device).float().div_(255)

    def _snr(self, images: list[ImageSent], chunk: list[int]) -> torch.Tensor:
        return as_snr_db(torch.tensor([images[i].snr_db for i in chunk], dtype=torch.float32), len(chunk), self.device)

    def _by_channel(self, images: list[ImageSent], chunk: list[int]) -> list[tuple[Channel, list[int]]]:
        """The chunk's rows grouped by the channel of their image's link (one group on a
        run without per-link kinds)."""
        groups: dict[int, tuple[Channel, list[int]]] = {}
        for row, i in enumerate(chunk):
            channel = self.channels.of(images[i].src, images[i].dst)
            groups.setdefault(id(channel), (channel, []))[1].append(row)
        return list(groups.values())

    def _draws(self, images: list[ImageSent], chunk: list[int], k: int, branch: str):
        """Each image's gain (the network's, or drawn from its link's fading law) and unit
        noise, from its own generator: gain first, then noise, as the channel layer draws."""
        gains, noises = [], []
        for i in chunk:
            image = images[i]
            gen = torch.Generator()
            gen.manual_seed(derive_seed(self.seed, "traffic", branch, image.src, image.dst, image.n))
            if image.h is None:
                fading = self.channels.of(image.src, image.dst).fading
                gains.append(fading.sample_torch(1, gen, torch.device("cpu"), torch.float32)[0])
            else:
                gains.append(torch.tensor(complex(image.h), dtype=torch.complex64))
            noise = complex_normal_torch((k,), gen, torch.device("cpu"), torch.float32)
            if image.on_air is not None and image.on_air.hits:
                # interference treated as noise: the symbols sent while others were on the air meet
                # noise of power N + I, i.e. the unit draw scaled by sqrt(1 + I / N) (module interference)
                scale = np.sqrt(1.0 + image.on_air.symbol_interference(k))
                noise = noise * torch.from_numpy(scale).to(torch.float32)
            noises.append(noise)
        return torch.stack(gains).to(self.device), torch.stack(noises).to(self.device)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --------------------------------------------------------------------------- one branch


class TrafficRecorder:
    """One branch's side of the traffic: its deployments, the images its simulator has
    booked and not yet scored, and the deployments of this round's aggregation."""

    def __init__(self, sim, decoder: ImageDecoder, tally: TrafficTally, branch: str):
        self.sim = sim
        self.decoder = decoder
        self.tally = tally
        self.branch = branch
        self.deployments = Deployments()
        self.pending: list[ImageSent] = []
        self.at_aggregation: list[tuple] = []  # (node, encoder version, decoder version, via, phase)
        self.deadline_s = tally.spec.deadline_s
        tally.recorders.append(self)

    def for_branch(self, name: str, sim) -> "TrafficRecorder":
        """A fresh recorder for a branch with its own simulator (a control)."""
        return TrafficRecorder(sim, self.decoder, self.tally, name)

    def settle(self, final: bool = False) -> None:
        """Take what the simulator booked and reported, deploy what arrived, and score the
        images received before now (all of them when ``final``): no later deployment can
        take effect before now."""
        sim, deployments = self.sim, self.deployments
        now = sim.now_s
        sim.catch_up()
        for tag, t_s, delivered in sim.arrivals:
            deployments.arrived(tag, t_s, delivered)
        sim.arrivals.clear()
        for node, encoder, decoder, via, phase in self.at_aggregation:
            deployments.deploy(node, now, encoder, decoder, via, phase)
        self.at_aggregation.clear()
        self.tally.deployed(self.branch, deployments.take_new())
        self.pending.extend(sim.traffic.take())
        if final:
            ready, self.pending = self.pending, []
        else:
            ready = [image for image in self.pending if image.t_end_s < now]
            self.pending = [image for image in self.pending if not image.t_end_s < now]
        self._score(ready)
        horizon = math.inf if final else now
        if self.pending:
            horizon = min(horizon, min(image.t_gen_s for image in self.pending))
        self.tally.close_windows(self.branch, horizon)
        oldest = min((image.t_start_s for image in self.pending), default=now)
        deployments.prune(min(now, oldest))

    def _score(self, images: list[ImageSent]) -> None:
        deployments, decoder, deadline = self.deployments, self.decoder, self.deadline_s
        versions = [(deployments.at(image.src, "encoder", image.t_start_s),
                     deployments.at(image.dst, "decoder", image.t_end_s)) for image in images]
        late = [deadline is not None and image.t_end_s - image.t_gen_s > deadline for image in images]
        scores = decoder.score(images, versions, late, deployments.states, self.branch)
        for image, pair, (lost, psnr, extra) in zip(images, versions, scores, strict=True):
            index = decoder.image_index(image.src, image.dst, image.n) if decoder.decodes else None
            self.tally.add(image, branch=self.branch, index=index, lost=lost, psnr_db=psnr, versions=pair,
                           extra=extra)

    def state(self) -> dict:
        state = {"deployments": self.deployments.state(), "pending": [image.as_tuple() for image in self.pending],
                 "at_aggregation": list(self.at_aggregation)}
        shown = self.decoder.state(self.branch)
        return state if shown is None else {**state, "decoder": shown}

    def load_state(self, state: dict) -> None:
        self.deployments.load_state(state["deployments"])
        self.pending = [ImageSent.of(values, self.sim.book) for values in state["pending"]]
        self.at_aggregation = list(state["at_aggregation"])
        if "decoder" in state:
            self.decoder.load_state(self.branch, state["decoder"])
