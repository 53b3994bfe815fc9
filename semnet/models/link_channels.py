"""Alias of :mod:`semnet.channels.layer.link_channels`, kept until the trainer moves to it."""

from semnet.channels.layer.link_channels import (  # noqa: F401
    LinkChannels,
    RoutedChannel,
    as_link_channels,
    draw_gains,
    equalise,
)
