"""The methods a scenario can name (:mod:`registered`), FineFed's steps, the
personalised baselines, the fair-comparison controls, the oracle, centralised training
and the exchange-only method."""
