import copy

import pytest
import yaml

from tests.fl.conftest import tiny_scenario_dict


def exchange_dict() -> dict:
    """The tiny 3-user scenario with the exchange method: no learning, a run takes milliseconds."""
    raw = tiny_scenario_dict(name="exchange")
    raw["method"]["exchange"] = {"rounds": 2, "message_bytes": 1000}
    return raw


def finefed_dict() -> dict:
    """The tiny 3-user FineFed with one federated round: real PSNR numbers in a few seconds."""
    raw = tiny_scenario_dict()
    raw["method"]["federated"]["rounds"] = 1
    raw["output"]["checkpoints"] = False
    return raw


@pytest.fixture
def sweep_file(tmp_path):
    """Write a base scenario and a sweep file next to it; return the sweep file's path.

    ``sweep_file(sweep, base=exchange_dict())``: ``sweep`` is the sweep mapping without
    ``base`` and ``out`` (base.yaml and tmp_path/out are filled in unless given).
    """

    def write(sweep: dict, base: dict | None = None, name: str = "sweep") -> str:
        (tmp_path / "base.yaml").write_text(yaml.safe_dump(base or exchange_dict(), sort_keys=False))
        content = {"base": "base.yaml", "out": str(tmp_path / "out"), **copy.deepcopy(sweep)}
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(content, sort_keys=False))
        return str(path)

    return write
