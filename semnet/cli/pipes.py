"""A closed output pipe (``semnet report RUN | head``) ends a command quietly, with the
status a C tool killed by SIGPIPE returns."""

from __future__ import annotations

import os
import sys

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a C tool killed by a closed pipe returns


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush at exit does not
    raise a second BrokenPipeError (and print a traceback) on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced (e.g. captured): nothing to protect
        pass
