"""What travels to a worker and back: CPU tensors pickled as numpy arrays (several
times faster than torch's default for a model's many small tensors), the jobs of a
chain without their modules, and the worker's side of one round (rebuild, train,
send back the trained tensors, stream and generator states, results)."""

from __future__ import annotations

import dataclasses
import io
import logging
import pickle

import torch
from torch import nn

from semnet.data import BatchStream
from semnet.fl.execution.trainer import Trainer, TrainJob

log = logging.getLogger(__name__)


def _rebuild_tensor(array, requires_grad: bool, parameter: bool) -> torch.Tensor:
    tensor = torch.from_numpy(array)
    if parameter:
        return nn.Parameter(tensor, requires_grad=requires_grad)
    return tensor.requires_grad_(requires_grad) if requires_grad else tensor


def _reduce_tensor(tensor: torch.Tensor):
    if (tensor.device.type != "cpu" or tensor.is_sparse or tensor.dtype in (torch.bfloat16, torch.float16)
            or tensor.is_quantized or tensor.is_complex()):
        return tensor.__reduce_ex__(pickle.HIGHEST_PROTOCOL)  # torch's own (slower) path
    array = tensor.detach().numpy()
    return _rebuild_tensor, (array, tensor.requires_grad, isinstance(tensor, nn.Parameter))


class _FastPickler(pickle.Pickler):
    """Pickles CPU tensors as numpy arrays: several times faster than torch's default
    (one ``torch.save`` per storage) for the many small tensors of a model. Views
    of one storage travel as separate copies (modules' tensors are not views)."""

    dispatch_table = {torch.Tensor: _reduce_tensor, nn.Parameter: _reduce_tensor}


def dumps(obj) -> bytes:
    """``pickle.dumps`` with CPU tensors as numpy arrays (see ``_FastPickler``)."""
    buffer = io.BytesIO()
    _FastPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()



@dataclasses.dataclass
class ChainJob:
    index: int  # position in the round's job list
    desc: TrainJob  # the job without its objects
    encoder: int  # module slot
    decoders: list[int]
    stream: int
    generator: int | None


@dataclasses.dataclass
class Payload:
    """One worker's share of a round."""

    trainer: tuple  # (link channels, loss, precision, task loss term or None)
    blobs: dict[bytes, bytes]  # content hash -> pickled module
    modules: dict[int, bytes]  # slot -> content hash
    returned: list[int]  # slots whose tensors come back (trained, or with buffers)
    images: dict[int, torch.Tensor]  # token -> uint8 images this worker does not hold yet
    streams: dict[int, tuple[int, dict]]  # stream slot -> (images token, state)
    generators: dict[int, torch.Tensor]  # generator slot -> state
    chains: list[list[ChainJob]]


def without_modules(job: TrainJob) -> TrainJob:
    tasks = [dataclasses.replace(t, decoder=None) for t in job.tasks]
    return dataclasses.replace(job, encoder=None, tasks=tasks, data=None, generator=None)


def run_payload(payload: Payload, images: dict[int, torch.Tensor], blobs: dict[bytes, bytes] | None = None) -> dict:
    """Run a payload's chains (in a worker process or Ray actor); ``images`` is the
    worker's cache of stream images, updated here."""
    images.update(payload.images)
    blobs = payload.blobs if blobs is None else blobs
    channels, loss, precision, task_term = payload.trainer  # every link's channel: a task's images meet their links'
    trainer = Trainer(channels, torch.device("cpu"), loss=loss, precision=precision, task_term=task_term)
    modules = {slot: pickle.loads(blobs[key]) for slot, key in payload.modules.items()}
    streams = {slot: BatchStream.from_state(images[token], state) for slot, (token, state) in payload.streams.items()}
    generators = {}
    for slot, state in payload.generators.items():
        generators[slot] = torch.Generator().manual_seed(0)
        generators[slot].set_state(state)
    results = {}
    for chain in payload.chains:
        for item in chain:
            tasks = [dataclasses.replace(t, decoder=modules[d]) for t, d in zip(item.desc.tasks, item.decoders)]
            job = dataclasses.replace(item.desc, encoder=modules[item.encoder], tasks=tasks,
                                      data=streams[item.stream],
                                      generator=generators[item.generator] if item.generator is not None else None)
            results[item.index] = trainer.run([job])[0]
    return {
        "results": results,
        "modules": {slot: modules[slot].state_dict() for slot in payload.returned},
        "streams": {slot: s.state() for slot, s in streams.items()},
        "generators": {slot: g.get_state() for slot, g in generators.items()},
    }
