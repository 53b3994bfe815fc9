"""A strategy sees the views of its run that it names, and only those; every built-in
strategy names what it uses; the views stay small."""

from pathlib import Path

import pytest

from semnet.fl.loop.context import StrategyView
from semnet.fl.loop.strategy import RoundStrategy
from semnet.fl.loop.views import FACETS
from tests.fl.conftest import build_context

VIEWS = Path(__file__).resolve().parents[2] / "semnet" / "fl" / "views"


class Narrow(RoundStrategy):
    uses = ("topology",)

    def configure(self, rnd):
        return []

    def pairing(self):
        return None


def test_a_strategy_reaches_the_views_it_names_and_no_other(tiny):
    ctx, _ = build_context(tiny())
    strategy = Narrow(ctx)
    assert strategy.ctx.topology.users == ctx.topology.users
    assert strategy.ctx.settings is ctx.settings and strategy.ctx.position is ctx.position
    with pytest.raises(AttributeError, match="Narrow uses only topology: add 'rounds' to its `uses`"):
        strategy.ctx.rounds
    with pytest.raises(AttributeError, match="no 'bytes_total'"):
        strategy.ctx.bytes_total  # the flat context of old is gone


def test_a_view_of_a_view_comes_from_the_same_run(tiny):
    ctx, _ = build_context(tiny())
    inner = Narrow(Narrow(ctx).ctx)  # a strategy built by another strategy
    assert inner.ctx.topology is ctx.topology


def test_naming_an_unknown_view_is_refused(tiny):
    ctx, _ = build_context(tiny())
    with pytest.raises(ValueError, match="allowed: topology, data, random, rounds, deployment, phases"):
        StrategyView(ctx, ("topology", "network"), "Wrong")


def _registered_strategies():
    import semnet.fl.methods.baselines  # noqa: F401  (every built-in strategy's module)
    import semnet.fl.methods.centralized  # noqa: F401
    import semnet.fl.methods.exchange  # noqa: F401
    import semnet.fl.algorithms.federated  # noqa: F401
    import semnet.fl.methods.finefed_joint  # noqa: F401
    import semnet.fl.methods.oracle  # noqa: F401

    found, todo = [], [RoundStrategy]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("semnet."):
                found.append(sub)
    return found


@pytest.mark.parametrize("cls", _registered_strategies(), ids=lambda c: c.__name__)
def test_every_built_in_strategy_names_known_views(cls):
    assert cls.uses and set(cls.uses) <= set(FACETS), cls.uses


@pytest.mark.parametrize("path", sorted(VIEWS.glob("*.py")), ids=lambda p: p.name)
def test_each_view_stays_small(path):
    assert len(path.read_text().splitlines()) <= 200
