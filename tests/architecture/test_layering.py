"""The package's layers stay apart: the scenario layer validates names against the
registries and never imports the learning (``fl``) or model code it describes."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "semnet"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "scenario").glob("*.py")), ids=lambda p: p.name)
def test_scenario_layer_imports_neither_fl_nor_models(path):
    bad = sorted(m for m in _imported_modules(path)
                 if m.startswith(("semnet.fl", "semnet.models")) or m in ("semnet.fl", "semnet.models"))
    assert bad == [], f"{path.name} imports {bad}"


def test_the_check_sees_a_forbidden_import(tmp_path):
    # the checker itself must be able to fail
    probe = tmp_path / "probe.py"
    probe.write_text("from semnet.fl.methods import FineFed\nimport semnet.models.build\n")
    assert {"semnet.fl.methods", "semnet.models.build"} <= _imported_modules(probe)


def test_importing_semnet_loads_no_torch():
    import subprocess
    import sys

    code = "import sys, semnet; semnet.registry; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
