"""Dependencies point one way (DESIGN.md): problems and solvers never import nn, optim or train;
deploy never imports experiments or the cli;
optim/ and train/ take sampler instances and never import a concrete solver module (a sampler
advertises its fast path through ``properties``; one helper, :mod:`hybridqnn.solvers.sampling`,
chooses it); and no module imports itself back through another."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["hybridqnn.problems", "hybridqnn.solvers"])
def test_builders_and_solvers_do_not_import_the_methods(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.iter_modules(pkg.__path__):\n"
        "    importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[:2] in (['hybridqnn', 'nn'], ['hybridqnn', 'optim'], ['hybridqnn', 'train']))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{package} imports {out}"


def _import_graph() -> dict[str, set[str]]:
    """Module -> the hybridqnn modules it imports (at any depth of the file, as a circle hidden
    in a function is still a circle), from the source; ``if TYPE_CHECKING:`` blocks excluded."""
    import ast
    from pathlib import Path

    import hybridqnn

    root = Path(hybridqnn.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        edges = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                           else node.module for a in node.names]
            else:
                continue
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def test_no_import_circle() -> None:
    graph = _import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import circles: {cycles}"


# optim/ and train/ take sampler instances; they may import only the solver modules that call
# any sampler the same way (sampling: the one place that chooses a fast path), resolve names
# (registry), compute classical references or hardware limits, or define the info convention.
SOLVER_HELPERS = {
    "hybridqnn.solvers.sampling",
    "hybridqnn.solvers.registry",
    "hybridqnn.solvers.reference",
    "hybridqnn.solvers.hardware",
    "hybridqnn.solvers.info",
}


def concrete_solver_imports(source: str) -> list[str]:
    """The concrete solver modules (or package names defined in one) that ``source`` imports."""
    import ast
    import importlib

    package = importlib.import_module("hybridqnn.solvers")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "hybridqnn.solvers":
            modules = [getattr(getattr(package, alias.name), "__module__", "?") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        else:
            continue
        found += [m for m in modules if m.startswith("hybridqnn.solvers") and m not in SOLVER_HELPERS]
    return found


def test_optim_and_train_import_no_concrete_solver_module() -> None:
    from pathlib import Path

    import hybridqnn

    root = Path(hybridqnn.__file__).parent
    bad = {}
    for path in sorted([*root.glob("optim/**/*.py"), *root.glob("train/**/*.py")]):
        rel = path.relative_to(root).as_posix()
        if found := concrete_solver_imports(path.read_text()):
            bad[rel] = found
    assert not bad, f"optim/train import concrete solver modules: {bad}"


def test_the_solver_import_rule_catches_each_form() -> None:
    assert concrete_solver_imports("from hybridqnn.solvers.annealing import DenseSimulatedAnnealingSampler") == [
        "hybridqnn.solvers.annealing"
    ]
    assert concrete_solver_imports("def f():\n    from hybridqnn.solvers import DenseSampler\n") == ["hybridqnn.solvers.dense"]
    assert concrete_solver_imports("import hybridqnn.solvers.batched") == ["hybridqnn.solvers.batched"]
    assert concrete_solver_imports("from hybridqnn.solvers import get_sampler, sample_bqm\nfrom hybridqnn.solvers.sampling import solve_dense") == []


def test_deploy_imports_neither_experiments_nor_the_cli() -> None:
    """Saved models and their export serve experiments and the CLI, never the other way round."""
    graph = _import_graph()
    bad = {m: sorted(t for t in targets if t.startswith(("hybridqnn.experiments", "hybridqnn.cli")))
           for m, targets in graph.items() if m.startswith("hybridqnn.deploy")}
    assert not {m: t for m, t in bad.items() if t}, f"deploy imports experiments/cli: {bad}"
