"""The scenario schema: defaults, immutability, the shipped scenario files and the
cross-key checks that pydantic field constraints cannot express."""

from pathlib import Path

import pydantic
import pytest

from semnet import registry

from semnet.errors import ScenarioError
from semnet.scenario import Scenario, apply_overrides, load_scenario, read_yaml, validate

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"


def _scenario_files() -> list[Path]:
    files = sorted(p for pattern in ("*.yaml", "*.yml") for p in SCENARIOS.rglob(pattern))
    # a sweep file (top-level 'base:' scenario, or a 'sweep:' section) varies a scenario; it is not one
    return [p for p in files if not {"base", "sweep"} & set(read_yaml(p))]


def test_defaults_validate():
    scenario = validate({})
    assert scenario == Scenario()
    assert scenario.method.name == "finefed"
    assert scenario.topology.kind == "ring" and scenario.topology.num_users == 6
    assert registry.methods.get("finefed")(scenario.method).algorithm == "fedavg"


def test_scenario_is_frozen():
    scenario = validate({"links": {"overrides": [{"src": 0, "dst": 1, "snr_db": 3.0}]}})
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        scenario.seed = 1
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        scenario.links.snr_db = 3.0
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        scenario.links.overrides[0].snr_db = 0.0
    with pytest.raises(TypeError):
        scenario.links.overrides[0] = None  # lists become tuples


def test_shipped_scenarios_exist():
    assert (SCENARIOS / "quickstart.yaml") in _scenario_files()


@pytest.mark.parametrize("path", _scenario_files(), ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_shipped_scenario_validates(path):
    scenario = load_scenario(path)
    assert scenario.name
    # the run directory stores the resolved scenario; it must load back to the same thing
    assert validate(scenario.model_dump(mode="json")) == scenario


@pytest.mark.parametrize(
    "given, ratio", [("1/6", 1 / 6), ("1/12", 1 / 12), (" 1/4 ", 0.25), (0.5, 0.5), ("0.25", 0.25), (1, 1.0)]
)
def test_bandwidth_ratio_fraction_or_number(given, ratio):
    assert validate({"model": {"bandwidth_ratio": given}}).model.bandwidth_ratio == pytest.approx(ratio)


@pytest.mark.parametrize("ratio, channels", [("1/12", 8), ("1/6", 16)])
def test_bandwidth_ratio_counts_complex_channel_uses(ratio, channels):
    # DESIGN: an 8x8xc latent of a 32x32x3 image gives k/n = c/96
    from semnet.workload import latent_channels

    assert latent_channels(validate({"model": {"bandwidth_ratio": ratio}}).model, (32, 32)) == channels


@pytest.mark.parametrize("given", ["1/0", "abc", 0, "-1/6", "7/6", [1, 6], True])
def test_bad_bandwidth_ratio(given):
    with pytest.raises(ScenarioError, match=r"model\.bandwidth_ratio"):
        validate({"model": {"bandwidth_ratio": given}})


def test_grid_needs_rows_times_cols_users():
    ok = validate({"topology": {"kind": "grid", "num_users": 6, "rows": 2, "cols": 3}})
    assert (ok.topology.rows, ok.topology.cols) == (2, 3)
    with pytest.raises(ScenarioError, match=r"topology\.rows = 2: grid rows\*cols = 2\*2 = 4 must equal num_users = 6"):
        validate({"topology": {"kind": "grid", "num_users": 6, "rows": 2, "cols": 2}})
    with pytest.raises(ScenarioError, match=r"topology\.cols = None: .*needs both"):
        validate({"topology": {"kind": "grid", "num_users": 6, "rows": 2}})


def _traffic(matrix):
    return {"topology": {"kind": "complete", "num_users": 3, "transmit": "traffic", "traffic": matrix}}


def test_traffic_matrix_accepted():
    scenario = validate(_traffic([[0, 1, 2], [0, 0, 1], [1, 0, 0]]))
    assert scenario.topology.traffic[0] == (0.0, 1.0, 2.0)


@pytest.mark.parametrize(
    "matrix, message",
    [
        (None, r"topology\.traffic = None: .*3x3"),
        ([[0, 1, 1], [1, 0, 1]], r"topology\.traffic = .*has 2 rows; must be a 3x3"),
        ([[0, 1, 1], [1, 0], [1, 1, 0]], r"topology\.traffic\[1\] = \(1\.0, 0\.0\): has 2 entries; must be a 3x3"),
        ([[0, 1, 1], [1, 0, -1], [1, 1, 0]], r"topology\.traffic\[1\]\[2\] = -1\.0: .*>= 0"),
        ([[0, 1, 1], [1, 2, 1], [1, 1, 0]], r"topology\.traffic\[1\]\[1\] = 2\.0: the diagonal must be 0"),
        ([[0, 1, "x"], [1, 0, 1], [1, 1, 0]], r"topology\.traffic\[0\]\[2\] = 'x': .*number"),
    ],
)
def test_traffic_matrix_shape_and_values(matrix, message):
    with pytest.raises(ScenarioError, match=message):
        validate(_traffic(matrix))


def test_method_and_algorithm_must_agree():
    def method(name, algorithm=None):
        federated = {} if algorithm is None else {"algorithm": algorithm}
        spec = validate({"method": {"name": name, "federated": federated}}).method
        return registry.methods.get(name)(spec)  # the method decides its start's algorithm

    contradiction = r"method\.federated\.algorithm = 'scaffold': contradicts method name 'fedprox'"
    with pytest.raises(ScenarioError, match=contradiction):
        method("fedprox", "scaffold")
    assert method("fedprox", "fedprox").algorithm == "fedprox"
    assert method("scaffold").algorithm == "scaffold"
    assert method("finefed", "scaffold").algorithm == "scaffold"  # FineFed's start may use any algorithm
    assert method("finefed").algorithm == "fedavg" and method("ditto").algorithm == "fedavg"


def test_steps_or_epochs_not_both():
    with pytest.raises(ScenarioError, match=r"method\.finetune\.encoder\.epochs = 1\.0: give steps or epochs"):
        validate({"method": {"finetune": {"encoder": {"steps": 3, "epochs": 1}}}})


def test_first_error_prefers_the_misspelt_key():
    # 'snr' for 'snr_db' also makes 'snr_db' missing; the misspelling is the cause
    with pytest.raises(ScenarioError, match=r"unknown key 'links\.overrides\[0\]\.snr' \(did you mean 'snr_db'\?\)"):
        validate({"links": {"overrides": [{"src": 0, "dst": 1, "snr": 3}]}})


def test_error_names_the_source():
    with pytest.raises(ScenarioError, match=r"^my\.yaml: seed = -1: "):
        validate({"seed": -1}, "my.yaml")


def test_apply_overrides_leaves_the_input_alone():
    raw = {"links": {"snr_db": 1.0}}
    out = apply_overrides(raw, ["links.snr_db=2", "links.rate.mode=shannon", "name=x"])
    assert raw == {"links": {"snr_db": 1.0}}
    assert out == {"links": {"snr_db": 2, "rate": {"mode": "shannon"}}, "name": "x"}


@pytest.mark.parametrize(
    "text, value",
    [("a=1", 1), ("a=1.5e+6", 1.5e6), ("a=1/6", "1/6"), ("a=[1, 2]", [1, 2]), ("a={b: 1}", {"b": 1}), ("a=", None),
     ("a=null", None), ("a=x=y", "x=y"), ("a=true", True), ("a=[1", "[1")],
)
def test_override_values_are_yaml(text, value):
    assert apply_overrides({}, [text]) == {"a": value}


def test_override_exponent_without_sign_reaches_a_float(tmp_path):
    # PyYAML (YAML 1.1) reads 1.5e6 as a string; the float field still parses it
    path = tmp_path / "s.yaml"
    path.write_text("links: {bandwidth_hz: 2.0e6}\n")
    assert load_scenario(path, ["links.rate.rate_bps=1.5e6"]).links.rate.rate_bps == 1.5e6
    assert load_scenario(path).links.bandwidth_hz == 2.0e6


def test_read_yaml_empty_file_is_empty_mapping(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing but a comment\n")
    assert read_yaml(path) == {}


def test_read_yaml_keeps_merge_keys(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n")
    assert read_yaml(path) == {"base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3}}
