"""Worker pools kept for the life of a process: local worker processes (one pipe each,
dying with their parent) or Ray actors, each running whole chains of jobs with one
torch thread."""

from __future__ import annotations

import atexit
import dataclasses
import importlib
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import traceback

import torch

from semnet.fl.execution.shipping import Payload, dumps, run_payload
from semnet.workers import die_with_parent, import_ray

log = logging.getLogger(__name__)


def _worker_main(conn, threads: int) -> None:
    torch.set_num_threads(threads)
    # the first optimiser a job makes imports torch._dynamo (torch.optim's add_param_group;
    # about a second of CPU): import it now, while the parent still loads its data
    importlib.import_module("torch._dynamo")
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
            out = ("ok", run_payload(message[1], images))
        except BaseException:  # noqa: BLE001 - reported to the parent, which raises
            out = ("error", traceback.format_exc())
        try:
            conn.send_bytes(dumps(out))
        except OSError:  # the parent stopped (Ctrl-C, a failed run) while this round trained
            return


def worker_entry() -> None:
    """Entry point of a worker process: ``python -c '...worker_entry()' FD THREADS``."""
    import signal
    from multiprocessing.connection import Connection

    # Ctrl-C reaches the whole process group: only the parent handles it, then stops us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
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
        code = "from semnet.fl.execution.pools import worker_entry; worker_entry()"
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

    def submit(self, worker: int, payload: Payload) -> None:
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
        ray = import_ray()  # one line, not a traceback, where Ray is not installed
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

    def put_round(self, payloads: dict[int, Payload]) -> dict[int, tuple]:
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

    def submit_round(self, payloads: dict[int, Payload]) -> None:
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

    def run(self, payload: Payload, keys: list, tokens: list, n_blobs: int, *values) -> dict:
        blobs = dict(zip(keys, values[:n_blobs]))
        self.images.update(zip(tokens, values[n_blobs:]))
        return run_payload(payload, self.images, blobs)


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
