"""Alias of :mod:`semnet.channels.layer.channel`, kept until the trainer moves to it."""

from semnet.channels.layer.channel import (  # noqa: F401
    Channel,
    as_snr_db,
    from_complex,
    noise_variance,
    power_normalize,
    to_complex,
)
