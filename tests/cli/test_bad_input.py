"""A user's mistake gets one line on stderr (file, key path, bad value, what is allowed),
exit status 2 and no traceback — for ``semnet validate`` and for ``semnet run``."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from semnet.cli.main import EXIT_USER_ERROR, main
from semnet.scenario import load_scenario

from .conftest import exchange_scenario, with_key

BASE = exchange_scenario()


def _set(*pairs):
    """BASE with each (dotted key, value) pair applied in turn."""
    raw = BASE
    for key, value in pairs:
        raw = with_key(raw, key, value)
    return raw


def assert_one_line_error(capsys, rc, *expected):
    err = capsys.readouterr().err
    assert rc == EXIT_USER_ERROR, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("semnet: error: ")
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    return lines[0]


# (id, scenario content, substrings the error line must hold); content is a dict
# written as YAML or a string written verbatim
VALIDATE_CASES = [
    ("yaml_syntax", "name: t\ntopology: {kind: ring\n", ["line 3", "YAML syntax error", "expected ',' or '}'"]),
    ("yaml_tab", "name: t\ntopology:\n\tkind: ring\n", ["line 3", "YAML syntax error", "'\\t'"]),
    ("yaml_duplicate_key", "seed: 1\nname: a\nseed: 2\n", ["line 3", "duplicate key 'seed'", "line 1"]),
    ("top_level_not_mapping", "- a\n- b\n", ["top level must be a mapping", "list"]),
    # a sweep file is validated as one (its base and every point)
    ("sweep_base_missing", "base: quickstart.yaml\ngrid: {seed: [0, 1]}\n", ["base:", "quickstart.yaml", "does not exist"]),
    ("unknown_section", _set(("topologie", {"kind": "ring"})), ["unknown key 'topologie'", "allowed:", "topology"]),
    ("unknown_key", _set(("topology.nodes", 3)), ["unknown key 'topology.nodes'", "allowed:", "num_users"]),
    ("unknown_nested_key", _set(("links.rate.bps", 1)), ["'links.rate.bps'", "allowed:", "rate_bps"]),
    (
        "unknown_key_in_list_item",
        _set(("links.overrides", [{"src": 0, "dst": 1, "snr": 3}])),
        ["'links.overrides[0].snr'", "allowed: src, dst, snr_db"],
    ),
    (
        "missing_required_key",
        _set(("links.overrides", [{"src": 0, "snr_db": 3}])),
        ["links.overrides[0].dst", "missing"],
    ),
    ("wrong_type_int", _set(("topology.num_users", "four")), ["topology.num_users", "'four'", "integer"]),
    ("wrong_type_fraction", _set(("topology.num_users", 4.5)), ["topology.num_users", "4.5", "integer"]),
    ("wrong_type_float", _set(("links.snr_db", "ten")), ["links.snr_db", "'ten'", "number"]),
    ("boolean_for_number", _set(("topology.num_users", True)), ["topology.num_users", "True", "not a boolean"]),
    ("wrong_type_section", _set(("links", 5)), ["links = 5", "section", "snr_db"]),
    ("wrong_type_list", _set(("method.centralized.test_snrs_db", 5)), ["method.centralized.test_snrs_db", "5", "list"]),
    ("negative_bandwidth", _set(("links.bandwidth_hz", -1e6)), ["links.bandwidth_hz", "-1000000.0", "greater than 0"]),
    ("negative_latency", _set(("links.latency_s", -0.1)), ["links.latency_s", "-0.1", "greater than or equal to 0"]),
    ("not_finite", _set(("links.snr_db", float("nan"))), ["links.snr_db", "nan", "finite"]),
    (
        "probability_above_one",
        _set(("topology.kind", "erdos_renyi"), ("topology.p", 1.5)),
        ["topology.p", "1.5", "less than or equal to 1"],
    ),
    (
        "client_fraction_zero",
        _set(("method.federated.client_fraction", 0)),
        ["method.federated.client_fraction", "0", "greater than 0"],
    ),
    (
        "snr_range_inverted",
        _set(("links.snr_min_db", 20), ("links.snr_max_db", 0)),
        ["links.snr_min_db", "20", "<= snr_max_db"],
    ),
    (
        "override_node_missing",
        _set(("links.overrides", [{"src": 0, "dst": 9, "snr_db": 1}])),
        ["links.overrides[0].dst", "9", "0..3"],
    ),
    (
        "edge_node_missing",
        _set(("topology.kind", "edges"), ("topology.edges", [[0, 1], [2, 7]])),
        ["topology.edges[1]", "(2, 7)", "0..3"],
    ),
    (
        "edge_self_loop",
        _set(("topology.kind", "edges"), ("topology.edges", [[1, 1]])),
        ["topology.edges[0]", "(1, 1)", "self-loop"],
    ),
    ("star_center_missing", _set(("topology.kind", "star"), ("topology.center", 4)), ["topology.center", "4", "0..3"]),
    (
        "per_node_missing",
        _set(("simulation.compute.per_node", {7: 100.0})),
        ["simulation.compute.per_node", "7", "0..3"],
    ),
    ("small_world_k", _set(("topology.kind", "small_world"), ("topology.k", 3)), ["topology.k", "3", "even k"]),
    ("unknown_topology_kind", _set(("topology.kind", "torus")), ["topology.kind", "'torus'", "allowed:", "ring", "grid"]),
    ("unknown_model", _set(("model.name", "resnet")), ["model.name", "'resnet'", "allowed:", "deep_jscc", "adjscc"]),
    ("unknown_method", _set(("method.name", "fedfoo")), ["method.name", "'fedfoo'", "allowed:", "finefed", "exchange"]),
    (
        "unknown_algorithm",
        _set(("method.federated.algorithm", "fedsgd")),
        ["method.federated.algorithm", "'fedsgd'", "allowed:", "fedprox"],
    ),
    (
        "unknown_control",
        _set(("method.controls", ["more_steps"])),
        ["method.controls[0]", "'more_steps'", "allowed:", "bytes_matched"],
    ),
    ("unknown_fading", _set(("links.fading", "nakagami")), ["links.fading", "'nakagami'", "rayleigh"]),
    ("override_unknown_fading", _set(("links.overrides", [{"src": 0, "dst": 1, "snr_db": 5.0},
                                                          {"src": 1, "dst": 2, "fading": "nakagami", "csi": False}])),
     ["links.overrides[1].fading", "'nakagami'", "unknown channel", "allowed:", "none", "rayleigh", "rician"]),
    ("override_changes_nothing", _set(("links.overrides", [{"src": 0, "dst": 1}])),
     ["links.overrides[0]", "changes nothing", "snr_db, fading, csi"]),
    ("bad_bandwidth_ratio", _set(("model.bandwidth_ratio", "1/0")), ["model.bandwidth_ratio", "'1/0'", "'1/6'"]),
    ("bandwidth_ratio_above_one", _set(("model.bandwidth_ratio", 2)), ["model.bandwidth_ratio", "2", "(0, 1]"]),
    ("folder_without_path", _set(("data.source", "folder")), ["data.path", "None", "needs 'path'"]),
    ("unknown_loss", _set(("method.loss", "l1")), ["method.loss", "'l1'", "'mse'", "'log_mse'"]),
    (
        "log_mse_with_uncertainty_weights",
        _set(("method.loss", "log_mse"), ("method.finetune.task_weights", "uncertainty")),
        ["method.loss", "'log_mse'", "uncertainty"],
    ),
    (
        "method_algorithm_contradiction",
        _set(("method.name", "fedprox"), ("method.federated.algorithm", "scaffold")),
        ["method.federated.algorithm", "'scaffold'", "fedprox"],
    ),
    ("traffic_rate_missing", _set(("traffic", {"queue": "fifo"})), ["traffic.images_per_s", "required"]),
    ("traffic_rate_negative", _set(("traffic", {"images_per_s": -1})), ["traffic.images_per_s", "-1",
                                                                         "greater than 0"]),
    ("traffic_queue_unknown", _set(("traffic", {"images_per_s": 5, "queue": "lifo"})),
     ["traffic.queue", "'lifo'", "'fifo'", "'images_first'"]),
    ("traffic_arrivals_unknown", _set(("traffic", {"images_per_s": 5, "arrivals": "bursty"})),
     ["traffic.arrivals", "'bursty'", "'periodic'", "'poisson'"]),
]


@pytest.mark.parametrize(
    "content, expected", [pytest.param(c, e, id=i) for i, c, e in VALIDATE_CASES]
)
def test_validate_reports_one_line(write_scenario, capsys, content, expected):
    path = write_scenario(content)
    rc = main(["validate", path])
    assert_one_line_error(capsys, rc, path, *expected)


def test_validate_reports_every_bad_file(write_scenario, capsys):
    """A bad file does not hide the ones after it: one line for each bad file, ok for the others."""
    bad1 = write_scenario(_set(("links.bandwidth_hz", -1)), "bad1")
    good = write_scenario(BASE, "good")
    bad2 = write_scenario(_set(("method.exchange.rounds", 0)), "bad2")
    missing = str(Path(good).with_name("missing.yaml"))
    rc = main(["validate", bad1, good, bad2, missing])
    assert rc == EXIT_USER_ERROR
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"{good}: ok (exchange, 4 users, ring)"]
    lines = captured.err.splitlines()
    assert len(lines) == 3 and all(line.startswith("semnet: error: ") for line in lines)
    assert bad1 in lines[0] and "links.bandwidth_hz" in lines[0]
    assert bad2 in lines[1] and "method.exchange.rounds" in lines[1]
    assert missing in lines[2] and "does not exist" in lines[2]
    assert "Traceback" not in captured.err


def _sweep(tmp_path, base: dict, body: str) -> str:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    path = tmp_path / "sweep.yaml"
    path.write_text("base: base.yaml\n" + body)
    return str(path)


def test_validate_checks_every_point_of_a_sweep(tmp_path, capsys):
    path = _sweep(tmp_path, BASE, "grid:\n  method.exchange.rounds: [2, 0, 3, -1]\n  links.snr_db: [5]\n")
    rc = main(["validate", path])
    captured = capsys.readouterr()
    assert rc == EXIT_USER_ERROR and captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 2, captured.err  # points 2 and 4, not only the first bad one
    assert "sweep point 2/4" in lines[0] and "method.exchange.rounds = 0" in lines[0]
    assert "sweep point 4/4" in lines[1] and "method.exchange.rounds = -1" in lines[1]
    assert all(line.startswith(f"semnet: error: {path}: ") for line in lines)


def test_validate_builds_every_sweep_points_network(tmp_path, capsys):
    base = _set(("links.overrides", [{"src": 1, "dst": 2, "snr_db": 0.0}]))
    path = _sweep(tmp_path, base, "grid:\n  topology.kind: [ring, star, complete]\n")
    assert main(["validate", path]) == EXIT_USER_ERROR
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "sweep point 2/3 (topology.kind=star)" in lines[0]
    assert "1 -> 2 is not a link of the topology" in lines[0]


def test_validate_accepts_a_good_sweep_and_its_set(tmp_path, capsys):
    path = _sweep(tmp_path, BASE, "seeds: [0, 1, 2]\n")
    assert main(["validate", path]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok (sweep of 3 points, every point valid)"
    rc = main(["validate", path, "--set", "links.bandwidth_hz=-1"])
    err = capsys.readouterr().err
    assert rc == EXIT_USER_ERROR and len(err.splitlines()) == 3 and "links.bandwidth_hz" in err


def test_run_refuses_a_sweep_file(tmp_path, capsys):
    path = _sweep(tmp_path, BASE, "seeds: [0, 1]\n")
    rc = main(["run", path, "--out", str(tmp_path / "x")])
    assert_one_line_error(capsys, rc, "a sweep file", "semnet sweep")


def _binary_file(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00\x81")
    return str(path)


@pytest.mark.parametrize(
    "make, expected",
    [
        pytest.param(lambda tmp: str(tmp / "nowhere.yaml"), ["nowhere.yaml", "does not exist"], id="missing_file"),
        pytest.param(lambda tmp: str(tmp), ["is a directory"], id="directory"),
        pytest.param(_binary_file, ["binary.yaml", "not a UTF-8 text file", "0xff"], id="not_text"),
    ],
)
def test_unreadable_scenario_file(tmp_path, capsys, make, expected):
    rc = main(["validate", make(tmp_path)])
    assert_one_line_error(capsys, rc, *expected)


# ------------------------------------------------------------------ errors found only when running

_FEDAVG_NO_ROUNDS = {"name": "fedavg", "federated": {"rounds": 0}}
_SMALL_DATA = {"source": "embedded", "train_per_user": 8, "test_per_user": 2}


def _corrupt_checkpoint(tmp_path):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(os.urandom(512))
    return str(path)


def _mismatched_checkpoint(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(3)}, path)
    return str(path)


NETWORK_CASES = [
    (
        "empty_graph",
        _set(("topology.kind", "random_geometric"), ("topology.radius_m", 0.001)),
        ["topology", "'random_geometric'", "no links", "radius_m"],
    ),
    (
        "fading_override_not_a_link",
        _set(("topology.kind", "star"), ("links.overrides", [{"src": 1, "dst": 2, "fading": "rayleigh"}])),
        ["links.overrides", "1 -> 2 is not a link of the topology"],
    ),
    (
        "override_not_a_link",
        _set(("topology.kind", "star"), ("links.overrides", [{"src": 1, "dst": 2, "snr_db": 0.0}])),
        ["links.overrides", "1 -> 2 is not a link of the topology"],
    ),
]


@pytest.mark.parametrize("case", ["override_unknown_fading", "override_changes_nothing"])
def test_run_refuses_a_bad_override_in_one_line(tmp_path, write_scenario, capsys, case):
    content, expected = next((c, e) for i, c, e in VALIDATE_CASES if i == case)
    path = write_scenario(content)
    rc = main(["run", path, "--out", str(tmp_path / "x"), "--quiet"])
    assert_one_line_error(capsys, rc, path, *expected)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("content, expected", [pytest.param(c, e, id=i) for i, c, e in NETWORK_CASES])
def test_validate_builds_the_network(tmp_path, write_scenario, capsys, content, expected):
    """What needs the graph but no data is found by validate, and by run before it writes anything."""
    path = write_scenario(content)
    assert_one_line_error(capsys, main(["validate", path]), path, *expected)
    rc = main(["run", path, "--out", str(tmp_path / "x"), "--quiet"])
    assert_one_line_error(capsys, rc, path, *expected)
    assert not (tmp_path / "x").exists()


RUN_CASES = [
    (
        "missing_data_path",
        lambda tmp: _set(
            ("data.source", "folder"),
            ("data.path", str(tmp / "no-such-dir")),
            ("method", _FEDAVG_NO_ROUNDS),
        ),
        ["data.path", "no-such-dir", "does not exist"],
    ),
    (
        "missing_checkpoint",
        lambda tmp: _set(
            ("data", _SMALL_DATA),
            ("model.checkpoint", str(tmp / "gone.pt")),
            ("method", _FEDAVG_NO_ROUNDS),
        ),
        ["model.checkpoint", "gone.pt", "does not exist"],
    ),
    (
        "corrupt_checkpoint",
        lambda tmp: _set(
            ("data", _SMALL_DATA),
            ("model.checkpoint", _corrupt_checkpoint(tmp)),
            ("method", _FEDAVG_NO_ROUNDS),
        ),
        ["model.checkpoint", "corrupt.pt", "not a readable PyTorch checkpoint"],
    ),
    (
        "mismatched_checkpoint",
        lambda tmp: _set(
            ("data", _SMALL_DATA),
            ("model.checkpoint", _mismatched_checkpoint(tmp)),
            ("method", _FEDAVG_NO_ROUNDS),
        ),
        ["model.checkpoint", "other.pt", "does not fit model 'deep_jscc'"],
    ),
]


@pytest.mark.parametrize("make, expected", [pytest.param(m, e, id=i) for i, m, e in RUN_CASES])
def test_run_reports_one_line(tmp_path, write_scenario, capsys, make, expected):
    path = write_scenario(make(tmp_path))
    assert main(["validate", path]) == 0  # only running finds these
    capsys.readouterr()
    rc = main(["run", path, "--out", str(tmp_path / "x"), "--quiet"])
    assert_one_line_error(capsys, rc, *expected)
    assert not (tmp_path / "x" / "summary.json").exists()


# ------------------------------------------------------------------ --set


def test_set_reaches_the_scenario(write_scenario):
    path = write_scenario(BASE)
    scenario = load_scenario(path, ["links.snr_db=5", "method.exchange.rounds=3", "topology.kind=complete"])
    assert scenario.links.snr_db == 5.0
    assert scenario.method.exchange.rounds == 3
    assert scenario.topology.kind == "complete"
    assert load_scenario(path, ["links.snr_db=5", "links.snr_db=7"]).links.snr_db == 7.0  # last one wins


def test_set_creates_sections_and_indexes_lists(write_scenario):
    raw = _set(("links.overrides", [{"src": 0, "dst": 1, "snr_db": 1.0}]))
    del raw["simulation"]
    scenario = load_scenario(
        write_scenario(raw),
        ["links.overrides.0.snr_db=-3", "simulation.compute.samples_per_s=50", "method.name=finefed",
         "method.controls=[bytes_matched]"],
    )
    assert scenario.links.overrides[0].snr_db == -3.0
    assert scenario.simulation.compute.samples_per_s == 50.0
    assert scenario.method.controls == ("bytes_matched",)


def test_set_reaches_the_run_directory(tmp_path, write_scenario, capsys):
    path = write_scenario(BASE)
    rc = main(["run", path, "--set", "links.snr_db=5", "--out", str(tmp_path / "run"), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    resolved = yaml.safe_load((tmp_path / "run" / "scenario.yaml").read_text())
    assert resolved["links"]["snr_db"] == 5.0


SET_CASES = [
    (
        "unknown_key",
        ["topology.nodes=3"],
        ["unknown key 'topology.nodes'", "allowed:", "num_users", "--set topology.nodes=3"],
    ),
    (
        "out_of_range",
        ["links.bandwidth_hz=-5"],
        ["links.bandwidth_hz", "-5", "greater than 0", "--set links.bandwidth_hz=-5"],
    ),
    ("wrong_type", ["topology.num_users=many"], ["topology.num_users", "'many'", "integer", "--set"]),
    ("unknown_name", ["model.name=vit"], ["model.name", "'vit'", "allowed:", "deep_jscc", "--set model.name=vit"]),
    ("no_equals", ["links.snr_db"], ["--set 'links.snr_db'", "KEY.PATH=VALUE"]),
    ("empty_key", ["=5"], ["--set '=5'", "empty key path"]),
    ("empty_part", ["links..snr_db=5"], ["--set 'links..snr_db=5'", "empty key path"]),
    ("into_a_value", ["seed.x=1"], ["--set 'seed.x=1'", "'seed' is a value, not a section"]),
    ("list_index_out_of_range", ["method.controls.3=bytes_matched"], ["'method.controls'", "0..0"]),
]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("overrides, expected", [pytest.param(o, e, id=i) for i, o, e in SET_CASES])
def test_bad_set_reports_one_line(tmp_path, write_scenario, capsys, command, overrides, expected):
    path = write_scenario(_set(("method.controls", ["compute_matched"])))
    argv = [command, path]
    for text in overrides:
        argv += ["--set", text]
    if command == "run":
        argv += ["--out", str(tmp_path / "x")]
    rc = main(argv)
    assert_one_line_error(capsys, rc, *expected)
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------ end to end


_SCRIPT = Path(sys.executable).with_name("semnet")  # installed by pyproject's [project.scripts]


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([str(_SCRIPT)], id="console_script", marks=pytest.mark.skipif(
            not _SCRIPT.is_file(), reason="semnet console script not installed next to the interpreter")),
        pytest.param([sys.executable, "-m", "semnet.cli.main"], id="python_-m"),
    ],
)
def test_command_line_exits_2(write_scenario, command):
    path = write_scenario(_set(("links.bandwidth_hz", -1e6)))
    result = subprocess.run(
        [*command, "validate", path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    expected = f"semnet: error: {path}: links.bandwidth_hz = -1000000.0: Input should be greater than 0"
    assert result.stderr.splitlines() == [expected]
    assert result.stdout == ""
