import pytest

from semnet.scenario import validate


def tiny_scenario_dict(**method) -> dict:
    """3 users on a complete graph, a narrow model, a few steps: seconds on a CPU."""
    base_method = {
        "name": "finefed",
        "federated": {"rounds": 2, "local": {"steps": 2, "batch_size": 8}},
        "finetune": {
            "iterations": 1,
            "encoder": {"steps": 2, "batch_size": 8},
            "decoder_rounds": 1,
            "decoder": {"steps": 2, "batch_size": 8},
        },
    }
    base_method.update(method)
    return {
        "name": "tiny",
        "seed": 3,
        "topology": {"kind": "complete", "num_users": 3},
        "links": {"snr_db": 10.0, "overrides": [{"src": 0, "dst": 1, "snr_db": 0.0}]},
        "data": {"source": "embedded", "partition": {"kind": "iid"}, "train_per_user": 64, "test_per_user": 8},
        "model": {"name": "deep_jscc", "latent_channels": 4, "width": 0.25},
        "method": base_method,
        "simulation": {"device": "cpu", "compute": {"samples_per_s": 100.0}},
        "output": {"progress": False},
    }


@pytest.fixture
def tiny():
    def make(**method):
        return validate(tiny_scenario_dict(**method))

    return make
