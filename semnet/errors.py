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
