"""A resume state names the classes it holds by module: the round and stage records
moved from ``semnet.sim.engine`` to ``semnet.sim.rounds``, and a state written before the
move still loads (the allowlist has both places, and the engine still names them)."""

from __future__ import annotations

import pytest

from semnet.sim.medium_state import pickle_medium, unpickle_medium
from semnet.sim.message import Task, TaskOutcome
from semnet.sim.rounds import _Round, _Stage
from semnet.safe_load import UnsafeData


def records():
    rnd = _Round(due=3.5, pending=2)
    stage = _Stage(Task(key="k", node=1), TaskOutcome(key="k", ok=False), rnd, 2, 1, 0.25)
    return rnd, stage


def test_a_state_naming_the_old_module_loads_as_the_new_classes():
    data = pickle_medium(records())
    assert b"semnet.sim.rounds" in data
    old = data.replace(b"semnet.sim.rounds", b"semnet.sim.engine")  # same length: a valid pickle
    assert b"semnet.sim.rounds" not in old
    rnd, stage = unpickle_medium(old, None)
    assert type(rnd) is _Round and type(stage) is _Stage
    assert (rnd.due, rnd.pending, stage.stage, stage.pending, stage.last_s) == (3.5, 2, 2, 1, 0.25)
    assert stage.rnd is rnd and stage.task.key == "k"


def test_another_module_of_the_same_length_is_refused():
    data = pickle_medium(records()).replace(b"semnet.sim.rounds", b"semnet.sim.medium")
    with pytest.raises(UnsafeData):
        unpickle_medium(data, None)
