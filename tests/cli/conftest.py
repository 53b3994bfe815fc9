import copy

import pytest
import yaml


def exchange_scenario() -> dict:
    """A valid scenario that trains nothing: 4 users on a ring swapping 1 kB messages."""
    return {
        "name": "exchange-test",
        "seed": 0,
        "topology": {"kind": "ring", "num_users": 4},
        "links": {"snr_db": 10.0},
        "method": {"name": "exchange", "exchange": {"rounds": 2, "message_bytes": 1000}},
        "simulation": {"device": "cpu"},
        "output": {"progress": False},
    }


def with_key(raw: dict, dotted: str, value) -> dict:
    """A copy of ``raw`` with ``dotted`` (e.g. ``"links.snr_db"``) set, sections created."""
    out = copy.deepcopy(raw)
    *sections, last = dotted.split(".")
    node = out
    for part in sections:
        node = node.setdefault(part, {})
    node[last] = value
    return out


@pytest.fixture
def write_scenario(tmp_path):
    """Write a dict (as YAML) or a string (verbatim) to ``tmp_path/<name>.yaml``."""

    def write(content, name: str = "scenario") -> str:
        path = tmp_path / f"{name}.yaml"
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
        return str(path)

    return write
