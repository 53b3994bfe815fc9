"""The round loop and the views of a run it plays on.

``context`` assembles a run's views (``views/``: topology, data, random streams, rounds,
deployment, phases); ``strategy`` is the one round loop (:func:`run_rounds`), the
:class:`RoundStrategy` and :class:`Method` bases; ``resume`` and ``snapshot`` checkpoint
and restore it; ``convergence``, ``guard``, ``schedule``, ``versions``, ``evaluation``,
``deployment`` and ``traffic`` are the parts a round and a phase are made of.
"""
