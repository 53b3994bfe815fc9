"""Tables and figures from semnet run directories.

Reads only what a run leaves behind (``summary.json``, ``metrics.jsonl``,
``scenario.yaml``); never imports the simulator, so it works on runs copied from
elsewhere. One module per job:

- :mod:`analysis.runs`: find and load run directories; expand each run into table
  rows ("variants": ``<method>``, and for FineFed ``<method>/start`` and
  ``<method>/<control>``); group by label, method or seed.
- :mod:`analysis.table`: the methods table (Markdown, CSV), mean ± std over seeds.
- :mod:`analysis.tradeoff`: quality vs cumulative bytes / simulated time, Pareto front.
- :mod:`analysis.snr`: quality vs SNR from an SNR sweep.
- :mod:`analysis.links`: per-link PSNR vs SNR; the topology coloured by link PSNR.
- :mod:`analysis.topology_sweep`: quality vs a topology parameter.

Command line: ``python -m analysis {table,tradeoff,snr,links,topology,all} RUN_DIRS... --out DIR``.
"""

from analysis.runs import AnalysisError, Run, Variant, group_by_label, group_by_method, group_by_seed, load_runs

__all__ = ["AnalysisError", "Run", "Variant", "group_by_label", "group_by_method", "group_by_seed", "load_runs"]
