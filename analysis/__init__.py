"""The repository root's name for :mod:`semnet.analysis`, kept so that existing
command lines and scripts go on working.

``python -m analysis ...`` from the repository root runs ``semnet analyse ...`` (the one
entry point), after a one-line notice on stderr. ``import analysis.runs`` and the other old module paths give the
very modules of :mod:`semnet.analysis` (the same objects, not copies, so
``except analysis.runs.AnalysisError`` still catches what the package raises).
"""

import importlib
import sys

from semnet.analysis import *  # noqa: F401,F403  (the same public names as before)
from semnet.analysis import __all__  # noqa: F401

# The modules that lived here before they moved into semnet/analysis/.
_MOVED = ("at_test_snr", "frames", "links", "runs", "snr", "stats", "style", "table", "topology_sweep", "tradeoff")

for _name in _MOVED:
    _module = importlib.import_module(f"semnet.analysis.{_name}")
    sys.modules[f"{__name__}.{_name}"] = _module
    globals()[_name] = _module
del _name, _module
