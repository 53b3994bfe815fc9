"""A medium's state between rounds, as bytes a resume checkpoint can hold: pickled with
its links' queues by reference, and read back building only the classes a medium is made
of (the media and schedulers registered, their bands and radios, transmissions on the
air, the engine's round records), never a function."""

from __future__ import annotations

import io
import pickle

from semnet.safe_load import RestrictedUnpickler, UnsafeData
from semnet.sim.link import LinkQueue


class _MediumPickler(pickle.Pickler):
    """Pickles a medium with its links' queues by reference: a transmission still on the
    air must use the simulator's own queue (its random stream and fading) once restored."""

    def persistent_id(self, obj):
        if isinstance(obj, LinkQueue):
            return ("link", obj.params.src, obj.params.dst)
        return None


# what a medium's state between rounds may hold (any other name in it is refused, never
# imported): the media, their bands and radios, transmissions still on the air and the
# stages of tasks that wait for them
MEDIUM_CLASSES = frozenset({
    ("builtins", "complex"), ("builtins", "set"), ("builtins", "frozenset"),
    ("collections", "deque"), ("collections", "OrderedDict"),
    ("semnet.net.rate", "TransmissionOutcome"),
    ("semnet.sim.band", "BandJob"), ("semnet.sim.band", "SharedBand"), ("semnet.sim.band", "_Wake"),
    ("semnet.sim.cell", "CellMedium"), ("semnet.sim.cell", "_CloseGroups"),
    ("semnet.sim.csma", "CarrierSense"), ("semnet.net.link_params", "CsmaSettings"),
    ("semnet.net.network", "CsmaSettings"),  # states written before the move
    ("semnet.sim.engine", "_Round"), ("semnet.sim.engine", "_Stage"),  # states written before the move
    ("semnet.sim.rounds", "_Round"), ("semnet.sim.rounds", "_Stage"),
    ("semnet.sim.medium", "DedicatedMedium"), ("semnet.sim.medium", "Transmission"),
    ("semnet.sim.message", "Message"), ("semnet.sim.message", "Task"), ("semnet.sim.message", "TaskOutcome"),
    ("semnet.sim.radio", "NodeRadioMedium"), ("semnet.sim.radio", "NodeRadios"),
})


def medium_classes() -> frozenset[tuple[str, str]]:
    """:data:`MEDIUM_CLASSES` and every registered medium and cell scheduler (built-in or
    a plugin's: code the run already imported to build its medium), by module and name."""
    from semnet.registry import media, schedulers

    registered = {media.get(name) for name in media.names()} | {schedulers.get(name) for name in schedulers.names()}
    return MEDIUM_CLASSES | {(cls.__module__, cls.__qualname__) for cls in registered}


def _link_of(queues: dict | None):
    """A persistent id's link queue (``queues`` None: a placeholder, for a check only)."""

    def find(pid):
        if not (isinstance(pid, tuple) and len(pid) == 3 and pid[0] == "link"):
            raise UnsafeData(f"the data refers to {pid!r}, which is no link")
        if queues is None:
            return None
        queue = queues.get((pid[1], pid[2]))
        if queue is None:
            raise UnsafeData(f"the data refers to link {pid[1]} -> {pid[2]}, which the network does not have")
        return queue

    return find


def pickle_medium(medium) -> bytes:
    buffer = io.BytesIO()
    _MediumPickler(buffer).dump(medium)
    return buffer.getvalue()


def unpickle_medium(data: bytes, queues: dict | None):
    """The medium in ``data`` (from :func:`pickle_medium`), its links' queues taken from
    ``queues``; builds only :func:`medium_classes` (:class:`UnsafeData` otherwise)."""
    if not isinstance(data, bytes):
        raise UnsafeData(f"a medium's state must be bytes, got {type(data).__name__}")
    return RestrictedUnpickler(data, medium_classes(), _link_of(queues)).load()


def check_medium_state(data: bytes) -> None:
    """Raise :class:`UnsafeData` (or another unpickling error) unless ``data`` is a
    medium's state that :func:`unpickle_medium` would read; builds nothing else."""
    unpickle_medium(data, None)
