"""optim/ and train/ take sampler instances and never import a concrete solver module
(DESIGN.md: a sampler advertises its fast path through ``properties``; one helper,
:mod:`hybridqnn.solvers.sampling`, chooses it)."""

from __future__ import annotations

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
# train/qcbo.py imports solvers.qcgd and solvers.penalty: the QCBO rework (issue 20 leaves it to
# the QCBO issue) moves them; every other module of optim/ and train/ is held to the rule.
EXEMPT = {"train/qcbo.py"}


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
        if rel not in EXEMPT and (found := concrete_solver_imports(path.read_text())):
            bad[rel] = found
    assert not bad, f"optim/train import concrete solver modules: {bad}"


def test_the_solver_import_rule_catches_each_form() -> None:
    assert concrete_solver_imports("from hybridqnn.solvers.annealing import DenseSimulatedAnnealingSampler") == [
        "hybridqnn.solvers.annealing"
    ]
    assert concrete_solver_imports("def f():\n    from hybridqnn.solvers import DenseSampler\n") == ["hybridqnn.solvers.dense"]
    assert concrete_solver_imports("import hybridqnn.solvers.batched") == ["hybridqnn.solvers.batched"]
    assert concrete_solver_imports("from hybridqnn.solvers import get_sampler, sample_bqm\nfrom hybridqnn.solvers.sampling import solve_dense") == []
