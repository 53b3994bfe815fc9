"""The shipped fragments (scenarios/fragments/) and the matched media x mobility set
(scenarios/media_mobility/) built only from them: the six scenarios differ pairwise in
the medium and mobility keys and nothing else, so their runs compare like with like."""

from itertools import combinations
from pathlib import Path

import pytest

from semnet.net.network import build_network
from semnet.scenario import load_scenario, read_yaml
from semnet.scenario.yaml_text import load_yaml_text

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FRAGMENTS = sorted((SCENARIOS / "fragments").glob("*.yaml"))
MATCHED = sorted((SCENARIOS / "media_mobility").glob("*.yaml"))
MEDIUM_KEYS = {"links.medium", "links.scheduler", "links.downlink"}
MOBILITY_PREFIX = "topology.mobility."


def flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def own_keys(path: Path) -> dict:
    return load_yaml_text(path.read_text(), str(path))


def test_the_matched_set_is_three_media_by_two_mobilities():
    assert {p.stem for p in MATCHED} == {f"{m}_{s}" for m in ("dedicated", "cell", "node_radio")
                                         for s in ("static", "mobile")}


@pytest.mark.parametrize("path", MATCHED, ids=lambda p: p.stem)
def test_a_matched_scenario_is_only_the_quickstart_and_fragments(path):
    keys = own_keys(path)
    assert set(keys) == {"extends", "name", "description"}
    first, *rest = keys["extends"]
    assert first == "../quickstart.yaml"
    assert rest and all(entry.startswith("../fragments/") for entry in rest)


def test_the_matched_set_differs_pairwise_only_in_medium_and_mobility():
    merged = {p.stem: flat(load_scenario(p).model_dump(mode="json")) for p in MATCHED}
    for a, b in combinations(sorted(merged), 2):
        differ = {k for k in merged[a].keys() | merged[b].keys() if merged[a].get(k) != merged[b].get(k)}
        differ -= {"name", "description"}
        medium_a, mobility_a = a.rsplit("_", 1)
        medium_b, mobility_b = b.rsplit("_", 1)
        medium = {k for k in differ if k in MEDIUM_KEYS}
        mobility = {k for k in differ if k.startswith(MOBILITY_PREFIX)}
        assert differ == medium | mobility, f"{a} vs {b}: {sorted(differ - medium - mobility)}"
        assert bool(medium) == (medium_a != medium_b), (a, b, medium)
        assert bool(mobility) == (mobility_a != mobility_b), (a, b, mobility)
    # and what they share is what the fragments promise, the rates the channel sets included
    one = merged["cell_mobile"]
    assert one["links.rate.mode"] == one["links.aggregator.rate.mode"] == "shannon"
    assert one["links.aggregator.snr_db"] is None  # the aggregator's SNR from path loss too
    assert (one["links.fading"], one["links.channel.time_correlation"]) == ("rayleigh", "jakes")
    assert one["traffic.images_per_s"] == 5.0 and one["simulation.energy.tx_power_w"] == 0.8
    assert one["topology.mobility.model"] == "random_waypoint" and merged["cell_static"]["topology.mobility.model"] == "static"
    assert one["links.medium"] == "cell" and merged["node_radio_static"]["links.medium"] == "node_radio"


@pytest.mark.parametrize("path", MATCHED, ids=lambda p: p.stem)
def test_a_matched_scenario_builds_its_network(path):
    scenario = load_scenario(path)
    network = build_network(scenario.topology, scenario.links, scenario.seed)  # what validate and run do
    assert network.channel is not None  # the channel over time: Doppler fading (and mobility)


@pytest.mark.parametrize("path", FRAGMENTS, ids=lambda p: p.stem)
def test_a_fragment_sets_a_few_keys_and_no_name(path):
    keys = own_keys(path)
    assert keys and not {"name", "description", "extends", "seed"} & set(keys)
    assert len(flat(keys)) <= 12
    load_scenario(path)  # and validates alone, over the defaults, as `semnet validate` checks it


def test_every_fragment_is_used_by_a_shipped_scenario():
    used = set()
    for path in SCENARIOS.rglob("*.yaml"):
        entries = own_keys(path).get("extends") or []
        for entry in [entries] if isinstance(entries, str) else entries:
            used.add((path.parent / entry).resolve())
    assert {p.resolve() for p in FRAGMENTS} <= used


def test_fragments_read_the_same_wherever_they_are_listed():
    # the matched file merges exactly the listed files in order: redo it by hand
    from semnet.scenario.extends import deep_merge

    path = SCENARIOS / "media_mobility" / "node_radio_mobile.yaml"
    expected: dict = {}
    for entry in own_keys(path)["extends"]:
        expected = deep_merge(expected, read_yaml(path.parent / entry))
    expected = deep_merge(expected, {k: v for k, v in own_keys(path).items() if k != "extends"})
    assert read_yaml(path) == expected
