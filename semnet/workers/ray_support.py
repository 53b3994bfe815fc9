"""Ray, where it is installed: one line saying how to install it where it is not."""

from __future__ import annotations

from semnet.errors import SemnetError


def import_ray():
    """The ``ray`` module, or a one-line :class:`~semnet.errors.SemnetError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise SemnetError("the ray backend needs Ray: pip install 'semnet[ray]'") from None
    return ray
