"""The fading-model interface and the one function that builds a model by name.

A fading model gives the block-fading gain ``h`` of one block (one image of semantic
traffic, one packet of a model message): ``y = h z + n`` with ``E|h|^2 = 1``, so a
link's average SNR is its ``snr`` and the instantaneous SNR is ``|h|^2 snr``.

The same object serves both layers:

- the network layer (numpy) samples ``h`` for model-message packets
  (:meth:`FadingModel.sample_numpy`) and asks for the outage probability
  (:meth:`FadingModel.power_gain_cdf`) and the ergodic capacity
  (:meth:`FadingModel.ergodic_capacity_bps_hz`);
- the JSCC channel (:class:`semnet.channels.layer.channel.Channel`, torch) samples one ``h``
  per image (:meth:`FadingModel.sample_torch`).

A user's model subclasses :class:`FadingModel`, implements the two samplers and
registers itself::

    from semnet.channels import FadingModel
    from semnet.registry import UnknownNameError, channels

    @channels.register("nakagami", "Nakagami-m fading")
    class Nakagami(FadingModel):
        def __init__(self, m: float = 2.0): ...
        def sample_numpy(self, size, rng): ...
        def sample_torch(self, batch, generator, device, dtype): ...

Its constructor's keyword arguments are the scenario's ``links.channel_options``
(``k_factor``, if it takes one, comes from ``links.k_factor``); see :func:`make_fading`.
Closed forms of the outage and the capacity are optional: without them the base class
estimates both by Monte Carlo from :meth:`FadingModel.sample_numpy` with a fixed seed.

Nothing here imports torch or scipy at import time (the scenario loader checks names
through the registry, which imports this package).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from semnet.errors import ScenarioError
from semnet.registry import PluginError, UnknownNameError, channels, signature_of

if TYPE_CHECKING:
    import torch

__all__ = ["FadingModel", "complex_normal_numpy", "complex_normal_torch", "make_fading"]

_LN2 = math.log(2.0)


def complex_normal_numpy(size, rng: np.random.Generator) -> np.ndarray:
    """Draw ``CN(0, 1)`` samples of shape ``size``: all real parts, then all imaginary parts."""
    return (rng.standard_normal(size) + 1j * rng.standard_normal(size)) / math.sqrt(2.0)


def complex_normal_torch(shape: tuple[int, ...], generator, device, dtype) -> "torch.Tensor":
    """Draw ``CN(0, 1)`` samples of ``shape`` (real dtype ``dtype``) onto ``device``.

    One ``torch.randn`` of shape ``(*shape, 2)`` (real and imaginary parts interleaved),
    drawn on the generator's device and then moved, so a CPU generator gives the same
    numbers whether the data lives on CPU or CUDA. ``generator=None`` uses PyTorch's
    default generator of ``device``.
    """
    import torch

    draw_device = generator.device if generator is not None else device
    pair = torch.randn((*shape, 2), generator=generator, device=draw_device, dtype=dtype)
    return torch.view_as_complex(pair.mul_(math.sqrt(0.5))).to(device)


class FadingModel:
    """A block-fading model: complex gains ``h`` with ``E|h|^2 = 1``.

    Subclasses must implement :meth:`sample_numpy` and :meth:`sample_torch`. They may
    override :meth:`power_gain_cdf` and :meth:`ergodic_capacity_bps_hz` with closed
    forms; the defaults are Monte-Carlo estimates (see there). Constructor arguments are
    the model's options and must be keyword arguments with defaults where possible;
    store each under its own name (``self.m = m``) so :meth:`options`, ``repr`` and
    ``==`` see it.

    Attributes
    ----------
    name : str
        Registered name (set on the instance by :func:`make_fading`).
    random : bool
        False for a model whose ``h`` is the constant ``1`` (AWGN): the network then
        neither draws nor needs a random generator for it. Default True.
    mc_samples, mc_seed : int
        Size and seed of the Monte-Carlo sample behind the default
        :meth:`power_gain_cdf` and :meth:`ergodic_capacity_bps_hz`.
    """

    name: str = ""
    random: ClassVar[bool] = True
    mc_samples: ClassVar[int] = 1 << 18
    mc_seed: ClassVar[int] = 0

    # ------------------------------------------------------------------ samplers

    def sample_numpy(self, size, rng: np.random.Generator | None) -> np.ndarray:
        """Draw complex gains ``h`` (network layer).

        Parameters
        ----------
        size : int or tuple of int
            Output shape.
        rng : numpy.random.Generator or None
            Source of randomness (None only for models with ``random = False``).

        Returns
        -------
        numpy.ndarray of complex128, shape ``size``, with ``E|h|^2 = 1``.
        """
        raise NotImplementedError(f"fading model {type(self).__qualname__} does not implement sample_numpy(size, rng)")

    def sample_torch(self, batch: int, generator, device, dtype) -> "torch.Tensor":
        """Draw one complex gain per image (JSCC layer).

        Parameters
        ----------
        batch : int
            Number of gains ``B``.
        generator : torch.Generator or None
            Source of randomness (None: PyTorch's default generator). It may live on
            another device than ``device``: draw there and move (see
            :func:`complex_normal_torch`).
        device : torch.device
            Device of the result.
        dtype : torch.dtype
            Real dtype (``float32``/``float64``); the result is the matching complex dtype.

        Returns
        -------
        torch.Tensor, complex, shape ``(B,)``, with ``E|h|^2 = 1``.
        """
        raise NotImplementedError(
            f"fading model {type(self).__qualname__} does not implement sample_torch(batch, generator, device, dtype)"
        )

    def from_gaussian(self, g: np.ndarray) -> np.ndarray:
        """Gains ``h`` built from unit complex-Gaussian scatter samples ``g ~ CN(0, 1)``.

        A time-correlated channel (:mod:`semnet.channels.processes.gauss_markov`,
        :mod:`semnet.channels.processes.jakes`) makes ``g(t)`` correlated in time with the
        Doppler spectrum and maps it through this law, so the same model gives the
        marginal law at every ``t`` and the time correlation of its scatter. Models
        without a scatter representation (a plugin's) do not override it and can only
        be used with independent blocks (``links.channel.time_correlation:
        independent``).
        """
        raise NotImplementedError(
            f"fading model {type(self).__qualname__} has no from_gaussian(g): it cannot be correlated in time"
        )

    def affine_gain(self) -> tuple[float, float] | None:
        """``(c0, c1)`` when :meth:`from_gaussian` is ``h = c0 + c1 g`` (the compiled
        packet loop of :mod:`semnet.net.arq_compiled` then applies it); None otherwise."""
        return None

    @property
    def time_correlatable(self) -> bool:
        """Whether :meth:`from_gaussian` is implemented (a time-correlated channel can use it)."""
        return type(self).from_gaussian is not FadingModel.from_gaussian

    def power_gain(self, size, rng: np.random.Generator | None) -> np.ndarray:
        """Power gains ``|h|^2`` (float64, shape ``size``) from :meth:`sample_numpy`'s draws."""
        h = self.sample_numpy(size, rng)
        return h.real**2 + h.imag**2

    # ------------------------------------------------------------------ statistics

    def power_gain_cdf(self, x: np.ndarray) -> np.ndarray:
        """``P(|h|^2 < x)`` element-wise, for ``x >= 0`` (``inf`` allowed).

        Default: the empirical CDF of ``mc_samples`` power gains drawn by
        :meth:`sample_numpy` from ``numpy.random.default_rng(mc_seed)`` (drawn once and
        kept), so repeated calls agree exactly; its error is about
        ``sqrt(p (1 - p) / mc_samples)`` (``<= 0.001`` for the default size).
        Override with a closed form where one exists.
        """
        gains = self._mc_power_gains()
        return np.searchsorted(gains, np.asarray(x, dtype=float), side="left") / gains.size

    def ergodic_capacity_bps_hz(self, snr: np.ndarray) -> np.ndarray:
        """``E[log2(1 + |h|^2 snr)]`` element-wise over linear average SNRs ``snr``.

        Default: the mean over the same fixed Monte-Carlo sample as
        :meth:`power_gain_cdf`. Override with a closed form where one exists.
        """
        gains = self._mc_power_gains()
        snr = np.asarray(snr, dtype=float)
        values = [float(np.mean(np.log1p(gains * s))) / _LN2 for s in snr.ravel()]
        return np.array(values, dtype=float).reshape(snr.shape)

    def _mc_power_gains(self) -> np.ndarray:
        cached = self.__dict__.get("_mc_gains")
        if cached is None:
            gains = np.asarray(self.power_gain(self.mc_samples, np.random.default_rng(self.mc_seed)), dtype=float)
            cached = np.sort(gains.ravel())
            self.__dict__["_mc_gains"] = cached
        return cached

    # ------------------------------------------------------------------ identity

    def options(self) -> dict[str, Any]:
        """The constructor options this instance holds (``{"k_factor": 3.0}``)."""
        accepted, _, _ = _signature(type(self))
        return {key: getattr(self, key) for key in accepted if hasattr(self, key)}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({options})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FadingModel):
            return NotImplemented
        return type(self) is type(other) and self.options() == other.options()

    def __hash__(self) -> int:
        try:
            return hash((type(self), tuple(sorted(self.options().items()))))
        except TypeError:  # an unhashable option value
            return hash(type(self))


# --------------------------------------------------------------------------- construction

_SIGNATURES: dict[type, tuple[tuple[str, ...], tuple[str, ...], bool]] = {}


def _signature(cls: type) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """(keyword parameters, required ones, accepts **kwargs) of ``cls.__init__``, cached."""
    found = _SIGNATURES.get(cls)
    if found is None:
        signature = signature_of(cls)
        found = _SIGNATURES[cls] = (signature.accepted, signature.required, signature.var_keyword)
    return found


def _lookup(name: str, from_spec: bool, section: str = "links") -> tuple[str, type]:
    where = f"{section}.fading = {name!r}: " if from_spec else ""
    try:
        canonical = channels.canonical(name)  # the registry also checks it is a FadingModel subclass
    except UnknownNameError as err:  # one line listing the registered names
        message = f"{where}unknown channel; {channels.allowed()}" if from_spec else str(err)
        raise ScenarioError(message) from None
    except PluginError as err:
        raise ScenarioError(f"{where}{err}") from None
    return canonical, channels.get(canonical)


def make_fading(spec, /, *, section: str = "links", **options: Any) -> FadingModel:
    """Build a fading model: the one constructor that the network builder and the run
    set-up both call (``make_fading(scenario.links)``), and that the scenario loader may
    call to check ``links.fading`` and ``links.channel_options`` early.

    Parameters
    ----------
    spec : LinksSpec or str
        A scenario's ``links`` section (its ``fading`` names the model, its
        ``channel_options`` are the constructor options, and ``k_factor`` is passed to
        a model whose constructor takes ``k_factor``, as ``rician`` does), or a
        registered name (``"none"``/``"awgn"``, ``"rayleigh"``, ``"rician"``, a plugin's).
    section : str
        With a spec: the key path its errors name (``links``, or
        ``links.overrides[k]`` for one link's own channel).
    **options
        With a name: the constructor options (``make_fading("rician", k_factor=3.0)``).
        With a spec: not allowed (they come from the spec).

    Returns
    -------
    FadingModel
        A new instance, its ``name`` the canonical registered name.

    Raises
    ------
    ScenarioError
        One line: an unknown name (listing the registered ones), an option the
        constructor does not take (naming ``links.channel_options.<key>`` and the
        accepted keys), a missing required option, or options the constructor rejects.
    """
    from_spec = not isinstance(spec, str)
    if from_spec:
        if options:
            raise TypeError("make_fading(links_spec) takes its options from the spec, not as keyword arguments")
        name = spec.fading
        options = dict(getattr(spec, "channel_options", None) or {})
    else:
        name = spec
    key_prefix = f"{section}.channel_options." if from_spec else "option "
    k_note = ""
    canonical, cls = _lookup(name, from_spec, section)
    accepted, required, var_kw = _signature(cls)
    if from_spec and "k_factor" in accepted:
        if "k_factor" in options:
            raise ScenarioError(f"{section}.channel_options.k_factor: set links.k_factor instead (channel {canonical!r})")
        options["k_factor"] = float(spec.k_factor)
        k_note = "; k_factor is links.k_factor"
    listed = [k for k in accepted if not (from_spec and k == "k_factor")]
    for key in options:
        if not isinstance(key, str) or (key not in accepted and not var_kw):
            raise ScenarioError(
                f"{key_prefix}{key}: not an option of channel {canonical!r}; "
                f"allowed: {', '.join(listed) or '(none)'}{k_note}"
            )
    missing = [k for k in required if k not in options]
    if missing:
        raise ScenarioError(f"{key_prefix}{missing[0]}: channel {canonical!r} needs option(s) {', '.join(missing)}")
    try:
        model = cls(**options)
    except ScenarioError:
        raise
    except Exception as err:  # a plugin's constructor refusing its options: say so in one line
        shown = f"{section}.channel_options" if from_spec else "options"
        raise ScenarioError(f"{shown}: channel {canonical!r} rejected {options!r}: {type(err).__name__}: {err}") from None
    model.name = canonical
    return model
