"""Role-sized views of a run, one job each. A :class:`~semnet.fl.loop.context.RunContext`
assembles them; a round strategy names those it uses (``RoundStrategy.uses``) and sees
only those:

============== ==========================================================================
``topology``   users, the aggregator, who sends images to whom, link SNRs (read-only)
``data``       each user's images and batch streams, fresh models, loss terms over links
``random``     random streams keyed by purpose
``rounds``     play a round of messages and local jobs; holdings, codecs, counters
``deployment`` which models the users' live images travel with (``traffic:``)
``phases``     open, score, checkpoint and close a phase; the divergence guard
============== ==========================================================================
"""

from semnet.fl.loop.views.deployment import Deployment
from semnet.fl.loop.views.local_data import LocalData
from semnet.fl.loop.views.phases import Phases
from semnet.fl.loop.views.records import PhaseRecord, cpu_state
from semnet.fl.loop.views.position import Position
from semnet.fl.loop.views.randomness import RandomStreams
from semnet.fl.loop.views.rounds import ClientPlan, Rounds
from semnet.fl.loop.views.topology import TopologyView

FACETS = ("topology", "data", "random", "rounds", "deployment", "phases")

__all__ = ["FACETS", "cpu_state", "ClientPlan", "Deployment", "LocalData", "PhaseRecord", "Phases", "Position", "RandomStreams",
           "Rounds", "TopologyView"]
