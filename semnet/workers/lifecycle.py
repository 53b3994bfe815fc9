"""Worker processes never outlive the process that started them: a worker that the
kernel kills with its parent (Linux), and one that watches its parent and exits."""

from __future__ import annotations

import os
import threading
import time


def die_with_parent() -> None:
    """Linux: the kernel kills this worker when its parent dies, however it dies."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the closed socket still ends the worker
        pass


def watch_parent(parent_pid: int) -> None:
    """Exit when ``parent_pid`` is no longer this process's parent (the driver was
    killed), rather than linger: a thread that checks once a second (pool initializer)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="semnet-parent-watch", daemon=True).start()
