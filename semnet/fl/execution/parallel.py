"""A round's training jobs on several processes (``simulation.workers``) or Ray actors
(``simulation.backend: ray``), with the same numbers as one process.

The simulator settles a round before anything trains, so a round's ``TrainJob``s are
known at once. Jobs that touch the same mutable state — a module one of them trains
(or any module with buffers), a batch stream, a random generator, an optimiser
object — form a *chain* that must run in order; different chains share nothing that
changes and may run anywhere. :func:`job_chains` finds the chains, and each runs,
whole and in job order, on one worker with one torch thread:

* the parent ships every distinct module once per round and worker (pickled; copies
  with equal contents, like FedAvg's per-client copies of the global model, travel
  as one blob), the jobs without their modules (``TrainJob`` with ``encoder``,
  decoders, ``data`` and ``generator`` left out), the batch streams' positions
  (:meth:`~semnet.data.BatchStream.state`; a stream's images travel once per run and
  worker, then stay cached), the generators' states and the run's
  :class:`~semnet.models.link_channels.LinkChannels` (a task's links name its channels);
* the worker rebuilds the objects (keeping which job shares which object), runs the
  chain with the ordinary :class:`~semnet.fl.execution.trainer.Trainer`, and sends back the
  trained modules' tensors, the streams' and generators' new states and the
  ``JobResult``s, which the parent writes into its own objects.

A job's numbers therefore depend only on the job, never on the worker or on how many
there are. Jobs that cannot move run in the parent process, in the same round: those
with a persistent optimiser or schedule (``optimizer_obj``/``scheduler_obj``, i.e.
centralised training, which is one long chain anyway), those whose ``data`` is not a
:class:`~semnet.data.BatchStream` or lives on a GPU, and those whose modules share
parameters with another module object. ``device: cuda`` always trains in-process.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import io
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Sequence

import torch
from torch import nn

from semnet.data import BatchStream
from semnet.fl.execution.trainer import JobResult, Trainer, TrainJob

log = logging.getLogger(__name__)

__all__ = ["ParallelTrainer", "available_cores", "free_cores", "job_chains", "resolve_workers", "shutdown_pools"]

CPU_BUDGET_ENV = "SEMNET_CPUS"  # a sweep worker's core budget: auto workers never exceed it


# --------------------------------------------------------------------------- how many workers


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _busy_now(cpus: list[int], interval_s: float) -> float | None:
    """Cores of ``cpus`` busy over the next ``interval_s`` (from /proc/stat), or None."""
    def sample():
        out = {}
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu") and line[3:4].isdigit():
                    name, *values = line.split()
                    values = [int(v) for v in values]
                    idle = values[3] + (values[4] if len(values) > 4 else 0)
                    out[int(name[3:])] = (sum(values), idle)
        return out

    try:
        first = sample()
        time.sleep(interval_s)
        second = sample()
    except (OSError, ValueError):
        return None
    busy = 0.0
    for cpu in cpus:
        if cpu not in first or cpu not in second:
            return None
        total = second[cpu][0] - first[cpu][0]
        idle = second[cpu][1] - first[cpu][1]
        busy += 1.0 - idle / total if total > 0 else 0.0
    return busy


def free_cores(sample_s: float = 0.2) -> int:
    """Cores not kept busy by other processes: this process's cores minus the larger of
    the 1-minute load average and the cores busy over the next ``sample_s`` seconds
    (rounded), at least 1.

    On a busy laptop this is what keeps an untuned run fast: torch threads that
    outnumber the free cores spin against each other (a 2-core machine with one other
    busy process ran the quickstart 6x slower with torch's default 2 threads than
    with 1).
    """
    cores = available_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        cpus = list(range(cores))
    now = _busy_now(cpus, sample_s) if sample_s > 0 else None
    busy = max(load, now or 0.0)
    return max(1, min(cores, cores - int(busy + 0.5)))


def resolve_workers(workers: int | None, device: torch.device | str = "cpu") -> int:
    """Worker processes for ``simulation.workers``: the given number, or (None) the free
    cores capped by a sweep's per-point budget (``$SEMNET_CPUS``); always 1 on a GPU,
    where the one device serves every job."""
    if torch.device(device).type != "cpu":
        return 1
    if workers is not None:
        return max(1, int(workers))
    count = free_cores()
    budget = os.environ.get(CPU_BUDGET_ENV)
    if budget and budget.isdigit():
        count = min(count, max(1, int(budget)))
    return count


# --------------------------------------------------------------------------- which jobs depend on which


def _modules(job: TrainJob) -> list[nn.Module]:
    return [job.encoder] + [t.decoder for t in job.tasks]


def job_chains(jobs: Sequence[TrainJob]) -> list[list[int]]:
    """Indices of ``jobs`` grouped into chains that share mutable state, each in job
    order, chains ordered by their first job.

    Two jobs are in one chain when they touch (train or read) a parameter that some
    job of the round trains, any buffer of the same module (buffers may change in
    training mode), the same batch stream, generator, optimiser or scheduler object.
    Modules that nobody trains (FineFed's frozen decoders in an encoder step) are
    read-only and link nothing.
    """
    written = {id(p) for job in jobs for p in job.trainable()}
    parent = list(range(len(jobs)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    owner: dict[tuple, int] = {}
    for k, job in enumerate(jobs):
        resources: list[tuple] = [("data", id(job.data))]
        for name in ("generator", "optimizer_obj", "scheduler_obj"):
            obj = getattr(job, name)
            if obj is not None:
                resources.append((name, id(obj)))
        for module in _modules(job):
            resources += [("t", id(p)) for p in module.parameters() if id(p) in written]
            resources += [("t", id(b)) for b in module.buffers()]
        for res in resources:
            if res in owner:
                a, b = find(k), find(owner[res])
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[res] = k
    groups: dict[int, list[int]] = {}
    for k in range(len(jobs)):
        groups.setdefault(find(k), []).append(k)
    return sorted(groups.values(), key=lambda chain: chain[0])


def _shippable(job: TrainJob) -> bool:
    if job.optimizer_obj is not None or job.scheduler_obj is not None:
        return False
    if not isinstance(job.data, BatchStream) or job.data.device.type != "cpu":
        return False
    if job.generator is not None and job.generator.device.type != "cpu":
        return False
    return all(t.device.type == "cpu" for m in _modules(job) for t in m.state_dict().values())


def _shared_across_modules(jobs: Sequence[TrainJob]) -> set[int]:
    """ids of module objects that share a parameter or buffer with another module object."""
    owner: dict[int, int] = {}
    bad: set[int] = set()
    seen: set[int] = set()
    for job in jobs:
        for module in _modules(job):
            if id(module) in seen:
                continue
            seen.add(id(module))
            for t in list(module.parameters()) + list(module.buffers()):
                other = owner.setdefault(id(t), id(module))
                if other != id(module):
                    bad.update((other, id(module)))
    return bad


# --------------------------------------------------------------------------- what travels


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
class _ChainJob:
    index: int  # position in the round's job list
    desc: TrainJob  # the job without its objects
    encoder: int  # module slot
    decoders: list[int]
    stream: int
    generator: int | None


@dataclasses.dataclass
class _Payload:
    """One worker's share of a round."""

    trainer: tuple  # (link channels, loss, precision)
    blobs: dict[bytes, bytes]  # content hash -> pickled module
    modules: dict[int, bytes]  # slot -> content hash
    returned: list[int]  # slots whose tensors come back (trained, or with buffers)
    images: dict[int, torch.Tensor]  # token -> uint8 images this worker does not hold yet
    streams: dict[int, tuple[int, dict]]  # stream slot -> (images token, state)
    generators: dict[int, torch.Tensor]  # generator slot -> state
    chains: list[list[_ChainJob]]


def _strip(job: TrainJob) -> TrainJob:
    tasks = [dataclasses.replace(t, decoder=None) for t in job.tasks]
    return dataclasses.replace(job, encoder=None, tasks=tasks, data=None, generator=None)


def _worker_run(payload: _Payload, images: dict[int, torch.Tensor], blobs: dict[bytes, bytes] | None = None) -> dict:
    """Run a payload's chains (in a worker process or Ray actor); ``images`` is the
    worker's cache of stream images, updated here."""
    images.update(payload.images)
    blobs = payload.blobs if blobs is None else blobs
    channels, loss, precision = payload.trainer  # every link's channel: a task's images meet their links'
    trainer = Trainer(channels, torch.device("cpu"), loss=loss, precision=precision)
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


# --------------------------------------------------------------------------- local worker processes


def _worker_main(conn, threads: int) -> None:
    torch.set_num_threads(threads)
    images: dict[int, torch.Tensor] = {}
    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):  # the parent is gone
            return
        kind = message[0]
        if kind == "stop":
            return
        if kind == "reset":
            images.clear()
            conn.send_bytes(pickle.dumps(("ok", None)))
            continue
        try:
            out = ("ok", _worker_run(message[1], images))
        except BaseException:  # noqa: BLE001 - reported to the parent, which raises
            out = ("error", traceback.format_exc())
        try:
            conn.send_bytes(dumps(out))
        except OSError:  # the parent stopped (Ctrl-C, a failed run) while this round trained
            return


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when its parent dies, however it dies."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the closed socket still ends the worker
        pass


def worker_entry() -> None:
    """Entry point of a worker process: ``python -c '...worker_entry()' FD THREADS``."""
    import signal
    from multiprocessing.connection import Connection

    # Ctrl-C reaches the whole process group: only the parent handles it, then stops us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    fd, threads = int(sys.argv[1]), int(sys.argv[2])
    _worker_main(Connection(fd), threads)


class LocalPool:
    """``workers`` processes with ``threads`` torch threads each, kept for the life of
    the Python process (reused by later runs), fed over socket pairs.

    Workers are fresh interpreters (``subprocess``), not ``multiprocessing`` children:
    they never re-import the caller's ``__main__``, so a script calling
    ``semnet.run`` needs no ``if __name__ == "__main__"`` guard. They see the parent's
    ``sys.path`` (plugins import) and exit when the parent goes away.
    """

    backend = "local"

    def __init__(self, workers: int, threads: int = 1):
        from multiprocessing.connection import Connection

        self.workers, self.threads = workers, threads
        self._conns, self._procs = [], []
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        code = "from semnet.fl.execution.parallel import worker_entry; worker_entry()"
        for _ in range(workers):
            parent_end, child_end = socket.socketpair()
            proc = subprocess.Popen([sys.executable, "-c", code, str(child_end.fileno()), str(threads)],
                                    pass_fds=(child_end.fileno(),), env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL)
            child_end.close()
            self._conns.append(Connection(parent_end.detach()))
            self._procs.append(proc)
        self.images_held: list[set[int]] = [set() for _ in range(workers)]
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return all(p.poll() is None for p in self._procs)

    def reset(self, wait: bool = True) -> None:
        """Forget cached images (a new run: tokens start again); with ``wait=False`` the
        replies are awaited by the next round (workers still starting up meanwhile)."""
        for conn in self._conns:
            conn.send_bytes(pickle.dumps(("reset",)))
        self._resets = True
        self.images_held = [set() for _ in range(self.workers)]
        if wait:
            self.settle()

    def settle(self) -> None:
        """Wait for outstanding reset replies."""
        if getattr(self, "_resets", False):
            for conn in self._conns:
                pickle.loads(conn.recv_bytes())
            self._resets = False

    def submit(self, worker: int, payload: _Payload) -> None:
        self._conns[worker].send_bytes(dumps(("round", payload)))

    def collect(self, worker: int) -> dict:
        try:
            status, out = pickle.loads(self._conns[worker].recv_bytes())
        except (EOFError, OSError):
            raise RuntimeError(f"training worker {worker} died (killed, out of memory or a crash in native code)") \
                from None
        if status != "ok":
            raise RuntimeError(f"training worker {worker} failed:\n{out}")
        return out

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.send_bytes(pickle.dumps(("stop",)))
                conn.close()
            except OSError:
                pass
        for proc in self._procs:
            try:  # a worker in the middle of a job does not read "stop": do not wait for it long
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class RayPool:
    """``workers`` Ray actors of one CPU each (on the cluster at ``$RAY_ADDRESS``, or a
    Ray instance started here). A round's distinct module blobs go into the object
    store once (``ray.put``) and every actor reads them from there; stream images go
    in once per run."""

    backend = "ray"

    def __init__(self, workers: int, threads: int = 1):
        import ray

        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            address = os.environ.get("RAY_ADDRESS") or None
            if address:
                ray.init(address=address, logging_level=logging.WARNING)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING)
            self._started = True
        actor = ray.remote(num_cpus=threads)(_RayWorker)
        self.workers, self.threads = workers, threads
        self._actors = [actor.remote(threads) for _ in range(workers)]
        self._pending: dict[int, object] = {}
        self._image_refs: dict[int, object] = {}
        self.images_held: list[set[int]] = [set() for _ in range(workers)]
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self._ray.is_initialized()

    def settle(self) -> None:
        pass

    def reset(self, wait: bool = True) -> None:
        self._ray.get([a.reset.remote() for a in self._actors])
        self._image_refs.clear()
        self.images_held = [set() for _ in range(self.workers)]

    def put_round(self, payloads: dict[int, _Payload]) -> dict[int, tuple]:
        """Object-store references for the payloads: each distinct blob and image set once."""
        ray = self._ray
        blob_refs: dict[bytes, object] = {}
        out = {}
        for worker, payload in payloads.items():
            for key, blob in payload.blobs.items():
                if key not in blob_refs:
                    blob_refs[key] = ray.put(blob)
            for token, tensor in payload.images.items():
                if token not in self._image_refs:
                    self._image_refs[token] = ray.put(tensor)
            keys = sorted(payload.blobs)
            image_tokens = sorted(payload.images)
            light = dataclasses.replace(payload, blobs={}, images={})
            out[worker] = (light, keys, [blob_refs[k] for k in keys], image_tokens,
                           [self._image_refs[t] for t in image_tokens])
        return out

    def submit_round(self, payloads: dict[int, _Payload]) -> None:
        for worker, (light, keys, refs, tokens, image_refs) in self.put_round(payloads).items():
            self._pending[worker] = self._actors[worker].run.remote(light, keys, tokens, len(keys), *refs, *image_refs)

    def collect(self, worker: int) -> dict:
        ref = self._pending.pop(worker)
        return self._ray.get(ref)

    def close(self) -> None:
        for a in self._actors:
            try:
                self._ray.kill(a)
            except Exception:  # noqa: BLE001 - gone already
                pass
        if self._started:
            self._ray.shutdown()


class _RayWorker:
    def __init__(self, threads: int):
        torch.set_num_threads(threads)
        self.images: dict[int, torch.Tensor] = {}

    def reset(self) -> None:
        self.images.clear()

    def run(self, payload: _Payload, keys: list, tokens: list, n_blobs: int, *values) -> dict:
        blobs = dict(zip(keys, values[:n_blobs]))
        self.images.update(zip(tokens, values[n_blobs:]))
        return _worker_run(payload, self.images, blobs)


_POOLS: dict[tuple, object] = {}


def get_pool(backend: str, workers: int, threads: int = 1):
    """The process-wide pool of this kind, started on first use and kept until exit."""
    key = (backend, workers, threads)
    pool = _POOLS.get(key)
    if pool is not None and not pool.alive():
        _POOLS.pop(key)
        pool = None
    if pool is None:
        pool = (RayPool if backend == "ray" else LocalPool)(workers, threads)
        _POOLS[key] = pool
    return pool


def shutdown_pools() -> None:
    """Stop every worker pool of this process (also done at exit)."""
    while _POOLS:
        _, pool = _POOLS.popitem()
        try:
            pool.close()
        except Exception:  # noqa: BLE001 - best effort at shutdown
            pass


atexit.register(shutdown_pools)


# --------------------------------------------------------------------------- the trainer


class ParallelTrainer(Trainer):
    """A :class:`Trainer` that spreads a round's job chains over ``workers`` processes
    (``backend='local'``) or Ray actors (``backend='ray'``); numbers equal the
    in-process trainer's (one torch thread per worker, the parent's thread count for
    what stays in-process)."""

    def __init__(self, channel, device, loss: str = "mse", precision: str = "fp32", *, workers: int = 2,
                 backend: str = "local", threads: int = 1):
        super().__init__(channel, device, loss=loss, precision=precision)
        if backend not in ("local", "ray"):
            raise ValueError(f"unknown backend {backend!r}; allowed: local, ray")
        self.workers, self.backend, self.threads = workers, backend, threads
        self._pool = None
        self._tokens: dict[int, tuple[int, torch.Tensor]] = {}  # id(images) -> (token, images kept alive)
        self.stats = {"rounds": 0, "shipped_jobs": 0, "local_jobs": 0, "blobs": 0, "modules": 0}

    def start(self) -> None:
        """Start (or reuse) the pool now, without waiting for it: workers import torch
        while the run loads data and scores its start."""
        if self._pool is None:
            self._pool = get_pool(self.backend, self.workers, self.threads)
            with self._pool.lock:
                self._pool.reset(wait=False)

    def _get_pool(self):
        self.start()
        with self._pool.lock:
            self._pool.settle()
        return self._pool

    def close(self) -> None:
        """Forget this run's cached images (the pool stays up for later runs)."""
        self._tokens.clear()
        self._pool = None

    def run(self, jobs: Sequence[TrainJob]) -> list[JobResult]:
        jobs = list(jobs)
        if self.workers <= 1 or self.device.type != "cpu" or len(jobs) <= 1:
            return super().run(jobs)
        chains = job_chains(jobs)
        shared = _shared_across_modules(jobs)
        remote, local = [], []
        for chain in chains:
            movable = all(_shippable(jobs[k]) and not any(id(m) in shared for m in _modules(jobs[k]))
                          for k in chain)
            (remote if movable else local).append(chain)
        if len(remote) <= 1:  # nothing to spread
            return super().run(jobs)
        results: list[JobResult | None] = [None] * len(jobs)
        pool = self._get_pool()
        with pool.lock:
            assignment = self._assign(jobs, remote, pool.workers)
            payloads, slots = {}, {}
            for worker, worker_chains in assignment.items():
                payloads[worker], slots[worker] = self._payload(jobs, worker_chains, pool, worker)
            if isinstance(pool, RayPool):
                pool.submit_round(payloads)
            else:
                for worker, payload in payloads.items():
                    pool.submit(worker, payload)
            try:
                for chain in local:  # runs here while the workers train
                    for k in chain:
                        results[k] = super().run([jobs[k]])[0]
            finally:
                outs = {worker: pool.collect(worker) for worker in payloads}
        for worker, out in outs.items():
            self._apply(out, slots[worker], results)
        self.stats["rounds"] += 1
        self.stats["shipped_jobs"] += sum(len(c) for c in remote)
        self.stats["local_jobs"] += sum(len(c) for c in local)
        return results  # type: ignore[return-value]

    @staticmethod
    def _assign(jobs, chains, workers: int) -> dict[int, list[list[int]]]:
        """Longest chains first, each to the least-loaded worker (deterministic)."""
        def cost(chain):
            return sum(jobs[k].steps * max(1, len(jobs[k].tasks)) * jobs[k].data.batch_size for k in chain)

        loads = [0] * min(workers, len(chains))
        out: dict[int, list[list[int]]] = {}
        for chain in sorted(chains, key=lambda c: (-cost(c), c[0])):
            w = min(range(len(loads)), key=lambda i: (loads[i], i))
            loads[w] += cost(chain)
            out.setdefault(w, []).append(chain)
        for w in out:
            out[w].sort(key=lambda c: c[0])
        return out

    def _token(self, images: torch.Tensor) -> int:
        entry = self._tokens.get(id(images))
        if entry is None or entry[1] is not images:
            entry = (len(self._tokens), images)
            self._tokens[id(images)] = entry
        return entry[0]

    def _payload(self, jobs, chains, pool, worker: int):
        module_slot: dict[int, int] = {}
        modules: list[nn.Module] = []
        stream_slot: dict[int, int] = {}
        streams: list[BatchStream] = []
        gen_slot: dict[int, int] = {}
        gens: list[torch.Generator] = []

        def slot_of(obj, index, store):
            if id(obj) not in index:
                index[id(obj)] = len(store)
                store.append(obj)
            return index[id(obj)]

        written = {id(p) for chain in chains for k in chain for p in jobs[k].trainable()}
        items = []
        for chain in chains:
            items.append([
                _ChainJob(
                    index=k,
                    desc=_strip(jobs[k]),
                    encoder=slot_of(jobs[k].encoder, module_slot, modules),
                    decoders=[slot_of(t.decoder, module_slot, modules) for t in jobs[k].tasks],
                    stream=slot_of(jobs[k].data, stream_slot, streams),
                    generator=slot_of(jobs[k].generator, gen_slot, gens) if jobs[k].generator is not None else None,
                )
                for k in chain
            ])
        blobs, keys = {}, {}
        for slot, module in enumerate(modules):
            blob = dumps(module)
            key = hashlib.blake2b(blob, digest_size=16).digest()
            blobs.setdefault(key, blob)
            keys[slot] = key
        self.stats["blobs"] += len(blobs)
        self.stats["modules"] += len(modules)
        returned = [slot for slot, m in enumerate(modules)
                    if any(id(p) in written for p in m.parameters()) or any(True for _ in m.buffers())]
        images, stream_states = {}, {}
        for slot, stream in enumerate(streams):
            token = self._token(stream.images)
            if token not in pool.images_held[worker]:
                images[token] = stream.images
                pool.images_held[worker].add(token)
            stream_states[slot] = (token, stream.state())
        payload = _Payload(
            trainer=(self.channels, self.loss, self.precision),
            blobs=blobs,
            modules=keys,
            returned=returned,
            images=images,
            streams=stream_states,
            generators={slot: g.get_state() for slot, g in enumerate(gens)},
            chains=items,
        )
        return payload, (modules, streams, gens)

    @staticmethod
    def _apply(out: dict, slots, results: list) -> None:
        modules, streams, gens = slots
        with torch.no_grad():
            for slot, state in out["modules"].items():
                modules[slot].load_state_dict(state)
        for module in modules:  # as after in-process training
            module.train()
        for slot, state in out["streams"].items():
            streams[slot].load_state(state)
        for slot, state in out["generators"].items():
            gens[slot].set_state(state)
        for index, result in out["results"].items():
            results[index] = result
