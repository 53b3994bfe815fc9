"""Sweeps: run a grid or a list of scenario variations, locally or on a Ray cluster.

>>> spec = load_sweep("scenarios/sweeps/smoke.yaml")      # doctest: +SKIP
>>> [p.name for p in expand(spec)]                         # doctest: +SKIP
['links.snr_offset_db=-3__seed=0', 'links.snr_offset_db=-3__seed=1', ...]
>>> results = run_sweep(spec, backend="local", workers=2)  # doctest: +SKIP

Each point is an ordinary run directory inside the sweep directory; finished points
(``summary.json`` present) are skipped, so an interrupted sweep resumes by running
it again. ``sweep.json`` records every point's overrides, status, error and numbers.
"""

from semnet.sweep.backends import BACKENDS
from semnet.sweep.driver import PointResult, run_sweep
from semnet.sweep.points import Point, expand, point_name
from semnet.sweep.spec import SweepSpec, load_sweep, parse_sweep

__all__ = [
    "BACKENDS",
    "Point",
    "PointResult",
    "SweepSpec",
    "expand",
    "load_sweep",
    "parse_sweep",
    "point_name",
    "run_sweep",
]
