"""Everything that can be checked without data is checked by ``validate``: bounds on
counts, bandwidth ratios a model cannot realise, keys the chosen data source would
ignore; and the SNR offset applies to overrides, as the reference page says."""

from pathlib import Path

import pytest

from semnet.cli.main import EXIT_USER_ERROR, main
from semnet.errors import ScenarioError
from semnet.models import latent_channels_for_ratio
from semnet.errors import ModelError
from semnet.scenario import validate
from tests.cli.conftest import exchange_scenario, with_key

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenario-reference.md"


@pytest.mark.parametrize("key, value, expected", [
    ("method.federated.rounds", 1e12, "less than or equal to 100000"),
    ("method.federated.local.steps", 10**9, "less than or equal to 1000000"),
    ("method.federated.local.batch_size", 10**7, "less than or equal to 65536"),
    ("method.exchange.rounds", 10**6, "less than or equal to 100000"),
    ("method.finetune.iterations", 5000, "less than or equal to 1000"),
    ("method.centralized.epochs", 1e9, "less than or equal to 100000"),
    ("method.personal.rounds", 10**6, "less than or equal to 100000"),
    ("links.rate.max_retries", 10**6, "less than or equal to 1000"),
    ("output.eval_realisations", 10**6, "less than or equal to 10000"),
    ("simulation.threads", 10**5, "allowed: auto, null or an integer 1 ... 1024"),
    ("simulation.workers", 10**5, "allowed: auto, null or an integer 1 ... 4096"),
    ("seed", 2**64, "less than or equal to"),
])
def test_counts_have_upper_bounds(key, value, expected):
    with pytest.raises(ScenarioError) as info:
        validate(with_key(exchange_scenario(), key, value))
    assert f"{key} = " in str(info.value) and expected in str(info.value)


def test_the_bound_leaves_real_experiments_alone():
    assert validate(with_key(exchange_scenario(), "method.federated.rounds", 2000)).method.federated.rounds == 2000


def test_rounds_1e12_is_one_line_from_validate(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("method:\n  federated:\n    rounds: 1e12\n")
    assert main(["validate", str(path)]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.splitlines() == [f"semnet: error: {path}: method.federated.rounds = 1000000000000.0: "
                                "Input should be less than or equal to 100000"]


@pytest.mark.parametrize("ratio", ["1/7", "1/5", 0.1, "1/200"])
def test_a_ratio_no_whole_channel_count_gives_fails_validate(ratio):
    with pytest.raises(ScenarioError, match=r"model\.bandwidth_ratio = .*whole multiple of 1/96"):
        validate({"model": {"bandwidth_ratio": ratio}})


@pytest.mark.parametrize("ratio", ["1/6", "1/12", "1/16", "1/96", "1/3", 0.25, "5/96"])
def test_validate_agrees_with_the_models_on_ratios(ratio):
    """What validate accepts, the model code can build at 32x32 and 64x64."""
    value = validate({"model": {"bandwidth_ratio": ratio}}).model.bandwidth_ratio
    for side in (32, 64):
        assert latent_channels_for_ratio(value, image_hw=(side, side)) >= 1


def test_validate_rejects_what_the_models_cannot_build():
    for numerator in range(1, 40):
        ratio = f"{numerator}/97"
        try:
            latent_channels_for_ratio(numerator / 97)
            buildable = True
        except ModelError:
            buildable = False
        try:
            validate({"model": {"bandwidth_ratio": ratio}})
            valid = True
        except ScenarioError:
            valid = False
        assert valid == buildable, ratio


def test_bandwidth_ratio_1_7_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("name: t\n")
    assert main(["validate", str(path), "--set", "model.bandwidth_ratio=1/7"]) == EXIT_USER_ERROR
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"semnet: error: {path}: model.bandwidth_ratio = '1/7': needs 13.71 latent channels")
    assert line.endswith("(from --set model.bandwidth_ratio=1/7)")


@pytest.mark.parametrize("key, value, expected", [
    ("data.image_size", 96, "at most 88 pixels"),
    ("data.image_size", 30, "multiple of 4"),
    ("data.path", "photos", "not used by data source 'embedded'"),
    ("data.max_per_class", 10, "not used by data source 'embedded'"),
    ("data.cache_dir", "cache", "not used by data source 'embedded'"),
])
def test_embedded_data_keys_are_honoured_or_rejected(key, value, expected):
    with pytest.raises(ScenarioError) as info:
        validate(with_key(exchange_scenario(), key, value))
    assert key in str(info.value) and expected in str(info.value)


def test_embedded_image_size_cuts_the_photos_at_that_size():
    from semnet.workload import load_user_data

    spec = validate({"data": {"image_size": 64, "train_per_user": 4, "test_per_user": 2}}).data
    data = load_user_data(spec, [0, 1, 2], seed=0)
    assert data.image_hw == (64, 64)
    assert all(x.shape[1:] == (3, 64, 64) for x in data.train.values())


def test_snr_offset_applies_to_overrides_as_documented():
    from semnet.net.network import build_network

    raw = with_key(exchange_scenario(), "links.overrides", [{"src": 0, "dst": 1, "snr_db": 2.0}])
    raw = with_key(raw, "links.snr_offset_db", -3.0)
    scenario = validate(raw)
    network = build_network(scenario.topology, scenario.links, scenario.seed)
    assert network.link(0, 1).snr_db == pytest.approx(-1.0)  # the override plus the offset
    assert network.link(1, 2).snr_db == pytest.approx(7.0)  # links.snr_db plus the offset
    row = next(line for line in DOC.read_text().splitlines() if line.startswith("| `snr_offset_db` |"))
    assert "`overrides` included" in row and "except" not in row
