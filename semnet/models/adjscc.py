"""SNR-adaptive deep JSCC with attention-feature modules (ADJSCC), registered as ``"adjscc"``.

After Xu et al. (2021): the Deep JSCC conv/PReLU backbone (see
:mod:`semnet.models.deep_jscc`; GDN is left out) with an attention-feature (AF)
module after every hidden layer of the encoder and the decoder. An AF module
pools the feature map globally, appends the SNR, and passes the context
through a two-layer MLP whose sigmoid outputs gate the feature channels:

``F' = F * sigmoid(W2 relu(W1 [mean_hw F, snr_db / 20]))``

The SNR enters in dB, divided by 20 to keep the input near unit scale. Both
encoder and decoder use ``snr_db`` (``snr_aware = True``), so one model can
serve links of different SNRs.

Conventions: latent ``(B, c, H/4, W/4)`` paired into ``k = c * H/4 * W/4 / 2``
complex symbols of unit mean power per image; bandwidth ratio ``k / n = c / 96``;
SNR ``P / sigma^2`` with ``P = 1`` and noise ``CN(0, 10^(-snr_db/10))``.

References
----------
.. [1] J. Xu, B. Ai, W. Chen, A. Yang, P. Sun and M. Rodrigues, "Wireless
   Image Transmission Using Deep Source Channel Coding With Attention
   Modules", IEEE Trans. Circuits and Systems for Video Technology, 32(4), 2022
   (arXiv:2012.00533, 2021).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from semnet.models.base import JSCCModel, check_size_args, scaled_filters
from semnet.registry import models

__all__ = ["ADJSCC", "ADJSCCDecoder", "ADJSCCEncoder", "AttentionFeature"]

_BASE_FILTERS = (16, 32, 32, 32)
_STRIDES = (2, 2, 1, 1, 1)
_SNR_SCALE_DB = 20.0
# Initial gate sigmoid(2) ~ 0.88. With the default bias the gates start near 0.5,
# which halves the features after every AF module: the decoder's four scale its last
# hidden layer by about 1/16 (the encoder's are undone by power normalisation), and
# an 8-epoch CIFAR-10 run learnt far slower than the backbone without AF modules
# (results/benchmarks/snr_aware_adjscc_gate0.5).
_GATE_BIAS_INIT = 2.0


class AttentionFeature(nn.Module):
    """SNR-conditioned channel attention (AF module).

    Parameters
    ----------
    channels : int
        Feature channels ``C`` of the gated map.
    hidden : int, optional
        MLP hidden size; default ``max(8, C // 2)``.
    """

    def __init__(self, channels: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or max(8, channels // 2)
        self.mlp = nn.Sequential(nn.Linear(channels + 1, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.Sigmoid())
        self.reset_gates()

    @torch.no_grad()
    def reset_gates(self) -> None:
        """Start every gate near sigmoid(_GATE_BIAS_INIT), whatever the weights."""
        nn.init.constant_(self.mlp[2].bias, _GATE_BIAS_INIT)

    def forward(self, features: Tensor, snr_db: Tensor) -> Tensor:
        """Gate ``features`` ``(B, C, H, W)`` by SNR ``snr_db`` ``(B,)`` in dB; returns ``(B, C, H, W)``."""
        context = features.mean(dim=(2, 3))
        snr = (snr_db.to(features.dtype) / _SNR_SCALE_DB).unsqueeze(1)
        gates = self.mlp(torch.cat((context, snr), dim=1))
        return features * gates[:, :, None, None]


class ADJSCCEncoder(nn.Module):
    """Images ``(B, 3, H, W)`` in [0, 1] and ``snr_db`` ``(B,)`` -> real latent ``(B, c, H/4, W/4)``.

    Parameters
    ----------
    latent_channels : int
        ``c``.
    filters : tuple of 4 int
        Filter counts of the four hidden layers (each followed by an AF module).
    """

    snr_aware = True

    def __init__(self, latent_channels: int, filters: tuple[int, ...]) -> None:
        super().__init__()
        sizes = (3, *filters, latent_channels)
        self.convs = nn.ModuleList()
        self.acts = nn.ModuleList()
        for cin, cout, stride in zip(sizes[:-1], sizes[1:], _STRIDES):
            self.convs.append(nn.Conv2d(cin, cout, 5, stride=stride, padding=2))
            self.acts.append(nn.PReLU(cout))
        self.attention = nn.ModuleList(AttentionFeature(c) for c in filters)

    def forward(self, x: Tensor, snr_db: Tensor) -> Tensor:
        """Encode images ``x`` at per-image SNR ``snr_db`` (dB)."""
        h = x
        for i, (conv, act) in enumerate(zip(self.convs, self.acts)):
            h = act(conv(h))
            if i < len(self.attention):
                h = self.attention[i](h, snr_db)
        return h


class ADJSCCDecoder(nn.Module):
    """Real latent ``(B, c, H/4, W/4)`` and ``snr_db`` ``(B,)`` -> images ``(B, 3, H, W)`` in [0, 1].

    Parameters
    ----------
    latent_channels : int
        ``c``.
    filters : tuple of 4 int
        Filter counts of the encoder's hidden layers (mirrored here).
    """

    def __init__(self, latent_channels: int, filters: tuple[int, ...]) -> None:
        super().__init__()
        sizes = (latent_channels, *reversed(filters), 3)
        strides = tuple(reversed(_STRIDES))
        self.convs = nn.ModuleList(
            nn.ConvTranspose2d(cin, cout, 5, stride=s, padding=2, output_padding=s - 1)
            for cin, cout, s in zip(sizes[:-1], sizes[1:], strides)
        )
        hidden = sizes[1:-1]
        self.acts = nn.ModuleList(nn.PReLU(c) for c in hidden)
        self.attention = nn.ModuleList(AttentionFeature(c) for c in hidden)

    def forward(self, latent: Tensor, snr_db: Tensor) -> Tensor:
        """Decode ``latent`` received at per-image SNR ``snr_db`` (dB)."""
        h = latent
        for conv, act, af in zip(self.convs[:-1], self.acts, self.attention):
            h = af(act(conv(h)), snr_db)
        return self.convs[-1](h).sigmoid()


@models.register("adjscc", "ADJSCC (Xu et al. 2021): Deep JSCC backbone with SNR-conditioned attention-feature modules")
class ADJSCC(JSCCModel):
    """SNR-adaptive deep JSCC with attention-feature modules (Xu et al., 2021).

    Parameters
    ----------
    latent_channels : int, default 16
        ``c``; bandwidth ratio ``c / 96`` (16 -> 1/6, 8 -> 1/12).
    width : float, default 1.0
        Multiplier on the hidden filter counts (16, 32, 32, 32). At 1.0 the
        backbone equals ``deep_jscc``'s, so the two differ only by the AF
        modules; use e.g. 2.0 for a wider variant.

    Examples
    --------
    >>> import torch
    >>> from semnet.models import Channel, create_model
    >>> model = create_model("adjscc")
    >>> x_hat = model(torch.rand(2, 3, 32, 32), torch.tensor([0.0, 20.0]), Channel("rayleigh"))["x_hat"]
    >>> x_hat.shape
    torch.Size([2, 3, 32, 32])
    """

    snr_aware = True
    downsample = 4

    def __init__(self, latent_channels: int = 16, width: float = 1.0) -> None:
        super().__init__()
        self.latent_channels, self.width = check_size_args("adjscc", latent_channels, width)
        filters = tuple(scaled_filters(f, self.width) for f in _BASE_FILTERS)
        self.encoder = ADJSCCEncoder(self.latent_channels, filters)
        self.decoder = ADJSCCDecoder(self.latent_channels, filters)

    @torch.no_grad()
    def init_weights(self, generator: torch.Generator) -> "ADJSCC":
        """Seeded re-draw of every weight (see the base class), then the AF gates'
        starting bias again: a seeded run must start from the same gates as an
        unseeded one."""
        super().init_weights(generator)
        for module in self.modules():
            if isinstance(module, AttentionFeature):
                module.reset_gates()
        return self
