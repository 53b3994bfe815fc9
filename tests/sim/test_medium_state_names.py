"""A resume state names the classes it holds by module: the round and stage records
moved from ``semnet.sim.engine`` to ``semnet.sim.rounds``, and a state written before the
move still loads (the allowlist has both places, and the engine still names them). So do
the carrier-sensing settings, moved from ``semnet.net.network`` to ``semnet.net.link_params``."""

from __future__ import annotations

import pytest

from semnet.net.link_params import CsmaSettings
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


def test_csma_settings_written_under_their_old_module_load(monkeypatch):
    monkeypatch.setattr(CsmaSettings, "__module__", "semnet.net.network")  # as pickled before the move
    old = pickle_medium(CsmaSettings(slot_s=1e-5, cw_min=7))
    monkeypatch.undo()
    assert b"semnet.net.network" in old and b"link_params" not in old
    loaded = unpickle_medium(old, None)
    assert type(loaded) is CsmaSettings
    assert (loaded.slot_s, loaded.cw_min, loaded.cw_max) == (1e-5, 7, 1023)
    assert b"semnet.net.link_params" in pickle_medium(loaded)
