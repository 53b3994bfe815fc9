"""The differentiable torch layer of the channel: ``y = h z + n`` on complex symbols.

- :mod:`~semnet.channels.layer.channel`: :class:`Channel` (one fading law, CSI or
  not), power normalisation and the real/complex views of a latent;
- :mod:`~semnet.channels.layer.link_channels`: :class:`LinkChannels`, each image
  link's channel, and the batched gain draws and equalisation.

Imports torch: load it explicitly (``semnet.channels`` alone does not).
"""
