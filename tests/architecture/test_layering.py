"""The package's layers stay apart, and no two modules import each other.

Every rule is read off the source (``ast``), lazy imports inside functions included:
an import made to dodge a cycle at load time is still an arrow. The checkers take a
package root, so the mutation tests below run them on a copy of ``semnet`` with one
forbidden import added and see each rule fail.

The layers, from the bottom: ``errors``, ``registry`` (names only: it imports its
entries by name, on first lookup) -> ``channels`` (``laws`` <- ``processes``, ``laws``
<- ``layer``) -> ``net`` -> ``sim``; ``models`` sits on ``channels``; ``scenario``
validates names against the registries and builds nothing of ``fl`` or ``models``.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "semnet"

# (importer, what it must never import, why)
RULES: list[tuple[str, tuple[str, ...], str]] = [
    ("semnet.scenario", ("semnet.fl", "semnet.models", "semnet.sim", "semnet.runner", "semnet.assembly", "semnet.summarise", "semnet.workload",
                         "semnet.metrics"),
     "the scenario layer validates names against the registries; it builds nothing"),
    ("semnet.net", ("semnet.scenario", "semnet.sim", "semnet.fl", "semnet.models", "semnet.runner",
                    "semnet.workload", "semnet.metrics", "semnet.cli"),
     "net takes plain parameters (or its own small types), never the scenario's spec classes; sim sits on net"),
    ("semnet.sim", ("semnet.scenario", "semnet.fl", "semnet.models", "semnet.runner", "semnet.assembly", "semnet.summarise", "semnet.workload",
                    "semnet.metrics", "semnet.cli"),
     "the simulator knows the network, not the scenario or the learning"),
    ("semnet.channels", ("semnet.net", "semnet.sim", "semnet.scenario", "semnet.fl", "semnet.models",
                         "semnet.runner", "semnet.assembly", "semnet.summarise", "semnet.workload", "semnet.metrics", "semnet.data", "semnet.codecs",
                         "semnet.cli"),
     "the channel is below the network and the models that use it"),
    ("semnet.channels.laws", ("semnet.channels.processes", "semnet.channels.layer"),
     "a fading law serves both layers and knows neither time nor torch modules"),
    ("semnet.channels.processes", ("semnet.channels.layer",),
     "processes over time are numpy, for the network; the torch layer is the JSCC's"),
    ("semnet.models", ("semnet.fl", "semnet.sim", "semnet.net", "semnet.scenario", "semnet.runner", "semnet.assembly"),
     "a model knows its channel layer, nothing of the network or the learning"),
    ("semnet.registry", ("semnet.channels", "semnet.net", "semnet.sim", "semnet.fl", "semnet.models",
                         "semnet.scenario", "semnet.data", "semnet.codecs"),
     "the registry imports its built-ins by name, on first lookup, so it stays light and below them"),
]

NO_TORCH_AT_IMPORT = ("semnet.registry", "semnet.channels.laws", "semnet.channels.processes", "semnet.net",
                      "semnet.sim", "semnet.scenario")
"""Modules that must not import torch when they are imported (a function may, on use)."""

PACKAGE_CYCLES_ALLOWED: set[frozenset[str]] = set()
"""Sub-packages known to import each other: none (``semnet sweep``'s command line lives in
``cli/sweep.py``, so the sweep package no longer reaches up into ``cli``)."""


# --------------------------------------------------------------------------- the checkers


def _modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, modules: dict) -> str:
    """``name`` if it is a module, else the package that holds it (``a.b.Name`` -> ``a.b``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere in its code (relative
    imports resolved; ``from pkg import mod`` counts as importing ``pkg.mod``)."""
    modules = _modules(root)
    top = root.name
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(_resolve(a.name, modules) for a in node.names if a.name.split(".")[0] == top)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                if base.split(".")[0] != top:
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    edges.add(full if full in modules else _resolve(base, modules))
        edges.discard(name)
        edges.discard("")
        graph[name] = edges
    return graph


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def forbidden_imports(graph: dict[str, set[str]], rules=RULES) -> list[str]:
    """One line per import that a rule forbids."""
    found = []
    for importer, banned, why in rules:
        for module, targets in sorted(graph.items()):
            if not _within(module, importer):
                continue
            for target in sorted(targets):
                if any(_within(target, b) for b in banned) and not _within(target, importer):
                    found.append(f"{module} imports {target}: {why}")
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def module_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Modules that import each other, directly or round a loop."""
    return _cycles(graph)


def package_cycles(graph: dict[str, set[str]], allowed=PACKAGE_CYCLES_ALLOWED) -> list[list[str]]:
    """Sub-packages (``semnet.net``, ``semnet.sim``...) that import each other, beyond ``allowed``."""

    def sub(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        packages.setdefault(sub(module), set()).update(sub(t) for t in targets if sub(t) != sub(module))
    return [c for c in _cycles(packages) if frozenset(c) not in allowed]


def torch_at_import(root: Path = PACKAGE, prefixes=NO_TORCH_AT_IMPORT) -> list[str]:
    """Modules under ``prefixes`` whose import runs ``import torch`` (functions and
    ``if TYPE_CHECKING:`` blocks are not run at import)."""
    found = []
    top = root.name
    for name, path in _modules(root).items():
        if not any(_within(name, p.replace("semnet", top, 1)) for p in prefixes):
            continue
        pending = list(ast.parse(path.read_text(encoding="utf-8")).body)
        while pending:
            node = pending.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                pending.extend(node.orelse)
                continue
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "torch" for a in node.names):
                found.append(name)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch":
                found.append(name)
            pending.extend(ast.iter_child_nodes(node))
    return sorted(set(found))


# --------------------------------------------------------------------------- the rules hold

GRAPH = import_graph()


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r[0])
def test_a_layer_never_imports_what_is_above_it(rule):
    assert forbidden_imports(GRAPH, [rule]) == []


def test_no_module_imports_itself_round_a_loop():
    # the simulator's media used to import each other (medium <-> cell, radio)
    assert module_cycles(GRAPH) == []


def test_sub_packages_import_each_other_only_where_known():
    # scenario -> net, never back (net.topology used to import the scenario's spec classes)
    assert package_cycles(GRAPH) == []


def test_the_light_layers_do_not_load_torch_on_import():
    assert torch_at_import() == []


def test_the_graph_sees_what_the_package_is_made_of():
    # the checkers would pass vacuously on an empty or unresolved graph
    assert "semnet.channels.laws.base" in GRAPH["semnet.channels.laws.rician"]
    assert "semnet.net.largescale" in GRAPH["semnet.net.network"]
    assert "semnet.sim.medium" in GRAPH["semnet.sim.cell"]
    assert "semnet.net.topology" in GRAPH["semnet.scenario.components"]  # a lazy import counts


def test_importing_semnet_loads_no_torch():
    import subprocess
    import sys

    code = "import sys, semnet; semnet.registry; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- mutations: the rules can fail


@pytest.fixture(scope="module")
def copy_of_semnet(tmp_path_factory):
    """A fresh copy of the package to add forbidden imports to."""

    def make(name: str) -> Path:
        root = tmp_path_factory.mktemp(name) / "semnet"
        shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
        return root

    return make


def _add(root: Path, module: str, line: str, *, in_function: bool = False) -> None:
    path = root.parent / (module.replace(".", "/") + ".py")
    code = f"\n\ndef _mutation():\n    {line}\n" if in_function else f"\n{line}\n"
    path.write_text(path.read_text(encoding="utf-8") + code, encoding="utf-8")


@pytest.mark.parametrize("module, line, expected", [
    ("semnet.scenario.links", "from semnet.fl.methods import FineFed", "semnet.scenario.links imports semnet.fl.methods"),
    ("semnet.net.topology", "from semnet.scenario.topology import CustomTopologySpec",
     "semnet.net.topology imports semnet.scenario.topology"),
    ("semnet.sim.engine", "import semnet.runner", "semnet.sim.engine imports semnet.runner"),
    ("semnet.channels.processes.timevarying", "from semnet.net.largescale import LargeScale",
     "semnet.channels.processes.timevarying imports semnet.net.largescale"),
    ("semnet.channels.laws.base", "from semnet.channels.layer.channel import Channel",
     "semnet.channels.laws.base imports semnet.channels.layer.channel"),
    ("semnet.channels.processes.jakes", "from semnet.channels.layer import link_channels",
     "semnet.channels.processes.jakes imports semnet.channels.layer.link_channels"),
    ("semnet.models.base", "from semnet.fl.execution.trainer import Trainer",
     "semnet.models.base imports semnet.fl.execution.trainer"),
    ("semnet.registry", "from semnet.channels import FadingModel", "semnet.registry imports semnet.channels"),
])
def test_a_forbidden_import_breaks_its_rule(copy_of_semnet, module, line, expected):
    root = copy_of_semnet("rule")
    assert forbidden_imports(import_graph(root)) == []  # the copy is clean
    _add(root, module, line, in_function=True)  # even a lazy import
    broken = forbidden_imports(import_graph(root))
    assert len(broken) == 1 and broken[0].startswith(expected)


def test_an_import_back_is_a_cycle(copy_of_semnet):
    root = copy_of_semnet("cycle")
    _add(root, "semnet.sim.medium", "from semnet.sim.cell import CellMedium", in_function=True)
    # cell -> radio -> medium -> cell: the loop the media had before the registry built them
    assert module_cycles(import_graph(root)) == [["semnet.sim.cell", "semnet.sim.medium", "semnet.sim.radio"]]


def test_a_back_arrow_between_sub_packages_is_a_cycle(copy_of_semnet):
    root = copy_of_semnet("packages")
    _add(root, "semnet.net.rate", "from semnet.scenario.links import RateSpec", in_function=True)
    assert package_cycles(import_graph(root)) == [["semnet.net", "semnet.scenario"]]
    assert module_cycles(import_graph(root)) == []  # no module loop: only the layer check sees it


def test_torch_at_import_is_seen(copy_of_semnet):
    root = copy_of_semnet("torch")
    _add(root, "semnet.channels.laws.rayleigh", "import torch")
    _add(root, "semnet.net.rate", "import torch", in_function=True)  # on use: allowed
    assert torch_at_import(root) == ["semnet.channels.laws.rayleigh"]
