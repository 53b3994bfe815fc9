"""Sweep files and their points: expansion order, names, validation before anything runs."""

from pathlib import Path

import pytest

from semnet.errors import ScenarioError
from semnet.sweep import expand, load_sweep, parse_sweep, point_name, run_sweep
from semnet.sweep.points import MAX_NAME_CHARS
from tests.sweep.conftest import exchange_dict


def test_grid_is_a_cartesian_product_first_key_outermost_seeds_innermost(sweep_file):
    spec = load_sweep(sweep_file({
        "grid": {"links.snr_offset_db": [-3, 0, 3], "topology.kind": ["ring", "star"]},
        "seeds": [0, 1],
    }))
    points = expand(spec)
    assert len(points) == 3 * 2 * 2
    assert [p.index for p in points] == list(range(12))
    assert [tuple(p.overrides.values()) for p in points[:5]] == [
        (-3, "ring", 0), (-3, "ring", 1), (-3, "star", 0), (-3, "star", 1), (0, "ring", 0)
    ]
    assert list(points[0].overrides) == ["links.snr_offset_db", "topology.kind", "seed"]
    last = points[-1].scenario
    assert (last.links.snr_offset_db, last.topology.kind, last.seed) == (3.0, "star", 1)
    # the rest of the base is untouched
    assert last.topology.num_users == 3 and last.method.name == "exchange"


def test_explicit_points_keep_their_order_and_combine_with_seeds(sweep_file):
    spec = load_sweep(sweep_file({
        "points": [{"topology.kind": "star", "topology.num_users": 4}, {"links.bandwidth_hz": 2.0e6}],
        "seeds": [5, 7],
    }))
    points = expand(spec)
    assert [p.name for p in points] == [
        "topology.kind=star__topology.num_users=4__seed=5",
        "topology.kind=star__topology.num_users=4__seed=7",
        "links.bandwidth_hz=2000000__seed=5",
        "links.bandwidth_hz=2000000__seed=7",
    ]
    assert points[1].scenario.topology.num_users == 4 and points[1].scenario.seed == 7
    assert points[2].scenario.links.bandwidth_hz == 2.0e6
    assert points[2].scenario.topology.kind == "complete"  # from the base


def test_set_applies_to_every_point_and_base_is_relative_to_the_sweep_file(sweep_file, tmp_path, monkeypatch):
    path = sweep_file({"set": ["method.exchange.rounds=4", "links.fading=rayleigh"], "seeds": [0, 1]})
    monkeypatch.chdir(Path(path).anchor)  # elsewhere: base.yaml is still found next to the sweep file
    spec = load_sweep(path)
    assert spec.base == str((tmp_path / "base.yaml").resolve())
    points = expand(spec)
    assert [p.name for p in points] == ["seed=0", "seed=1"]
    assert all(p.scenario.method.exchange.rounds == 4 and p.scenario.links.fading == "rayleigh" for p in points)


def test_values_keep_their_yaml_types(sweep_file):
    base = exchange_dict()
    base["model"] = {"name": "deep_jscc", "width": 0.25}
    spec = load_sweep(sweep_file({"grid": {"model.bandwidth_ratio": ["1/12", "1/6"], "name": ["007"]}}, base=base))
    points = expand(spec)
    assert points[0].scenario.model.bandwidth_ratio == pytest.approx(1 / 12)
    assert points[0].scenario.name == "007"  # a string that looks like a number stays a string
    assert points[0].name == "model.bandwidth_ratio=1_12__name=007"


def test_point_names_are_safe_readable_and_bounded():
    assert point_name({"links.snr_db": 5.0, "seed": 1}) == "links.snr_db=5__seed=1"
    assert point_name({"links.snr_offset_db": -2.5}) == "links.snr_offset_db=-2.5"
    assert point_name({}) == "base"
    assert point_name({"data.path": "../my data/*"}) == "data.path=.._my_data"  # no separator: one level
    assert "/" not in point_name({"topology.edges": [[0, 1], [1, 2]]})
    long = {f"method.finetune.key{i}": "x" * 20 for i in range(8)}
    other = {**long, "method.finetune.key7": "y" * 20}
    assert len(point_name(long)) <= MAX_NAME_CHARS
    assert point_name(long) != point_name(other)  # the hash suffix tells cut names apart
    assert point_name(long) == point_name(dict(long))  # deterministic


def test_names_that_sanitise_alike_stay_distinct(sweep_file):
    points = expand(load_sweep(sweep_file({"grid": {"description": ["a b", "a_b"]}})))
    assert len({p.name for p in points}) == 2


def test_invalid_key_is_one_scenario_error_naming_it_before_anything_runs(sweep_file, tmp_path):
    path = sweep_file({"grid": {"links.snr_offset_db": [0, 3], "links.snr": [1, 2]}})
    with pytest.raises(ScenarioError) as err:
        run_sweep(path)
    message = str(err.value)
    assert "\n" not in message
    # the sweep file, then the point and the key; every invalid point has its own line
    assert message.startswith(f"{path}: sweep point 1/4 (links.snr_offset_db=0__links.snr=1): unknown key 'links.snr'")
    assert "allowed: " in message and "snr_offset_db" in message and message.endswith("(and 3 more invalid points)")
    assert [line.split(": ")[1] for line in err.value.lines] == [
        "sweep point 1/4 (links.snr_offset_db=0__links.snr=1)", "sweep point 2/4 (links.snr_offset_db=0__links.snr=2)",
        "sweep point 3/4 (links.snr_offset_db=3__links.snr=1)", "sweep point 4/4 (links.snr_offset_db=3__links.snr=2)"]
    assert not (tmp_path / "out").exists()


def test_invalid_value_in_a_later_point_is_found_before_anything_runs(sweep_file, tmp_path):
    path = sweep_file({"points": [{"topology.num_users": 4}, {"topology.num_users": 0}]})
    with pytest.raises(ScenarioError, match=r"sweep point 2/2 \(topology.num_users=0\): .*topology.num_users = 0"):
        run_sweep(path)
    assert not (tmp_path / "out").exists()


def test_bad_override_path_names_the_point(sweep_file):
    with pytest.raises(ScenarioError, match=r"sweep point 1/1 \(seed.x=1\): .*'seed' is a value, not a section"):
        expand(load_sweep(sweep_file({"points": [{"seed.x": 1}]})))


def test_bad_set_names_the_sweep_file(sweep_file):
    path = sweep_file({"set": ["seed.x=1"], "seeds": [0]})
    with pytest.raises(ScenarioError, match=r"sweep.yaml: set: .*'seed' is a value"):
        expand(load_sweep(path))


@pytest.mark.parametrize("sweep, message", [
    ({"seeds": [0], "grdi": {"seed": [1]}}, "unknown key 'grdi'; allowed: base, set, grid, points, seeds, out"),
    ({"grid": {"seed": [1]}, "points": [{"seed": 2}]}, "give 'grid' or 'points', not both"),
    ({}, "give 'grid', 'points' or 'seeds'"),
    ({"grid": {"links.snr_db": []}}, "'links.snr_db' has an empty list of values"),
    ({"grid": {"links.snr_db": [1, 1]}}, "lists the value 1 twice"),
    ({"grid": {"seed": [1, 2]}, "seeds": [0]}, "'seed' is varied both"),
    ({"seeds": [0, 0]}, "lists a seed twice"),
    ({"set": ["rounds"], "seeds": [0]}, "is not KEY.PATH=VALUE"),
    ({"points": [{"a..b": 1}]}, "is not a KEY.PATH"),
])
def test_bad_sweep_files_are_one_line_errors(sweep_file, sweep, message):
    with pytest.raises(ScenarioError) as err:
        load_sweep(sweep_file(sweep))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_base_file_is_a_scenario_error(tmp_path):
    (tmp_path / "s.yaml").write_text("base: nowhere.yaml\nseeds: [0]\n")
    with pytest.raises(ScenarioError, match="base: .*nowhere.yaml: scenario file does not exist"):
        expand(load_sweep(tmp_path / "s.yaml"))


def test_two_points_that_are_the_same_run_are_refused():
    spec = parse_sweep({"base": exchange_dict(), "points": [{"seed": 3}, {"links.snr_db": 10.0}]})
    with pytest.raises(ScenarioError, match=r"sweep points 1 \(seed=3\) and 2 \(links.snr_db=10\) are the same"):
        expand(spec)


def test_inline_base_and_default_out():
    spec = parse_sweep({"base": exchange_dict(), "seeds": [0]})
    assert spec.out_dir() == Path("runs/sweeps/sweep")
    spec = parse_sweep({"base": exchange_dict(), "seeds": [0]}, source="scenarios/sweeps/snr.yaml")
    assert spec.out_dir() == Path("runs/sweeps/snr")
    assert spec.out_dir("elsewhere") == Path("elsewhere")
