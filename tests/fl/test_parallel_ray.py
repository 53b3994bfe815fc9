"""simulation.backend: ray gives the numbers of one process. Skipped without Ray."""

import json

import pytest

from tests.fl.conftest import tiny_scenario_dict
from tests.fl.test_parallel import _run, _same_weights

ray = pytest.importorskip("ray")


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    from semnet.fl.execution.parallel import shutdown_pools

    shutdown_pools()
    ray.shutdown()


def test_ray_actors_give_the_numbers_of_one_process(local_ray, tmp_path):
    raw = tiny_scenario_dict(name="finefed", controls=["local_finetune"])
    one = _run(raw, 1, tmp_path / "local")
    raw_ray = json.loads(json.dumps(raw))
    raw_ray["simulation"]["backend"] = "ray"
    two = _run(raw_ray, 2, tmp_path / "ray")
    assert one[0] == two[0]
    assert one[1] == two[1]
    assert _same_weights(one[2], two[2])
