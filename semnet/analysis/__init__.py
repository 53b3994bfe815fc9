"""Tables, figures and DataFrames from semnet run directories.

Reads only what a run leaves behind (``summary.json``, ``metrics.jsonl``,
``scenario.yaml``); never imports the simulator, so it works on runs copied from
elsewhere. One module per job:

- :mod:`semnet.analysis.runs`: find and load run directories; expand each run into table
  rows ("variants": ``<method>``, and for FineFed ``<method>/start`` and
  ``<method>/<control>``); group by label, method or seed.
- :mod:`semnet.analysis.frames`: pandas DataFrames, one row per run, per phase or per link.
- :mod:`semnet.analysis.table`: the methods table (Markdown, CSV), mean ± std over seeds.
- :mod:`semnet.analysis.tradeoff`: quality vs cumulative bytes / simulated time, Pareto front.
- :mod:`semnet.analysis.snr`: quality vs SNR from an SNR sweep.
- :mod:`semnet.analysis.links`: per-link PSNR vs SNR; the topology coloured by link PSNR.
- :mod:`semnet.analysis.link_pairs`: FineFed minus its start and each control, link by link.
- :mod:`semnet.analysis.budget`: PSNR against extra bytes and passes over FineFed budgets and
  controls; comparisons at equal bytes / passes.
- :mod:`semnet.analysis.topology_sweep`: quality vs a topology parameter.
- :mod:`semnet.analysis.at_test_snr`: centralised models at each test SNR.

Command line: ``semnet analyse COMMAND RUN_DIRS... --out DIR`` (``semnet analyse --help`` lists the
commands; the older ``python -m analysis`` and ``python -m semnet.analysis`` still work, with a notice).

Examples
--------
>>> from semnet.analysis import runs_frame, phases_frame          # doctest: +SKIP
>>> runs = runs_frame("results/quickstart")                       # doctest: +SKIP
>>> runs.groupby("method")["psnr_db"].agg(["mean", "std"])        # doctest: +SKIP
"""

from .frames import links_frame, phases_frame, runs_frame
from .runs import AnalysisError, Run, Variant, group_by_label, group_by_method, group_by_seed, load_runs

__all__ = [
    "AnalysisError", "Run", "Variant", "group_by_label", "group_by_method", "group_by_seed", "load_runs",
    "links_frame", "phases_frame", "runs_frame",
]
