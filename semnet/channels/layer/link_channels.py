"""Which JSCC channel each image link uses, and a batch whose images use several.

A run has one :class:`~semnet.channels.layer.channel.Channel` (fading model, CSI) per channel
kind: the default (``links.fading``, ``links.csi``) and one per other kind that
``links.overrides`` give single links. :class:`LinkChannels` answers "which channel
does link ``(i, j)`` use" for every consumer that sends symbols: the trainers (each
loss task names the links its SNRs come from), the evaluator, the oracle, the live
images' decoder. A link it does not list uses the default channel, so a run without
per-link kinds has one channel and behaves as one global channel always did.

:class:`RoutedChannel` sends each image of one batch through its own link's channel
(a FedAvg client trains at its out-links' SNRs, one drawn per image): per channel in
turn, the gains of its images are drawn, then the noise of the whole batch, from the
one generator, so the draws depend only on the batch and the generator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from semnet.channels.laws import complex_normal_torch
from semnet.errors import ModelError
from semnet.channels.layer.channel import Channel, as_snr_db, noise_variance

__all__ = ["LinkChannels", "RoutedChannel", "as_link_channels", "draw_gains", "equalise"]


class LinkChannels:
    """The channel of every image link: ``default`` unless ``exceptions`` (keyed
    ``(src, dst)``) gives the link another.

    Parameters
    ----------
    default : Channel
        The channel of every link not in ``exceptions`` (and of the aggregator's links).
    exceptions : mapping, optional
        ``(src, dst) -> Channel``; links sharing a kind should share one object (the
        trainers send the images of one object together).

    Examples
    --------
    >>> awgn, faded = Channel("none"), Channel("rayleigh", csi=False)
    >>> chans = LinkChannels(awgn, {(0, 1): faded})
    >>> chans.of(0, 1).kind, chans.of(1, 0).kind
    ('rayleigh', 'none')
    """

    def __init__(self, default: Channel, exceptions: Mapping[tuple, Channel] | None = None):
        self.default = default
        self.exceptions = dict(exceptions or {})

    @classmethod
    def from_kinds(cls, default: Channel, kinds: Mapping[tuple, object]) -> "LinkChannels":
        """``default`` and one channel per distinct kind of ``kinds`` (``(src, dst) ->`` an
        object with ``model``, a :class:`~semnet.channels.FadingModel`, and ``csi``, as
        :class:`semnet.net.link_kinds.ChannelKind`); links of one kind share it."""
        made: dict[tuple[int, bool], Channel] = {}
        exceptions = {}
        for link, kind in sorted(kinds.items()):
            key = (id(kind.model), bool(kind.csi))
            if key not in made:
                made[key] = Channel(kind.model, csi=bool(kind.csi))
            exceptions[link] = made[key]
        return cls(default, exceptions)

    @property
    def uniform(self) -> bool:
        """Whether every link uses the default channel."""
        return not self.exceptions

    def of(self, src, dst) -> Channel:
        """The channel of link ``src -> dst``."""
        return self.exceptions.get((src, dst), self.default)

    def __getitem__(self, link: tuple) -> Channel:
        return self.of(*link)

    def distinct(self) -> list[Channel]:
        """Every channel object, the default first."""
        out = [self.default]
        for channel in self.exceptions.values():
            if all(channel is not c for c in out):
                out.append(channel)
        return out

    def route(self, links: Sequence[tuple] | None) -> tuple[list[Channel], list[int] | None]:
        """The channels of ``links`` (one per entry, in order of first use) and each entry's
        index among them; None instead of the indices when one channel serves them all
        (``links`` None or empty: the default)."""
        if not links:
            return [self.default], None
        channels: list[Channel] = []
        index: list[int] = []
        for link in links:
            channel = self.of(*link)
            for c, known in enumerate(channels):
                if known is channel:
                    index.append(c)
                    break
            else:
                channels.append(channel)
                index.append(len(channels) - 1)
        return channels, (index if len(channels) > 1 else None)

    def __repr__(self) -> str:
        return f"LinkChannels(default={self.default!r}, exceptions={self.exceptions!r})"


def as_link_channels(channel: "Channel | LinkChannels") -> LinkChannels:
    """``channel`` as a :class:`LinkChannels` (a single channel serves every link)."""
    return channel if isinstance(channel, LinkChannels) else LinkChannels(channel)


def draw_gains(channels: Sequence[Channel], which: Tensor | None, batch: int, generator: torch.Generator | None,
               device: torch.device, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor | None]:
    """Block-fading gains of a batch whose image ``b`` uses ``channels[which[b]]``.

    Returns
    -------
    h : Tensor, complex, shape ``(B,)``
        Each channel in turn draws the gains of its own images (a channel with none draws
        nothing); with ``which`` None, ``channels[0]`` draws all ``B``, as :class:`Channel` does.
    csi : Tensor of bool, shape ``(B,)``, or None
        Whether image ``b``'s receiver equalises; None with ``which`` None.
    """
    if which is None:
        return channels[0].fading.sample_torch(batch, generator, device, dtype), None
    complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    h = torch.ones(batch, dtype=complex_dtype, device=device)
    for c, channel in enumerate(channels):
        rows = (which == c).nonzero().squeeze(1)
        if rows.numel():
            h[rows] = channel.fading.sample_torch(int(rows.numel()), generator, device, dtype).to(complex_dtype)
    csi = torch.tensor([bool(ch.csi) for ch in channels], device=device)[which]
    return h, csi


def equalise(y: Tensor, h: Tensor, sigma2: Tensor, csi: "bool | Tensor") -> Tensor:
    """The receiver's output: the LMMSE estimate ``conj(h) y / (|h|^2 + sigma^2)`` where it
    knows ``h`` (``csi``: one bool, or one per image), ``y`` as received elsewhere.
    ``y`` is ``(B, k)``, ``h`` and ``sigma2`` ``(B, 1)``."""
    if csi is False:
        return y
    equalised = y * (h.conj() / (h.real.square() + h.imag.square() + sigma2))
    if csi is True:
        return equalised
    return torch.where(csi.reshape(-1, 1), equalised, y)


class RoutedChannel(nn.Module):
    """One batch, each image through its own link's channel: image ``b`` through
    ``channels[which[b]]`` (``y = h z + n``, equalised where that channel has CSI).

    Called like :class:`Channel`; draws the gains (:func:`draw_gains`), then the noise.
    """

    def __init__(self, channels: Sequence[Channel], which: Tensor):
        super().__init__()
        self.routes = list(channels)  # not a ModuleList: the channels hold no parameters and stay shared
        self.which = which

    def forward(self, z: Tensor, snr_db: Tensor | float, generator: torch.Generator | None = None,
                gain: Tensor | None = None, noise: Tensor | None = None) -> Tensor:
        if not z.is_complex() or z.dim() != 2:
            raise ValueError(f"RoutedChannel expects complex (B, k) symbols, got {z.dtype} {tuple(z.shape)}")
        batch, k = z.shape
        if self.which.shape != (batch,):
            raise ModelError(f"{tuple(self.which.shape)} routes for a batch of {batch} images")
        real_dtype = z.real.dtype
        sigma2 = noise_variance(as_snr_db(snr_db, batch, z.device, real_dtype)).unsqueeze(1)
        which = self.which.to(z.device)
        if gain is None:
            h, _ = draw_gains(self.routes, which, batch, generator, z.device, real_dtype)
        else:
            h = torch.as_tensor(gain, device=z.device).reshape(-1)
        h = h.to(z.dtype).reshape(-1, 1)
        if noise is None:
            noise = complex_normal_torch((batch, k), generator, z.device, real_dtype)
        y = h * z + noise.to(z.device, z.dtype) * sigma2.sqrt()
        csi = torch.tensor([bool(ch.csi) for ch in self.routes], device=z.device)[which]
        return equalise(y, h, sigma2, csi)
