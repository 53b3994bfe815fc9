"""Where local training runs: the sequential :mod:`trainer`, the :mod:`batched` trainer
(same-shaped jobs as one stacked model) and the worker pool of :mod:`parallel` (local
processes or Ray)."""
