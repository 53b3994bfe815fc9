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

Records (:class:`TrafficTally`, shared by every branch of a run):

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

    @property
    def decodes(self) -> bool:
        """Whether the run has models (the exchange-only protocol has none)."""
        return self._new_model is not None

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


# --------------------------------------------------------------------------- statistics


class _Stats:
    """Images of one (branch, phase, link) or one window of it."""

    __slots__ = ("images", "lost", "psnr_db", "latency_s", "sinr_db")

    def __init__(self):
        self.images = 0
        self.lost = 0
        self.psnr_db: list[float] = []  # delivered images that were decoded
        self.latency_s: list[float] = []  # every image, lost or not
        self.sinr_db: list[float] = []  # every image's SINR (links.interference.model sinr only)

    def add(self, latency_s: float, lost: bool, psnr_db: float | None, sinr_db: float | None = None) -> None:
        self.images += 1
        self.lost += lost
        self.latency_s.append(latency_s)
        if psnr_db is not None:
            self.psnr_db.append(psnr_db)
        if sinr_db is not None:
            self.sinr_db.append(sinr_db)

    def merge(self, other: "_Stats") -> None:
        self.images += other.images
        self.lost += other.lost
        self.psnr_db += other.psnr_db
        self.latency_s += other.latency_s
        self.sinr_db += other.sinr_db

    def as_dict(self) -> dict:
        psnr, latency = np.asarray(self.psnr_db), np.asarray(self.latency_s)
        out = {
            "images": self.images,
            "delivered": self.images - self.lost,
            "lost": self.lost,
            "psnr_db_mean": _round(psnr.mean(), 4) if psnr.size else None,
            "psnr_db_p5": _round(np.percentile(psnr, 5), 4) if psnr.size else None,
            "latency_s_mean": _round(latency.mean(), 7) if latency.size else None,
            "latency_s_p50": _round(np.percentile(latency, 50), 7) if latency.size else None,
            "latency_s_p99": _round(np.percentile(latency, 99), 7) if latency.size else None,
        }
        if self.sinr_db:  # runs without interference keep their records as they were
            sinr = np.asarray(self.sinr_db)
            out["sinr_db_mean"] = _round(sinr.mean(), 4)
            out["sinr_db_p5"] = _round(np.percentile(sinr, 5), 4)
        return out

    def state(self) -> tuple:
        base = (self.images, self.lost, list(self.psnr_db), list(self.latency_s))
        return base + (list(self.sinr_db),) if self.sinr_db else base

    @classmethod
    def of(cls, state: tuple) -> "_Stats":
        stats = cls()
        stats.images, stats.lost, stats.psnr_db, stats.latency_s = state[0], state[1], list(state[2]), list(state[3])
        stats.sinr_db = list(state[4]) if len(state) > 4 else []
        return stats


def _round(value, digits: int) -> float:
    return round(float(value), digits)


class TrafficTally:
    """Every branch's image statistics, windows and records (module docstring).

    ``write_metric`` appends a ``metrics.jsonl`` record; ``write_image`` an
    ``images.jsonl`` one (None: no per-image records).
    """

    def __init__(self, spec, symbols: int, write_metric: Callable[[dict], None],
                 write_image: Callable[[dict], None] | None):
        self.spec = spec
        self.symbols = symbols
        self.window_s = float(spec.window_s)
        self._write_metric = write_metric
        self._write_image = write_image
        self.rows: dict[tuple, _Stats] = {}  # (branch, phase, src, dst)
        self.windows: dict[tuple, _Stats] = {}  # (branch, phase, src, dst, window)
        self.recorders: list["TrafficRecorder"] = []  # live, not state: each branch's, as it is made

    def add(self, image: ImageSent, *, branch: str, index: int | None, lost: bool, psnr_db: float | None,
            versions: tuple) -> None:
        phase = image.label.get("phase", "")
        latency = image.t_end_s - image.t_gen_s
        key = (branch, phase, image.src, image.dst)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = _Stats()
        sinr_db = None if image.on_air is None else image.on_air.sinr_db()
        row.add(latency, lost, psnr_db, sinr_db)
        window = int(math.floor(image.t_gen_s / self.window_s))
        wkey = key + (window,)
        stats = self.windows.get(wkey)
        if stats is None:
            stats = self.windows[wkey] = _Stats()
        stats.add(latency, lost, psnr_db, sinr_db)
        if self._write_image is not None:
            record = {
                "branch": branch, "phase": phase, "round": image.label.get("round", 0), "src": image.src,
                "dst": image.dst, "n": image.n, "image": index, "t_gen_s": image.t_gen_s,
                "t_start_s": image.t_start_s, "t_end_s": image.t_end_s, "latency_s": latency,
                "snr_db": round(float(image.snr_db), 4), "lost": lost,
                "psnr_db": None if psnr_db is None else round(psnr_db, 4),
                "encoder": versions[0], "decoder": versions[1],
            }
            if image.h is not None:
                record["h"] = [round(image.h.real, 6), round(image.h.imag, 6)]
            if image.on_air is not None:  # large-scale SINR over its airtime (semnet.sim.interference)
                record["sinr_db"] = round(sinr_db, 4)
                record["interfered_by"] = image.on_air.interfered_by()
            self._write_image(record)

    def deployed(self, branch: str, records: list[dict]) -> None:
        for record in records:
            self._write_metric({"split": "deployment", "branch": branch, **record})

    def close_windows(self, branch: str, horizon_s: float) -> None:
        """Write the windows of ``branch`` that end by ``horizon_s`` (no image generated in
        them is still to come) and forget them."""
        done = [key for key in self.windows if key[0] == branch and (key[4] + 1) * self.window_s <= horizon_s]
        done.sort(key=lambda key: (key[4], key[2], key[3]))  # stable: phases in the order they came
        for key in done:
            stats = self.windows.pop(key)
            _, phase, src, dst, window = key
            self._write_metric({"split": "traffic", "branch": branch, "phase": phase, "src": src, "dst": dst,
                                "window": window, "t_start_s": round(window * self.window_s, 9),
                                "t_end_s": round((window + 1) * self.window_s, 9), **stats.as_dict()})

    def finish(self) -> None:
        """The run is over: every branch's images are settled and every window written."""
        for recorder in self.recorders:
            recorder.settle(final=True)

    def summary(self) -> dict:
        """The summary's ``traffic`` section."""
        spec = self.spec
        branches: dict = {}
        for (branch, phase, src, dst), stats in self.rows.items():
            entry = branches.setdefault(branch, {"total": _Stats(), "phases": {}})
            entry["total"].merge(stats)
            phase_entry = entry["phases"].setdefault(phase, {"total": _Stats(), "links": []})
            phase_entry["total"].merge(stats)
            phase_entry["links"].append({"src": src, "dst": dst, **stats.as_dict()})
        out = {}
        for branch, entry in branches.items():
            phases = {name: {**p["total"].as_dict(), "links": p["links"]} for name, p in entry["phases"].items()}
            out[branch] = {**entry["total"].as_dict(), "phases": phases}
        return {
            "images_per_s": spec.images_per_s, "arrivals": spec.arrivals, "queue": spec.queue,
            "deadline_s": spec.deadline_s, "window_s": spec.window_s, "channel_uses_per_image": self.symbols,
            "branches": out,
        }

    def state(self) -> dict:
        return {"rows": {k: v.state() for k, v in self.rows.items()},
                "windows": {k: v.state() for k, v in self.windows.items()}}

    def load_state(self, state: dict) -> None:
        self.rows = {k: _Stats.of(v) for k, v in state["rows"].items()}
        self.windows = {k: _Stats.of(v) for k, v in state["windows"].items()}


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
        versions, lost, todo = [], [], []
        for i, image in enumerate(images):
            pair = (deployments.at(image.src, "encoder", image.t_start_s),
                    deployments.at(image.dst, "decoder", image.t_end_s))
            late = deadline is not None and image.t_end_s - image.t_gen_s > deadline
            versions.append(pair)
            lost.append(late)
            if decoder.decodes and not late and None not in pair:
                todo.append(i)
        values = decoder.psnr([images[i] for i in todo], [versions[i] for i in todo], deployments.states,
                              self.branch)
        psnr = dict(zip(todo, values))
        for i, image in enumerate(images):
            index = decoder.image_index(image.src, image.dst, image.n) if decoder.decodes else None
            self.tally.add(image, branch=self.branch, index=index, lost=lost[i], psnr_db=psnr.get(i),
                           versions=versions[i])

    def state(self) -> dict:
        return {"deployments": self.deployments.state(), "pending": [image.as_tuple() for image in self.pending],
                "at_aggregation": list(self.at_aggregation)}

    def load_state(self, state: dict) -> None:
        self.deployments.load_state(state["deployments"])
        self.pending = [ImageSent.of(values, self.sim.book) for values in state["pending"]]
        self.at_aggregation = list(state["at_aggregation"])
