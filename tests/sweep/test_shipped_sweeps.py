"""Every sweep file shipped under scenarios/ expands into valid scenarios."""

from pathlib import Path

import pytest

from semnet.scenario import read_yaml
from semnet.sweep import expand, load_sweep

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SWEEPS = sorted(p for p in SCENARIOS.rglob("*.yaml") if "base" in read_yaml(p))


def test_the_shipped_sweep_files_are_found():
    names = {p.name for p in SWEEPS}
    assert {"smoke.yaml", "snr_aware.yaml", "finetune_lr.yaml"} <= names


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_sweep_points_validate(path):
    points = expand(load_sweep(path))
    assert points
    assert len({p.name for p in points}) == len(points)  # one run directory per point
    for point in points:
        assert point.scenario.name  # a validated Scenario
