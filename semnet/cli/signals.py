"""Signals the command line turns into a clean stop."""

from __future__ import annotations

import contextlib
import signal
from typing import Iterator


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """A terminated run or sweep (``kill``, ``timeout``) stops like Ctrl-C: its
    directory marked interrupted, its records kept."""

    def handler(signum, frame):
        # `timeout` and process managers may signal twice (the process, then its group):
        # a second TERM must not cut short the cleanup the first one started
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
