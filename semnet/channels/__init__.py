"""The channel, in one package with its three roles:

:mod:`semnet.channels.laws`
    Fading laws: a block's gain ``h`` (``none``/``awgn``, ``rayleigh``, ``rician``, a
    plugin's), one :class:`FadingModel` for the network layer (numpy: packets, outage,
    capacity) and the JSCC layer (torch: one ``h`` per image); registered in
    :data:`semnet.registry.channels`.
:mod:`semnet.channels.processes`
    Processes over time: Doppler, the Gauss–Markov and Jakes scatter processes, the
    time correlations of :data:`semnet.registry.time_correlations`, and each link's
    channel over simulated time (:class:`~semnet.channels.processes.timevarying.ChannelProcess`).
:mod:`semnet.channels.layer`
    The differentiable torch layer (:class:`~semnet.channels.layer.channel.Channel`,
    :class:`~semnet.channels.layer.link_channels.LinkChannels`): ``y = h z + n``.

Layers: laws import neither processes nor the torch layer; processes import laws;
the torch layer imports laws; nothing here imports the network, the simulator or the
models (``tests/architecture/test_layering.py``). Importing this package loads the
laws only (no torch): it is what the scenario loader checks ``links.fading`` through.
"""

from semnet.channels.laws import (
    BUILTIN_NAMES,
    FadingModel,
    NoFading,
    Rayleigh,
    Rician,
    complex_normal_numpy,
    complex_normal_torch,
    make_fading,
)

__all__ = [
    "BUILTIN_NAMES",
    "FadingModel",
    "NoFading",
    "Rayleigh",
    "Rician",
    "complex_normal_numpy",
    "complex_normal_torch",
    "make_fading",
]
