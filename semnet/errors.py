"""One error hierarchy: user mistakes are ``SemnetError``; the CLI prints them as one line.

Internal bugs raise ordinary Python exceptions and keep their tracebacks.
"""


class SemnetError(Exception):
    """A problem caused by the user's input (scenario, data, checkpoint, CLI arguments)."""


class ScenarioError(SemnetError):
    """A scenario file is malformed, has an unknown key, or a value out of range."""


class DataError(SemnetError):
    """A data path is missing or empty, or a data set cannot be partitioned as asked."""


class ModelError(SemnetError):
    """An unknown model name, or a checkpoint that cannot be loaded."""


class MethodError(SemnetError):
    """An unknown method name or an impossible method configuration."""


class RunFailed(Exception):
    """A run that started stopped early for a reason of its own (it diverged, it was
    interrupted): not a mistake in the input, so the CLI exits with status 1, but
    still one line. ``status`` is what the run directory's ``status.json`` records:
    ``status`` ('failed', 'interrupted'), ``error`` (the line), and where it stopped
    (``branch``, ``phase``, ``round``, ``user`` where one is to blame)."""

    def __init__(self, message: str, **where):
        super().__init__(message)
        self.where = where
        self.run_dir = None  # set by the runner: the directory that keeps the records


class RunDiverged(RunFailed):
    """Training produced a non-finite loss or weight, or validation quality collapsed."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a run; the run directory says where. A
    ``KeyboardInterrupt``, so callers that stop on one still do."""


class StorageError(SemnetError):
    """A file semnet writes cannot be written (a read-only folder, a full disk, a file
    over the size limit): one line ``cannot write PATH: <the system's words>``. A run
    that meets one stops as ``interrupted`` (``status.json``) with no temporary file
    left behind, and ``semnet run --resume`` continues it once the folder can be
    written. ``run_dir`` is the run directory that keeps its records (None: the run
    had not started writing)."""

    run_dir = None


def cannot_write(path, err: OSError) -> StorageError:
    """The one line for ``err`` raised while writing ``path``."""
    import os

    words = err.strerror or (os.strerror(err.errno) if err.errno else "") or type(err).__name__
    return StorageError(f"cannot write {path}: {words}")
