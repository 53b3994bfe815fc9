"""``topology:`` is a union with one class per kind: each kind takes its own keys only,
an unknown kind is a plugin's (``CustomTopologySpec``), errors name the key path;
``data.partition.kind`` is any name, with ``options`` for plugin partitioners."""

from __future__ import annotations

import pydantic
import pytest

from semnet.errors import ScenarioError
from semnet.scenario import apply_overrides, load_scenario, validate
from semnet.scenario.data import PartitionSpec
from semnet.scenario.schema import Scenario, TopologySpec  # noqa: F401  (the alias still imports from schema)
from semnet.scenario.topology import (
    BUILTIN_KINDS,
    TOPOLOGY_SPECS,
    BaseTopologySpec,
    CustomTopologySpec,
    GridTopologySpec,
    RingTopologySpec,
    StarTopologySpec,
    drop_legacy_keys,
    inherit,
    topology_spec,
)

OWN_KEYS = {
    "complete": {},
    "ring": {},
    "star": {"center": 2},
    "grid": {"rows": 2, "cols": 3, "spacing_m": 5.0},
    "erdos_renyi": {"p": 0.5},
    "random_geometric": {"radius_m": 30.0},
    "small_world": {"k": 4, "p_rewire": 0.2},
    "edges": {"edges": [[0, 1], [4, 5]]},
}
COMMON = {"num_users": 6, "area_m": 50.0, "seed": 3, "aggregator_position_m": [1.0, 2.0]}


def test_default_topology_is_a_six_user_ring():
    scenario = validate({})
    assert type(scenario.topology) is RingTopologySpec
    assert (scenario.topology.kind, scenario.topology.num_users) == ("ring", 6)
    assert Scenario().topology == scenario.topology
    # a section without kind is a ring too
    assert type(validate({"topology": {"num_users": 4}}).topology) is RingTopologySpec


def test_every_builtin_kind_has_its_class():
    assert tuple(TOPOLOGY_SPECS) == BUILTIN_KINDS == tuple(OWN_KEYS)
    for kind, cls in TOPOLOGY_SPECS.items():
        assert issubclass(cls, BaseTopologySpec)
        assert cls.model_fields["kind"].default == kind
        assert set(cls.model_fields) == set(BaseTopologySpec.model_fields) | set(OWN_KEYS[kind]) | (
            {"rows", "cols", "spacing_m"} if kind == "grid" else {"p_rewire", "k"} if kind == "small_world" else set()
        )


@pytest.mark.parametrize("kind", BUILTIN_KINDS)
def test_each_kind_accepts_its_own_keys(kind):
    topology = validate({"topology": {"kind": kind, **COMMON, **OWN_KEYS[kind]}}).topology
    assert type(topology) is TOPOLOGY_SPECS[kind]
    for key, value in {**COMMON, **OWN_KEYS[kind]}.items():
        got = getattr(topology, key)
        assert (list(map(list, got)) if key == "edges" else list(got) if isinstance(got, tuple) else got) == value
    # the resolved scenario holds this kind's keys only, and loads back
    dumped = validate({"topology": {"kind": kind, **OWN_KEYS[kind]}}).model_dump(mode="json")
    assert set(dumped["topology"]) == set(TOPOLOGY_SPECS[kind].model_fields)
    assert validate(dumped).topology.kind == kind


@pytest.mark.parametrize("kind", BUILTIN_KINDS)
def test_a_key_of_another_kind_is_an_error_naming_it(kind):
    other_kind = "small_world" if kind != "small_world" else "grid"
    key, value = next(iter(OWN_KEYS[other_kind].items()))
    raw = {"topology": {"kind": kind, **OWN_KEYS[kind], key: value}}
    with pytest.raises(ScenarioError, match=rf"unknown key 'topology\.{key}'"):
        validate(raw)


def test_ring_with_grid_and_erdos_renyi_keys_is_refused():
    # the bug: a flat class accepted {kind: ring, p: 0.9, rows: 5} and ignored both
    with pytest.raises(ScenarioError, match=r"unknown key 'topology\.p'; allowed: kind, num_users"):
        validate({"topology": {"kind": "ring", "p": 0.9, "rows": 5}})
    with pytest.raises(ScenarioError, match=r"unknown key 'topology\.rows'"):
        validate({"topology": {"kind": "ring", "rows": 5}})


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        ({"kind": "erdos_renyi", "p": 1.5}, r"topology\.p = 1\.5: Input should be less than or equal to 1"),
        ({"kind": "random_geometric", "radius_m": 0}, r"topology\.radius_m = 0: Input should be greater than 0"),
        ({"kind": "small_world", "k": 3}, r"topology\.k = 3: small_world needs an even k"),
        ({"kind": "small_world", "num_users": 2}, r"topology\.num_users = 2: kind 'small_world' needs at least 3"),
        ({"kind": "star", "num_users": 4, "center": 4}, r"topology\.center = 4: star center is not a node"),
        ({"kind": "grid", "num_users": 6, "rows": 2, "cols": 2}, r"topology\.rows = 2: grid rows\*cols = 2\*2"),
        ({"kind": "grid", "num_users": 6, "cols": 3}, r"topology\.rows = None: kind 'grid' needs both"),
        ({"kind": "edges"}, r"topology\.edges = None: kind 'edges' needs a non-empty list"),
        ({"kind": "edges", "num_users": 3, "edges": [[0, 3]]}, r"topology\.edges\[0\] = \(0, 3\): not a pair"),
        ({"kind": "edges", "edges": [[0, 1], [2, 2]]}, r"topology\.edges\[1\] = \(2, 2\): a self-loop"),
        ({"kind": "grid", "num_users": 4, "rows": 2, "cols": 2, "spacing_m": True}, r"topology\.spacing_m = True"),
        ({"kind": "ring", "transmit": "explicit"}, r"topology\.transmit_edges = None: transmit 'explicit' needs"),
        ({"kind": "star", "transmit_edges": [[0, 9]]}, r"topology\.transmit_edges\[0\] = \(0, 9\)"),
        ({"kind": "torus", "transmit": "traffic"}, r"topology\.traffic = None: transmit 'traffic' needs a 6x6"),
    ],
)
def test_errors_name_the_key_path_without_the_union_tag(topology, message):
    with pytest.raises(ScenarioError, match=message) as info:
        validate({"topology": topology})
    assert "kind=" not in str(info.value)


def _schema(raw: dict) -> Scenario:
    """The schema alone (the loader also checks that names are registered)."""
    return Scenario.model_validate(raw)


def test_an_unknown_kind_is_a_custom_spec_with_options():
    topology = _schema({"topology": {"kind": "my_plugin_kind", "num_users": 5, "options": {"hubs": 2}}}).topology
    assert type(topology) is CustomTopologySpec
    assert (topology.kind, topology.num_users, topology.options) == ("my_plugin_kind", 5, {"hubs": 2})
    assert _schema({"topology": {"kind": "torus"}}).topology.options == {}
    dumped = _schema({"topology": {"kind": "torus", "options": {"a": [1, 2]}}}).model_dump(mode="json")
    assert dumped["topology"]["options"] == {"a": [1, 2]} and _schema(dumped).topology.kind == "torus"


def test_the_loader_refuses_an_unregistered_kind():
    with pytest.raises(ScenarioError, match=r"topology\.kind = 'torus': unknown topology; allowed: complete, ring"):
        validate({"topology": {"kind": "torus"}})


def test_a_builtin_kinds_key_on_an_unknown_kind_points_at_the_kind():
    with pytest.raises(ScenarioError, match=r"topology\.kind = 'erdos_reny': not a built-in topology kind "
                                            r"\(did you mean 'erdos_renyi'\?\), so 'p' is not a key here"):
        validate({"topology": {"kind": "erdos_reny", "p": 0.5}})
    with pytest.raises(ScenarioError, match=r"topology\.kind = 'clusters'.*settings under 'options'"):
        validate({"topology": {"kind": "clusters", "k": 3}})


def test_options_belong_to_plugin_kinds_only():
    with pytest.raises(ScenarioError, match=r"unknown key 'topology\.options'"):
        validate({"topology": {"kind": "ring", "options": {}}})
    with pytest.raises(pydantic.ValidationError, match="built-in kind; use RingTopologySpec"):
        CustomTopologySpec(kind="ring")


def test_not_a_section_is_one_error():
    with pytest.raises(ScenarioError, match=r"topology = 'ring': must be a section"):
        validate({"topology": "ring"})
    with pytest.raises(ScenarioError, match=r"topology\.kind = 5: Input should be a valid string"):
        validate({"topology": {"kind": 5}})


def test_topology_spec_helper_and_direct_classes():
    assert type(topology_spec(kind="star", num_users=4)) is StarTopologySpec
    assert topology_spec({"kind": "grid", "num_users": 4}, rows=2, cols=2) == GridTopologySpec(
        num_users=4, rows=2, cols=2
    )
    assert type(topology_spec()) is RingTopologySpec
    with pytest.raises(pydantic.ValidationError):
        topology_spec(kind="ring", p=0.5)


# --------------------------------------------------------------------------- extends / --set across kinds


def test_extending_a_scenario_of_another_kind_drops_that_kinds_keys(tmp_path):
    (tmp_path / "rgg.yaml").write_text(
        "name: rgg\ntopology: {kind: random_geometric, num_users: 7, area_m: 80.0, radius_m: 35.0, seed: 2}\n"
    )
    (tmp_path / "ring.yaml").write_text("extends: rgg.yaml\nname: ring\ntopology: {kind: ring}\n")
    (tmp_path / "rgg2.yaml").write_text("extends: rgg.yaml\nname: rgg2\ntopology: {area_m: 60.0}\n")
    (tmp_path / "bad.yaml").write_text("extends: rgg.yaml\nname: bad\ntopology: {kind: ring, p: 0.5}\n")
    ring = load_scenario(tmp_path / "ring.yaml").topology
    assert type(ring) is RingTopologySpec
    assert (ring.num_users, ring.area_m, ring.seed) == (7, 80.0, 2)  # the common keys are inherited
    assert load_scenario(tmp_path / "rgg2.yaml").topology.radius_m == 35.0  # same kind: every key inherited
    with pytest.raises(ScenarioError, match=r"unknown key 'topology\.p'"):  # set in the variant itself
        load_scenario(tmp_path / "bad.yaml")


def test_set_kind_drops_the_old_kinds_keys_but_not_keys_set_alongside():
    raw = {"topology": {"kind": "random_geometric", "num_users": 5, "radius_m": 20.0}}
    ring = apply_overrides(raw, ["topology.kind=ring"])
    assert ring["topology"] == {"kind": "ring", "num_users": 5}
    assert raw["topology"]["radius_m"] == 20.0  # the input is not modified
    er = apply_overrides(raw, ["topology.p=0.2", "topology.kind=erdos_renyi"])
    assert validate(er).topology.p == 0.2
    same = apply_overrides(raw, ["topology.radius_m=30"])
    assert same["topology"]["radius_m"] == 30
    with pytest.raises(ScenarioError, match=r"unknown key 'topology\.radius_m'"):
        validate(apply_overrides(raw, ["topology.kind=ring", "topology.radius_m=3"]))


def test_inherit_keeps_unrelated_sections():
    assert inherit(None, {"kind": "ring"}) == {"kind": "ring"}
    assert inherit({"kind": "star", "center": 1}, "not a section") == "not a section"
    assert inherit({"kind": "x", "options": {"a": 1}}, {"kind": "ring", "options": {"a": 1}}) == {"kind": "ring"}


def test_legacy_flat_sections_load_after_dropping_default_keys():
    old = {"kind": "ring", "num_users": 4, "area_m": 100.0, "radius_m": 50.0, "p": 0.3, "k": 2, "p_rewire": 0.1,
           "rows": None, "cols": None, "spacing_m": 20.0, "center": 0, "edges": None, "transmit": "both",
           "transmit_edges": None, "traffic": None, "aggregator_position_m": None, "seed": None}
    assert validate({"topology": drop_legacy_keys(old)}).topology == RingTopologySpec(num_users=4)
    assert drop_legacy_keys({**old, "kind": "erdos_renyi", "p": 0.7})["p"] == 0.7
    assert "p" in drop_legacy_keys({**old, "p": 0.9})  # not the old default: still reported


# --------------------------------------------------------------------------- data.partition


def test_partition_kind_is_any_name_with_options_for_plugins():
    assert PartitionSpec().kind == "source" and PartitionSpec().options == {}
    spec = _schema({"data": {"partition": {"kind": "quantity_skew", "options": {"beta": 0.3}}}}).data.partition
    assert (spec.kind, spec.options) == ("quantity_skew", {"beta": 0.3})
    with pytest.raises(ScenarioError, match=r"data\.partition\.kind = 'quantity_skew': unknown partitioner"):
        validate({"data": {"partition": {"kind": "quantity_skew"}}})
    assert validate({"data": {"partition": {"kind": "dirichlet", "alpha": 0.1}}}).data.partition.alpha == 0.1
    with pytest.raises(ScenarioError, match=r"data\.partition\.options = \{'x': 1\}: partition kind 'iid' is built in"):
        validate({"data": {"partition": {"kind": "iid", "options": {"x": 1}}}})
    with pytest.raises(ScenarioError, match=r"data\.partition\.kind = '': String should have at least 1"):
        validate({"data": {"partition": {"kind": ""}}})
    with pytest.raises(ScenarioError, match=r"unknown key 'data\.partition\.beta'"):
        validate({"data": {"partition": {"kind": "dirichlet", "beta": 1}}})
