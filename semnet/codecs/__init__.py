"""Model-message codecs: how model states and updates are put on the wire.

Importing this package registers the built-in codecs in :data:`semnet.registry.codecs`
(``semnet list codecs``): ``float32`` (lossless, the default), ``float16``,
``bfloat16``, ``int8``, ``int8_channel``, ``topk10``, ``topk1`` (updates only, error
feedback) and ``qsgd8``, ``qsgd4`` (unbiased stochastic quantisation). A scenario picks
them with ``method.codec``; :class:`MessageCodecs` applies them to a run's messages.
"""

from semnet.codecs import floats, int8, qsgd, topk  # noqa: F401  (imported to register the codecs)
from semnet.codecs.base import BitReader, BitWriter, Codec
from semnet.codecs.book import KINDS, MessageCodecs, codec_names, is_default, label

__all__ = ["KINDS", "BitReader", "BitWriter", "Codec", "MessageCodecs", "codec_names", "is_default", "label"]
