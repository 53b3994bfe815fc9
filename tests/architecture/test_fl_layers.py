"""The learning code's layers stay in order: execution (trainers) < the loop and its
views < federated algorithms < methods; and the execution layer that runs and sweeps
share (``semnet.workers``) depends on nothing but the error hierarchy."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "semnet"
FL_ORDER = ("execution", "loop", "algorithms", "methods")  # each may import only those before it


def imported(path: Path) -> set[str]:
    """Every absolute semnet module ``path`` imports, at any depth (function-level too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("semnet"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("semnet"):
            found.add(node.module)
    return found


def fl_layer_violations(path: Path, layer: str) -> list[str]:
    allowed = FL_ORDER[: FL_ORDER.index(layer) + 1]
    bad = []
    for module in imported(path):
        parts = module.split(".")
        if parts[:2] == ["semnet", "fl"] and len(parts) > 2 and parts[2] in FL_ORDER and parts[2] not in allowed:
            bad.append(module)
    return sorted(bad)


FL_MODULES = [(layer, p) for layer in FL_ORDER for p in sorted((PACKAGE / "fl" / layer).rglob("*.py"))]


@pytest.mark.parametrize("layer,path", FL_MODULES, ids=lambda v: v if isinstance(v, str) else v.name)
def test_fl_layers_import_only_downwards(layer, path):
    assert fl_layer_violations(path, layer) == [], f"{path.relative_to(PACKAGE)} reaches up"


def test_fl_holds_only_its_role_packages():
    loose = sorted(p.name for p in (PACKAGE / "fl").glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"modules outside fl's role packages: {loose}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "workers").glob("*.py")), ids=lambda p: p.name)
def test_workers_depend_on_nothing_above_them(path):
    bad = sorted(m for m in imported(path) if not m.startswith(("semnet.workers", "semnet.errors")))
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("layer,source,flagged", [
    ("execution", "from semnet.fl.loop.strategy import run_rounds\n", True),
    ("loop", "def f():\n    import semnet.fl.methods.registered\n", True),
    ("algorithms", "from semnet.fl.methods.controls import Control\n", True),
    ("methods", "from semnet.fl.algorithms.federated import FederatedStrategy\n", False),
])
def test_the_check_sees_a_forbidden_import(tmp_path, layer, source, flagged):
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    assert bool(fl_layer_violations(probe, layer)) is flagged
