"""Scenario files may extend another file and override some of its keys."""

import pytest

from semnet.errors import ScenarioError
from semnet.scenario import load_scenario


def test_extends_deep_merges_over_the_base(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "name: base\nseed: 4\ntopology: {kind: ring, num_users: 5}\nlinks: {snr_db: 7.0, latency_s: 0.002}\n"
        "method: {name: exchange}\n"
    )
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\nlinks: {snr_db: 3.0}\n")
    scenario = load_scenario(tmp_path / "child.yaml")
    assert scenario.name == "child"
    assert scenario.seed == 4
    assert scenario.links.snr_db == 3.0
    assert scenario.links.latency_s == 0.002  # kept from the base: sections merge key by key
    assert scenario.topology.num_users == 5


def test_extends_cycle_is_one_clear_error(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")


def test_extends_missing_base_names_it(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: nowhere.yaml\n")
    with pytest.raises(ScenarioError, match="nowhere.yaml"):
        load_scenario(tmp_path / "a.yaml")


def test_yaml_exponent_floats_without_dot_are_numbers(tmp_path):
    (tmp_path / "s.yaml").write_text("links: {bandwidth_hz: 2e6, rate: {rate_bps: 1e7}}\nmethod: {name: exchange, exchange: {message_bytes: 1e5}}\n")
    scenario = load_scenario(tmp_path / "s.yaml")
    assert scenario.links.bandwidth_hz == 2e6
    assert scenario.method.exchange.message_bytes == 100_000
