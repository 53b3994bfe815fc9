"""The `federated` method: the global model of whichever algorithm the scenario names, so
that server optimisers (FedAvgM, FedAdam, ...) can make a start of their own."""

import pytest
import torch
from tests.fl.conftest import tiny_scenario_dict

from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.errors import ScenarioError


def _run(tmp_path, name, **federated):
    raw = tiny_scenario_dict(name=name)
    raw["method"]["federated"].update(federated)
    result = run_scenario(validate(raw), out_dir=tmp_path / f"{name}-{federated.get('algorithm', 'default')}")
    return result.summary, torch.load(result.path / "checkpoints" / "global.pt", weights_only=True)


def test_default_algorithm_is_fedavg_bit_for_bit(tmp_path):
    fedavg, fedavg_weights = _run(tmp_path, "fedavg")
    default, default_weights = _run(tmp_path, "federated")
    assert default["psnr_db"] == fedavg["psnr_db"] and default["bytes_total"] == fedavg["bytes_total"]
    assert all(torch.equal(fedavg_weights[k], default_weights[k]) for k in fedavg_weights)


def test_a_server_optimiser_moves_the_global_model_differently(tmp_path):
    _, fedavg_weights = _run(tmp_path, "federated", algorithm="fedavg")
    summary, adam_weights = _run(tmp_path, "federated", algorithm="fedadam", options={"server_lr": 0.01})
    assert summary["method"] == "federated"
    assert any(not torch.equal(fedavg_weights[k], adam_weights[k]) for k in fedavg_weights
               if fedavg_weights[k].is_floating_point())


def test_fedavg_still_refuses_another_algorithm():
    raw = tiny_scenario_dict(name="fedavg")
    raw["method"]["federated"]["algorithm"] = "fedadam"
    with pytest.raises(ScenarioError, match="contradicts method name 'fedavg'"):
        validate(raw)
